"""One entry the directory refuses does not stop the others, and the run says it was partial."""

import json

import ldap3
import uonet
from test_cli import env_of, run
from test_sync_e2e import search

from provisioner.adapters.state import State
from provisioner.demo.run import settings_for

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
