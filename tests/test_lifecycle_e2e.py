"""Account lifecycle and safety guards, end to end on a real slapd with injected time."""

import datetime as dt
import sqlite3

import ldap3
import pytest
import uonet
from test_sync_e2e import PEOPLE, members, search

from provisioner.adapters.directory import Directory
from provisioner.adapters.state import State
from provisioner.app.run import sync_once
from provisioner.demo.run import settings_for
from provisioner.errors import SourceError

T0 = dt.datetime(2026, 9, 1, 8, tzinfo=dt.UTC)
PASSWORD = "Correct-Horse-Battery-9"


@pytest.fixture
def env(slapd, tmp_path):
    class Env:
        dataset = uonet.small()
        path = tmp_path / "uonet.sqlite"
        settings = settings_for(slapd, tmp_path, uonet.save(uonet.small(), tmp_path / "uonet.sqlite"),
                                lifecycle={"max_disable_ratio": 1.0})

        def sync(self, now=T0, **kw):
            uonet.save(self.dataset, self.path)
            outcome = sync_once(self.settings, now=now, **kw)
            assert not outcome.failures, outcome.failures
            return outcome

        def drop_pupil(self, pid):
            self.dataset.pupils = [p for p in self.dataset.pupils if p["id"] != pid]
            self.dataset.pupil_guardians = [g for g in self.dataset.pupil_guardians
                                            if g["pupil_id"] != pid]

    return Env()


def can_bind(slapd, uid, password=PASSWORD):
    return ldap3.Connection(ldap3.Server(slapd.host, slapd.port), f"uid={uid},{PEOPLE}", password).bind()


def set_password(env, uid):
    with Directory(env.settings) as d:
        assert d.set_password(f"uid={uid},{PEOPLE}", PASSWORD) is None


def test_leaver_is_disabled_then_deleted_after_the_grace_period(env, slapd):
    env.sync()
    set_password(env, "lukasz.zolc")
    assert can_bind(slapd, "lukasz.zolc")
    env.drop_pupil(3)
    outcome = env.sync(T0 + dt.timedelta(days=1))
    assert outcome.applied["person.disable"] == 1
    entry = search(slapd, "(uid=lukasz.zolc)", ["employeeType", "pwdAccountLockedTime",
                                                 "provisionerDisabledAt", "memberOf"])
    (attrs,) = entry.values()
    assert "employeeType" not in attrs and "memberOf" not in attrs
    assert attrs["provisionerDisabledAt"] == ["2026-09-02 08:00:00+00:00"]  # ldap3 decodes it
    assert not can_bind(slapd, "lukasz.zolc")
    assert env.sync(T0 + dt.timedelta(days=180)).applied["person.delete"] == 0
    assert env.sync(T0 + dt.timedelta(days=181)).applied["person.delete"] == 1
    assert search(slapd, "(uid=lukasz.zolc)") == {}


def test_left_on_date_disables_and_deletion_can_be_switched_off(env, slapd):
    env.settings.lifecycle.delete = False
    env.sync()
    env.dataset.pupils[2]["left_on"] = dt.date(2026, 9, 10)
    assert env.sync(T0 + dt.timedelta(days=5)).applied["person.disable"] == 0
    assert env.sync(T0 + dt.timedelta(days=9)).applied["person.disable"] == 1
    assert env.sync(T0 + dt.timedelta(days=9999)).applied["person.delete"] == 0
    assert search(slapd, "(uid=lukasz.zolc)")


def test_returnee_is_re_enabled_with_the_same_login_and_password(env, slapd):
    env.sync()
    set_password(env, "lukasz.zolc")
    full = uonet.small()
    env.drop_pupil(3)
    env.sync(T0 + dt.timedelta(days=1))
    env.dataset = full
    outcome = env.sync(T0 + dt.timedelta(days=30))
    assert outcome.applied["person.enable"] == 1 and outcome.applied["person.create"] == 0
    assert can_bind(slapd, "lukasz.zolc")
    assert members(slapd, "7654321-3ti-pupils") == {"lukasz.zolc"}


def test_guardian_who_keeps_one_of_two_children_keeps_the_account(env, slapd):
    env.sync()
    env.drop_pupil(1)  # Jan leaves; Ewa is still Ola's mother
    env.sync(T0 + dt.timedelta(days=1))
    (ewa,) = search(slapd, "(uid=ewa.nowak)", ["employeeType", "pwdAccountLockedTime"]).values()
    assert ewa == {"employeeType": ["guardian"]}
    assert members(slapd, "1234567-2b-guardians") == {"ewa.nowak"}
    assert search(slapd, "(cn=1234567-1a-guardians)", ["cn"]) == {}


def test_person_with_another_role_keeps_the_account_with_that_role_only(env, slapd):
    env.dataset.pupils.append(uonet.pupil(4, 3, uonet.EWA, "Ewa", "Nowak", None))  # evening school
    env.sync()
    env.drop_pupil(1)
    env.drop_pupil(2)  # her children leave: she stays a pupil
    env.sync(T0 + dt.timedelta(days=1))
    (ewa,) = search(slapd, "(uid=ewa.nowak)", ["employeeType", "memberOf"]).values()
    assert ewa["employeeType"] == ["pupil"]
    assert sorted(m.split(",")[0] for m in ewa["memberOf"]) == ["cn=7654321-3ti-pupils", "cn=pupils"]


def test_name_email_and_school_changes_are_followed(env, slapd):
    env.sync()
    jan = env.dataset.pupils[0]
    jan.update(first_name="Janek", email=None, class_id=3)
    env.dataset.pupils[1]["email"] = "ola@example.pl"
    env.sync(T0 + dt.timedelta(days=1))
    (j,) = search(slapd, "(uid=jan.nowak)", ["cn", "mail", "memberOf"]).values()
    assert j["cn"] == ["Janek Nowak"] and "mail" not in j
    assert sorted(m.split(",")[0] for m in j["memberOf"]) == ["cn=7654321-3ti-pupils", "cn=pupils"]
    (o,) = search(slapd, "(uid=ola.nowak)", ["mail"]).values()
    assert o["mail"] == ["ola@example.pl"]


def test_corrected_pesel_relinks_the_same_account(env, slapd):
    env.sync()
    set_password(env, "jan.nowak")
    env.dataset.pupils[0]["pesel"] = uonet.pesel.make(dt.date(2015, 3, 5), 11)  # typo fixed
    outcome = env.sync(T0 + dt.timedelta(days=1))
    assert outcome.applied["person.relink"] == 1 and outcome.applied["person.create"] == 0
    assert can_bind(slapd, "jan.nowak")
    with State(env.settings.state.url) as state:
        assert [r["action"] for r in state.history("jan.nowak")] == ["create", "relink"]


def test_guard_refuses_80_percent_and_leaves_the_directory_untouched(env, slapd):
    env.settings.lifecycle.max_disable_ratio = 0.10
    env.dataset.pupil_guardians = []  # five pupils, no guardians
    env.dataset.pupils += [uonet.pupil(i, 1, uonet.pesel.make(dt.date(2015, 1, i), i), "Uczeń",
                                       f"Numer{i}", None) for i in (4, 5)]
    env.sync()
    before = slapd.dump()
    env.dataset.pupils = [p for p in env.dataset.pupils if p["id"] == 3]  # 4 of 5 leave
    uonet.save(env.dataset, env.path)
    outcome = sync_once(env.settings, now=T0 + dt.timedelta(days=1))
    assert outcome.status == "withheld" and outcome.exit_code == 4
    assert len(outcome.prepared.withheld) == 4 and sum(outcome.applied.values()) == 0
    assert "80%" in outcome.prepared.guard_reason
    assert slapd.dump() == before
    forced = env.sync(T0 + dt.timedelta(days=1), force=True)
    assert forced.applied["person.disable"] == 4 and forced.status == "ok"


def test_guard_still_applies_creations(env, slapd):
    env.settings.lifecycle.max_disable_ratio = 0.10
    env.sync()
    env.drop_pupil(3)
    env.dataset.pupils.append(uonet.pupil(9, 1, uonet.pesel.make(dt.date(2015, 1, 1), 99), "Nowy",
                                          "Uczeń", None))
    uonet.save(env.dataset, env.path)
    outcome = sync_once(env.settings, now=T0 + dt.timedelta(days=1))
    assert outcome.status == "withheld" and outcome.applied["person.create"] == 1
    assert members(slapd, "7654321-3ti-pupils") == {"lukasz.zolc"}  # withheld keeps its groups


@pytest.mark.parametrize("breakage", ["empty", "missing_table", "bad_url", "no_valid_person"])
def test_empty_or_unreadable_source_changes_nothing(env, slapd, breakage):
    env.sync()
    before = slapd.dump()
    if breakage == "bad_url":
        env.settings.source.url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    else:
        con = sqlite3.connect(env.path)
        con.executescript({"empty": "DELETE FROM pupil_guardians; DELETE FROM pupils;"
                                    " DELETE FROM guardians;",
                           "missing_table": "DROP TABLE guardians;",
                           "no_valid_person": "UPDATE pupils SET pesel = NULL;"
                                              " UPDATE guardians SET pesel = NULL;"}[breakage])
        con.commit()
        con.close()
    with pytest.raises(SourceError) as err:
        sync_once(env.settings, now=T0 + dt.timedelta(days=1))
    assert "\n" not in str(err.value)
    assert slapd.dump() == before
    with State(env.settings.state.url) as state:
        assert state.last_runs(1)[0]["outcome"] == "failed"
