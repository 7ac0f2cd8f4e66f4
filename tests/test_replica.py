"""The daemon's replica of the directory: RFC 4533 refreshes against slapd's syncprov."""

import uuid

import ldap3
import pytest
import uonet
from ldap.syncrepl import SyncStateControl, SyncStateValue
from pyasn1.codec.ber import encoder

from provisioner.adapters.directory import Directory
from provisioner.adapters.replica import ACCOUNT, Replica, sync_state
from provisioner.app.run import Warm, sync_once
from provisioner.app.sync import prepare
from provisioner.demo.run import settings_for
from provisioner.errors import SourceError

BASE = "dc=example,dc=org"
JAN = f"uid=jan.nowak,ou=people,{BASE}"
UUID = uuid.UUID("67372918-802c-1041-8e02-777bf94538b0").bytes


@pytest.mark.parametrize("state", range(4))
@pytest.mark.parametrize("cookie", [None, b"rid=000,csn=20261129103641.019058Z#000000#000#000000",
                                    b"c" * 300])  # 300: the outer length takes the long form
def test_sync_state_is_read_as_python_ldap_reads_it(state, cookie):
    value = SyncStateValue()
    value.setComponentByName("state", state)
    value.setComponentByName("entryUUID", UUID)
    if cookie is not None:
        value.setComponentByName("cookie", cookie)
    encoded = encoder.encode(value)
    reference = SyncStateControl()
    reference.decodeControlValue(encoded)
    assert sync_state(encoded) == (state, UUID)
    assert str(uuid.UUID(bytes=sync_state(encoded)[1])) == reference.entryUUID


def test_a_malformed_sync_state_is_refused():
    with pytest.raises(ValueError, match="tag"):
        sync_state(b"\x04\x03abc")


@pytest.fixture
def site(slapd, tmp_path):
    """The small source synced once, plus entries made by hand around it."""
    settings = settings_for(slapd, tmp_path, uonet.save(uonet.small(), tmp_path / "uonet.sqlite"))
    sync_once(settings)
    root = ldap3.Connection(ldap3.Server(slapd.host, slapd.port), slapd.root_dn, slapd.root_pw,
                            auto_bind=True)
    root.add(f"ou=staff,{BASE}", "organizationalUnit")
    root.add(f"uid=dyrektor,ou=staff,{BASE}", "inetOrgPerson", {"cn": "D", "sn": "D"})
    root.add(f"uid=teacher,ou=people,{BASE}", "inetOrgPerson", {"cn": "T", "sn": "T"})
    root.add(f"cn=rada,ou=groups,{BASE}", "groupOfNames", {"member": JAN})
    yield settings, root
    root.unbind()


def read(settings, replica):
    """(what the replica holds, what a full paged read gives) as comparable data."""
    with Directory(settings) as d:
        return comparable(d.snapshot(replica)), comparable(d.snapshot())


def comparable(snap):
    return ({a.dn: a.attrs for a in snap.accounts}, snap.groups, snap.taken_logins,
            snap.people_ou, snap.groups_ou)


def refresh(settings, replica):
    with Directory(settings) as d:
        return replica.refresh(d.bulk(), d.everything, d.entries)


def test_a_refresh_reads_only_what_changed_and_holds_what_a_full_read_finds(site):
    settings, root = site
    with Directory(settings) as d:
        replica = Replica(d.layout)
    assert refresh(settings, replica) >= 15  # base, OUs, 4 accounts, groups, hand-made
    incremental, full = read(settings, replica)
    assert incremental == full
    assert {"dyrektor", "teacher", "jan.nowak"} <= full[2] and "rada" in full[1]
    assert refresh(settings, replica) == 0

    root.modify(JAN, {"mail": [(ldap3.MODIFY_REPLACE, ["hand@edit.example.pl"])]})
    root.delete(f"uid=dyrektor,ou=staff,{BASE}")
    root.add(f"uid=woznica,ou=staff,{BASE}", "inetOrgPerson", {"cn": "W", "sn": "W"})
    assert refresh(settings, replica) == 2  # the modified and the added entry, nothing else
    incremental, full = read(settings, replica)
    assert incremental == full
    assert full[0][JAN]["mail"] == ("hand@edit.example.pl",)
    assert "dyrektor" not in full[2] and "woznica" in full[2]


def test_deletions_are_seen_after_slapd_restarts(site, slapd):
    """A restart empties syncprov's log of deletions: slapd then lists what it still holds."""
    settings, root = site
    with Directory(settings) as d:
        replica = Replica(d.layout)
    refresh(settings, replica)
    root.delete(f"uid=teacher,ou=people,{BASE}")
    root.unbind()
    slapd.restart()
    incremental, full = read(settings, replica)
    assert "teacher" not in full[2]
    assert incremental == full


def test_a_cookie_the_server_refuses_means_one_full_read(site):
    settings, _ = site
    with Directory(settings) as d:
        replica = Replica(d.layout)
    refresh(settings, replica)
    replica.cookie = "rid=000,csn=29991231000000.000000Z#000000#000#000000"  # from the future
    incremental, full = read(settings, replica)
    assert incremental == full
    assert replica.cookie and not replica.cookie.startswith("rid=000,csn=2999")


def test_warm_runs_follow_the_source_and_repair_hand_edits(site, tmp_path):
    settings, root = site
    warm = Warm()
    assert sync_once(settings, warm=warm).applied == {}
    assert sync_once(settings, warm=warm).applied == {}

    root.modify(JAN, {"mail": [(ldap3.MODIFY_REPLACE, ["hand@edit.example.pl"])]})
    assert sync_once(settings, warm=warm).applied == {"person.update": 1}
    root.search(JAN, "(objectClass=*)", attributes=["mail"])
    assert root.entries[0].mail.value == "jan.nowak@uczen.example.pl"

    dataset = uonet.small()
    dataset.pupils = [p for p in dataset.pupils if p["first_name"] != "Jan"]
    uonet.save(dataset, tmp_path / "uonet.sqlite")
    assert sync_once(settings, warm=warm).applied  # Jan left, his class group empty
    with Directory(settings) as d:
        assert prepare(settings, d).plan.changes == []  # a full read finds nothing left to do
    assert sync_once(settings, warm=warm).applied == {}


def test_a_reload_that_points_elsewhere_starts_a_new_replica(site):  # a cookie is per server
    settings, _ = site
    warm = Warm()
    first = warm.replica(settings)
    assert warm.replica(settings) is first
    moved = settings.model_copy(update={"ldap": settings.ldap.model_copy(
        update={"url": settings.ldap.url.replace("127.0.0.1", "localhost")})})
    assert warm.replica(moved) is not first


def test_a_new_pesel_key_starts_a_new_memo(site, tmp_path):
    settings, _ = site
    warm = Warm()
    first = warm.memo(settings)
    assert warm.memo(settings) is first
    other = tmp_path / "other.key"
    other.write_text("o" * 40)
    rekeyed = settings.model_copy(update={"identity": settings.identity.model_copy(
        update={"pesel_key_file": other})})
    assert warm.memo(rekeyed) is not first


def test_after_a_run_that_wrote_the_next_reads_what_it_wrote(slapd, tmp_path):
    """slapd's contextCSN can stay behind the last of many pipelined writes, and a refresh
    sends nothing newer than it: trusting the cookie alone after writing made the next
    run create a group that existed ("Already exists"). The daemon's test caught it."""
    settings = settings_for(slapd, tmp_path, uonet.save(uonet.small(), tmp_path / "uonet.sqlite"))
    for _ in range(5):  # the lag showed in about one run of three
        slapd.reset()
        warm = Warm()
        first = sync_once(settings, warm=warm)
        assert first.applied["group.create"] == 7
        replica = warm.replica(settings)
        assert replica.cookie is not None and len(replica.stale) == len(first.done)
        again = sync_once(settings, warm=warm)
        assert again.applied == {} and again.failures == [] and not replica.stale
        incremental, full = read(settings, replica)
        assert incremental == full


def test_a_run_that_failed_leaves_the_next_to_read_everything(site, monkeypatch):
    settings, _ = site
    warm = Warm()
    sync_once(settings, warm=warm)
    replica = warm.replica(settings)
    assert replica.cookie is not None

    def broken(*args):
        raise RuntimeError("the connection dropped half-way")
    monkeypatch.setattr("provisioner.app.run.apply", broken)
    with pytest.raises(RuntimeError):
        sync_once(settings, warm=warm)
    assert replica.cookie is None and replica.records == {}


def test_a_run_that_failed_before_writing_keeps_the_replica(site, tmp_path):
    settings, _ = site
    warm = Warm()
    sync_once(settings, warm=warm)
    replica = warm.replica(settings)
    (tmp_path / "uonet.sqlite").unlink()  # UONET's database away for a while
    with pytest.raises(SourceError):
        sync_once(settings, warm=warm)
    assert replica.cookie is not None and replica.records


def test_past_the_limit_the_next_refresh_reads_everything(site, monkeypatch):
    settings, root = site
    with Directory(settings) as d:
        replica = d.refreshed(Replica(d.layout))
    monkeypatch.setattr("provisioner.adapters.replica.REREAD_FLOOR", 2)
    monkeypatch.setattr("provisioner.adapters.replica.REREAD_SHARE", 2 / len(replica.records))
    teacher = f"uid=teacher,ou=people,{BASE}"
    root.delete(teacher)
    root.add(teacher, "inetOrgPerson", {"cn": "T2", "sn": "T2"})  # a new entryUUID
    replica.wrote([JAN, teacher])
    assert refresh(settings, replica) == 1 + 1  # the new teacher; JAN, not sent, by DN
    dns = [item.dn for _, item, _ in replica.records.values() if item is not None]
    assert len(dns) == len(set(dns)) and not replica.stale
    replica.wrote([JAN, f"cn=rada,ou=groups,{BASE}", f"ou=staff,{BASE}"])
    assert replica.cookie is None and not replica.stale
    assert refresh(settings, replica) == len(replica.records)


def test_accounts_hold_values_they_share_once(site):
    """The daemon keeps a region's accounts between runs: alike values are one object."""
    settings, root = site
    root.add(f"uid=Teacher2,ou=people,{BASE}", "inetOrgPerson", {"cn": "T", "sn": "T"})
    with Directory(settings) as d:
        replica = d.refreshed(Replica(d.layout))
    records = [(item, logins) for kind, item, logins in replica.records.values() if kind == ACCOUNT]
    accounts = [a for a, _ in records]
    pupils = [a for a in accounts if a.attrs["employeetype"] == ("pupil",)]
    assert len(pupils) >= 2 and pupils[0].attrs["employeetype"] is pupils[1].attrs["employeetype"]
    assert all(a.attrs["displayname"] is a.attrs["cn"] for a in accounts)
    jan, jan_logins = next(r for r in records if r[0].dn == JAN)
    assert jan_logins is jan.attrs["uid"] == ("jan.nowak",)  # one tuple, already lower-case
    incremental, full = read(settings, replica)
    assert incremental == full and "teacher2" in full[2]  # a login in capitals, lower-cased
