"""The ldif/ files, loaded into a real slapd, behave as the provisioner needs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ldap3 import MODIFY_DELETE, MODIFY_REPLACE, NONE, Connection, Server
from ldap3.core.exceptions import LDAPInsufficientAccessRightsResult

from provisioner.demo.slapd import ProvisionerSlapd

HMAC = "0f" * 32
LOCKED = "000001010000Z"


def connect(slapd: ProvisionerSlapd, dn: str | None = None, pw: str | None = None) -> Connection:
    return Connection(
        Server(slapd.url, get_info=NONE), dn, pw, auto_bind=True, raise_exceptions=True
    )


def can_bind(slapd: ProvisionerSlapd, dn: str, pw: str) -> bool:
    conn = Connection(Server(slapd.url, get_info=NONE), dn, pw)
    try:
        return conn.bind()
    finally:
        conn.unbind()


@pytest.fixture
def service(slapd: ProvisionerSlapd) -> Iterator[Connection]:
    """The service account, after it created the two OUs it manages."""
    conn = connect(slapd, slapd.service_dn, slapd.service_password)
    conn.add(f"ou=people,{slapd.suffix}", "organizationalUnit")
    conn.add(f"ou=groups,{slapd.suffix}", "organizationalUnit")
    yield conn
    conn.unbind()


def add_person(service: Connection, uid: str, password: str | None = None, **extra: object) -> str:
    dn = f"uid={uid},ou=people,dc=example,dc=org"
    attrs = {"cn": uid, "sn": uid, "provisionerPeselHmac": HMAC if uid == "ala" else "1" * 64}
    service.add(dn, ["inetOrgPerson", "provisionerAccount"], {**attrs, **extra})
    if password:
        assert service.extend.standard.modify_password(dn, new_password=password)
    return dn


def test_service_account_creates_account_with_custom_attributes(service: Connection) -> None:
    dn = add_person(
        service, "ala",
        provisionerSourceKey=["pupil:12", "guardian:7"],
        provisionerDisabledAt="20240901120000Z",
        provisionerActivatedAt="20240101080000Z",
        employeeType="pupil",
    )
    service.search(dn, "(objectClass=*)", attributes=["*"])
    entry = service.entries[0]
    assert entry.provisionerPeselHmac.value == HMAC
    assert sorted(entry.provisionerSourceKey.values) == ["guardian:7", "pupil:12"]
    assert entry.provisionerDisabledAt.value == "20240901120000Z"
    assert entry.provisionerActivatedAt.value == "20240101080000Z"
    # The indexed equality filter on the HMAC works for the service account.
    service.search("dc=example,dc=org", f"(provisionerPeselHmac={HMAC})", attributes=["1.1"])
    assert [e.entry_dn for e in service.entries] == [dn]


def test_service_account_cannot_add_other_base_children(service: Connection) -> None:
    with pytest.raises(LDAPInsufficientAccessRightsResult):
        service.add("ou=other,dc=example,dc=org", "organizationalUnit")


def test_hmac_hidden_from_other_users_and_anonymous(
    slapd: ProvisionerSlapd, service: Connection
) -> None:
    ala = add_person(service, "ala", "ala-secret")
    ola = add_person(service, "ola", "ola-secret")
    for who, password in ((ala, "ala-secret"), (ola, "ola-secret")):
        user = connect(slapd, who, password)
        user.search(ala, "(objectClass=*)", attributes=["*", "provisionerPeselHmac"])
        assert user.response[0]["dn"] == ala
        # ldap3 lists requested attributes the server withheld as empty.
        assert not user.response[0]["raw_attributes"].get("provisionerPeselHmac")
        user.search("dc=example,dc=org", f"(provisionerPeselHmac={HMAC})", attributes=["1.1"])
        assert user.entries == []
    # Anonymous sees nothing at all (the base answers noSuchObject).
    anonymous = Connection(Server(slapd.url, get_info=NONE), auto_bind=True)
    for query in (f"(provisionerPeselHmac={HMAC})", "(uid=ala)"):
        anonymous.search("dc=example,dc=org", query, attributes=["*"])
        assert anonymous.entries == []


def test_member_of_maintained(service: Connection) -> None:
    ala = add_person(service, "ala")
    group = "cn=1a,ou=groups,dc=example,dc=org"
    service.add(group, "groupOfNames", {"cn": "1a", "member": [ala]})
    service.search(ala, "(objectClass=*)", attributes=["memberOf"])
    assert service.entries[0].memberOf.values == [group]


def test_password_modify_and_lockout(slapd: ProvisionerSlapd, service: Connection) -> None:
    ala = add_person(service, "ala", "ala-secret")
    assert can_bind(slapd, ala, "ala-secret")
    service.modify(ala, {"pwdAccountLockedTime": [(MODIFY_REPLACE, [LOCKED])]})
    assert not can_bind(slapd, ala, "ala-secret")
    service.modify(ala, {"pwdAccountLockedTime": [(MODIFY_DELETE, [])]})
    assert can_bind(slapd, ala, "ala-secret")


def test_user_changes_own_password(slapd: ProvisionerSlapd, service: Connection) -> None:
    ala = add_person(service, "ala", "ala-secret")
    user = connect(slapd, ala, "ala-secret")
    assert user.extend.standard.modify_password(ala, "ala-secret", "ala-new")
    assert can_bind(slapd, ala, "ala-new")


def test_provisioner_group_on_group_of_names(service: Connection) -> None:
    ala = add_person(service, "ala")
    group = "cn=2b,ou=groups,dc=example,dc=org"
    service.add(
        group,
        ["groupOfNames", "provisionerGroup"],
        {"cn": "2b", "member": [ala], "provisionerSourceKey": "class:2b"},
    )
    service.search("ou=groups,dc=example,dc=org", "(objectClass=provisionerGroup)",
                   attributes=["provisionerSourceKey"])
    assert [(e.entry_dn, e.provisionerSourceKey.value) for e in service.entries] == [
        (group, "class:2b")
    ]


def test_reset_keeps_only_initial_entries(
    slapd: ProvisionerSlapd, service: Connection
) -> None:
    add_person(service, "ala")
    slapd.reset()
    dump = slapd.dump()
    dns = {line[4:] for line in dump.splitlines() if line.startswith("dn: ")}
    assert dns == {
        slapd.suffix,
        slapd.service_dn,
        "ou=policies,dc=example,dc=org",
        "cn=default,ou=policies,dc=example,dc=org",
    }
    assert "entryUUID: " in dump  # operational attributes are included
