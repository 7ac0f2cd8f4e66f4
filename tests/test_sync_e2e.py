"""The whole pipeline against a real slapd: source file → sync → directory contents."""

import datetime as dt
import gc

import ldap3
import pytest
import uonet

from provisioner.adapters.directory import Directory
from provisioner.app.sync import apply, prepare
from provisioner.demo import data
from provisioner.demo.run import settings_for

BASE = "dc=example,dc=org"
PEOPLE = f"ou=people,{BASE}"


@pytest.fixture
def env(slapd, tmp_path):
    """Runs syncs of a mutable small source against the test slapd."""

    class Env:
        dataset = uonet.small()
        settings = settings_for(slapd, tmp_path, uonet.save(uonet.small(), tmp_path / "uonet.sqlite"))

        def sync(self, now=None):
            uonet.save(self.dataset, tmp_path / "uonet.sqlite")
            with Directory(self.settings) as d:
                outcome = apply(prepare(self.settings, d, now), d)
            assert not outcome.failures, outcome.failures
            return outcome

        def plan(self):
            with Directory(self.settings) as d:
                return prepare(self.settings, d).plan

    return Env()


def search(slapd, flt, attrs=("*",), base=BASE):
    conn = ldap3.Connection(ldap3.Server(slapd.host, slapd.port), slapd.root_dn, slapd.root_pw,
                            auto_bind=True)
    conn.search(base, flt, attributes=list(attrs))
    out = {e.entry_dn: {k: sorted(map(str, v)) for k, v in e.entry_attributes_as_dict.items() if v}
           for e in conn.entries}
    conn.unbind()
    return out


def members(slapd, cn):
    found = search(slapd, f"(cn={cn})", ["member"], f"ou=groups,{BASE}")
    return {m.split(",")[0][4:] for e in found.values() for m in e["member"]}


def test_first_sync_creates_exactly_the_expected_entries_and_groups(env, slapd):
    env.sync()
    people = search(slapd, "(objectClass=provisionerAccount)", ["uid", "employeeType", "mail", "cn"])
    assert {e["uid"][0]: e["employeeType"] for e in people.values()} == {
        "jan.nowak": ["pupil"], "ola.nowak": ["pupil"], "lukasz.zolc": ["pupil"],
        "ewa.nowak": ["guardian"]}
    lukasz = people[f"uid=lukasz.zolc,{PEOPLE}"]
    assert lukasz["cn"] == ["Łukasz Żółć"] and lukasz["mail"] == ["lukasz@example.pl"]
    assert "mail" not in people[f"uid=ola.nowak,{PEOPLE}"]
    groups = search(slapd, "(objectClass=groupOfNames)", ["cn"], f"ou=groups,{BASE}")
    assert sorted(g["cn"][0] for g in groups.values()) == [
        "1234567-1a-guardians", "1234567-1a-pupils", "1234567-2b-guardians", "1234567-2b-pupils",
        "7654321-3ti-pupils", "guardians", "pupils"]
    assert members(slapd, "1234567-2b-guardians") == {"ewa.nowak"}
    assert members(slapd, "pupils") == {"jan.nowak", "ola.nowak", "lukasz.zolc"}
    ewa = search(slapd, "(uid=ewa.nowak)", ["memberOf"])
    assert len(next(iter(ewa.values()))["memberOf"]) == 3  # the memberof overlay is live


def test_second_sync_plans_nothing_and_writes_nothing(env, slapd):
    env.sync()
    before = slapd.dump()
    assert env.plan().changes == []
    outcome = env.sync()
    assert sum(outcome.applied.values()) == 0
    assert slapd.dump() == before  # entryCSN and modifyTimestamp included


def test_name_change_updates_names_but_not_the_login(env, slapd):
    env.sync()
    env.dataset.pupils[1]["last_name"] = "Kowalska"
    env.sync()
    ola = search(slapd, "(uid=ola.nowak)", ["cn", "sn", "displayName"])
    assert ola[f"uid=ola.nowak,{PEOPLE}"] == {"cn": ["Ola Kowalska"], "sn": ["Kowalska"],
                                            "displayName": ["Ola Kowalska"]}
    assert env.plan().changes == []


def test_class_change_moves_group_memberships(env, slapd):
    env.sync()
    env.dataset.pupils[0]["class_id"] = 2  # Jan moves to his sister's class
    env.sync()
    assert members(slapd, "1234567-2b-pupils") == {"jan.nowak", "ola.nowak"}
    assert "1234567-1a-pupils" not in str(search(slapd, "(cn=1234567-1a-pupils)", ["cn"]))
    jan = search(slapd, "(uid=jan.nowak)", ["memberOf"])[f"uid=jan.nowak,{PEOPLE}"]
    assert sorted(m.split(",")[0] for m in jan["memberOf"]) == ["cn=1234567-2b-pupils", "cn=pupils"]


def test_hand_made_entries_survive_and_keep_their_login(env, slapd):
    conn = ldap3.Connection(ldap3.Server(slapd.host, slapd.port), slapd.root_dn, slapd.root_pw,
                            auto_bind=True)
    conn.add(PEOPLE, ["organizationalUnit"], {"ou": "people"})
    conn.add(f"uid=jan.nowak,{PEOPLE}", ["inetOrgPerson"],
             {"cn": "Jan Nowak (nauczyciel)", "sn": "Nowak", "uid": "jan.nowak"})
    conn.add(f"ou=groups,{BASE}", ["organizationalUnit"], {"ou": "groups"})
    conn.add(f"cn=teachers,ou=groups,{BASE}", ["groupOfNames"], {"member": f"uid=jan.nowak,{PEOPLE}"})
    before = search(slapd, "(|(uid=jan.nowak)(cn=teachers))")
    env.sync()
    env.dataset.pupils = env.dataset.pupils[1:]  # the pupil Jan leaves
    env.dataset.pupil_guardians = env.dataset.pupil_guardians[1:]
    env.sync()
    assert search(slapd, "(|(uid=jan.nowak)(cn=teachers))") == before
    assert search(slapd, "(uid=jan.nowak2)", ["employeeType"])  # the pupil got a free login


def test_logins_taken_anywhere_under_the_base_are_not_given(env, slapd):
    # A teacher two levels down in another OU, and an entry straight under the base:
    # the snapshot reads these outside the people OU, child by child.
    conn = ldap3.Connection(ldap3.Server(slapd.host, slapd.port), slapd.root_dn, slapd.root_pw,
                            auto_bind=True)
    conn.add(f"ou=staff,{BASE}", ["organizationalUnit"], {"ou": "staff"})
    conn.add(f"ou=teachers,ou=staff,{BASE}", ["organizationalUnit"], {"ou": "teachers"})
    conn.add(f"uid=Ola.Nowak,ou=teachers,ou=staff,{BASE}", ["inetOrgPerson"],
             {"cn": "Ola Nowak", "sn": "Nowak", "uid": "Ola.Nowak"})
    conn.add(f"uid=lukasz.zolc,{BASE}", ["account"], {"uid": "lukasz.zolc"})
    env.sync()
    people = search(slapd, "(objectClass=provisionerAccount)", ["uid"], PEOPLE)
    uids = {e["uid"][0] for e in people.values()}
    assert {"ola.nowak2", "lukasz.zolc2", "jan.nowak"} <= uids
    assert not uids & {"ola.nowak", "lukasz.zolc"}


@pytest.mark.parametrize("last", ["O'Brien", "Nowak-Kowalska", 'Kowalski, Jr. (+) "<x>"; a=b*\\'])
def test_hostile_name_round_trips(env, slapd, last):
    env.dataset.pupils[2]["last_name"] = last
    env.sync()
    found = search(slapd, "(&(objectClass=provisionerAccount)(givenName=Łukasz))", ["sn", "cn"])
    (entry,) = found.values()
    assert entry["sn"] == [last] and entry["cn"] == [f"Łukasz {last}"]
    assert env.plan().changes == []


def test_a_run_leaves_the_garbage_collector_as_it_found_it(env):
    # prepare pauses the collector and freezes what it built; sync_once undoes both.
    from provisioner.app.run import sync_once

    assert gc.isenabled()
    with Directory(env.settings) as d:
        prepare(env.settings, d)
    assert gc.isenabled() and gc.get_freeze_count() > 0
    sync_once(env.settings)
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_no_pesel_in_plain_text_anywhere_in_the_directory(slapd, tmp_path):
    dataset = data.create_demo_database(tmp_path / "uonet.sqlite", pupils=80, seed=7)
    settings = settings_for(slapd, tmp_path, f"sqlite:///{tmp_path / 'uonet.sqlite'}")
    with Directory(settings) as d:
        outcome = apply(prepare(settings, d), d)
    assert outcome.applied["person.create"] > 100
    dump = slapd.dump()
    digits = {r["pesel"].strip() for r in dataset.pupils + dataset.guardians
              if r["pesel"] and len(r["pesel"].strip()) >= 6}
    leaked = [p for p in digits if p in dump]
    assert not leaked


def test_provisioned_account_password_binds(env, slapd):
    env.sync()
    dn = f"uid=lukasz.zolc,{PEOPLE}"
    with Directory(env.settings) as d:
        assert d.set_password(dn, "Correct-Horse-Battery-9") is None
    user = ldap3.Connection(ldap3.Server(slapd.host, slapd.port), dn, "Correct-Horse-Battery-9")
    assert user.bind()
    assert user.extend.standard.who_am_i() == f"dn:{dn}"
    assert not ldap3.Connection(ldap3.Server(slapd.host, slapd.port), dn, "wrong").bind()


def test_sync_now_is_injected_not_read_from_the_clock(env, slapd):
    env.sync(now=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    assert search(slapd, "(uid=jan.nowak)", ["uid"])
