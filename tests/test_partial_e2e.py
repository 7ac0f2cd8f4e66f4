"""One entry the directory refuses does not stop the others, and the run says it was partial."""

import json

import ldap3
import pytest
import uonet
from sqlalchemy import select
from test_cli import env_of, run
from test_sync_e2e import search

from provisioner.adapters.directory import Directory
from provisioner.adapters.outbox import outbox
from provisioner.adapters.state import State
from provisioner.app.run import sync_once
from provisioner.demo.run import settings_for
from provisioner.errors import DirectoryError

PROTECTED = "uid=lukasz.zolc,ou=people,dc=example,dc=org"


def refuse(slapd, dn, on=True):
    """As the local root over ldapi, make slapd refuse writes to one DN (an admin's ACL)."""
    op = "add" if on else "delete"
    slapd.ldapmodify(f"""dn: olcDatabase={{1}}mdb,cn=config
changetype: modify
{op}: olcAccess
olcAccess: {{0}}to dn.exact="{dn}" by * none
""")


def test_one_refused_entry_does_not_stop_the_others(slapd, tmp_path):
    env = env_of(settings_for(slapd, tmp_path, uonet.save(uonet.small(), tmp_path / "u.sqlite")))
    refuse(slapd, PROTECTED)
    try:
        out = run("sync", "--json", env=env)
    finally:
        refuse(slapd, PROTECTED, on=False)
    assert out.returncode == 1, out.stderr
    summary = json.loads(out.stdout)
    assert summary["outcome"] == "partial" and summary["counts"]["created"] == 3
    (failed,) = summary["failed"]
    assert failed["dn"] == PROTECTED and "access" in failed["error"].lower()
    assert set(search(slapd, "(objectClass=provisionerAccount)", ["uid"])) == {
        f"uid={u},ou=people,dc=example,dc=org" for u in ("jan.nowak", "ola.nowak", "ewa.nowak")}
    with State(env["PROVISIONER_STATE__URL"]) as state:
        (row,) = state.history("lukasz.zolc")
        assert row["action"] == "create" and "access" in row["error"].lower()
        assert state.last_runs(1)[0]["outcome"] == "partial"
    # Once the admin lifts the protection, the next run finishes the job.
    again = run("sync", "--json", env=env)
    assert again.returncode == 0 and json.loads(again.stdout)["counts"]["created"] == 1
    conn = ldap3.Connection(ldap3.Server(slapd.host, slapd.port), slapd.root_dn, slapd.root_pw,
                            auto_bind=True)
    conn.search(PROTECTED, "(objectClass=*)", ldap3.BASE, attributes=["memberOf"])
    assert len(conn.entries[0].memberOf) == 2



def test_a_run_that_loses_the_directory_half_way_has_queued_the_notices_of_what_it_wrote(
        slapd, tmp_path, monkeypatch):
    """The run fails, but the accounts it wrote exist and no later run makes them again:
    their notices are queued by the failed run itself."""
    settings = settings_for(slapd, tmp_path, uonet.save(uonet.small(), tmp_path / "u.sqlite"))
    real = Directory.apply

    def lost_before_groups(self, changes, on_done):
        changes = list(changes)
        if changes and changes[0].kind == "group":
            raise DirectoryError("lost the directory connection: Can't contact LDAP server")
        return real(self, changes, on_done)

    monkeypatch.setattr(Directory, "apply", lost_before_groups)
    with pytest.raises(DirectoryError):
        sync_once(settings)
    with State(settings.state.url) as state, state.engine.connect() as conn:
        queued = set(conn.execute(select(outbox.c.recipient)).scalars())
        (run,) = state.last_runs()
    assert run["outcome"] == "failed" and len(queued) == 3  # the three accounts with an e-mail
