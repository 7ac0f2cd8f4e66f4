"""Account look-ups and writes for notices and the access page, as the service account.

Built on ``Directory.conn`` (ldap3): the directory adapter covers the sync's
bulk paths, this module the few single-entry operations the self-service needs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ldap3
from ldap3.utils.conv import escape_filter_chars

from ..core.snapshot import format_time
from .directory import Directory

ATTRS = ("uid", "givenName", "sn", "mail", "provisionerPeselHmac", "provisionerActivatedAt",
         "provisionerDisabledAt", "pwdAccountLockedTime")


@dataclass(frozen=True, slots=True)
class Entry:
    dn: str
    login: str
    first_name: str
    last_name: str
    mail: str | None
    key: str  # provisionerPeselHmac
    activated: bool
    disabled: bool


def entry_of(dn: str, attrs: dict[str, tuple[str, ...]]) -> Entry:
    def first(name: str) -> str | None:
        values = attrs.get(name.lower())
        return values[0] if values else None

    return Entry(dn, first("uid") or "", first("givenName") or "", first("sn") or "", first("mail"),
                 first("provisionerPeselHmac") or "", first("provisionerActivatedAt") is not None,
                 first("provisionerDisabledAt") is not None or first("pwdAccountLockedTime") is not None)


def find(directory: Directory, attr: str, value: str) -> list[Entry]:
    flt = f"(&(objectClass=provisionerAccount)({attr}={escape_filter_chars(value)}))"
    return [entry_of(dn, a) for dn, a in directory.search(directory.layout.people_dn, flt, ATTRS)]


def by_pesel_hmac(directory: Directory, key: str) -> Entry | None:
    found = find(directory, "provisionerPeselHmac", key)
    return found[0] if len(found) == 1 else None


def by_mail(directory: Directory, address: str) -> list[Entry]:
    """Accounts with this address (a parent's address may be on several)."""
    return find(directory, "mail", address)


def get(directory: Directory, dn: str) -> Entry | None:
    found = list(directory.search(dn, "(objectClass=provisionerAccount)", ATTRS, ldap3.BASE))
    return entry_of(*found[0]) if found else None


def mark_activated(directory: Directory, dn: str, now: dt.datetime) -> str | None:
    """Set ``provisionerActivatedAt`` (first activation only); the refusal as text, or None."""
    ok = directory.conn.modify(dn, {"provisionerActivatedAt": [(ldap3.MODIFY_REPLACE, [format_time(now)])]})
    return None if ok else directory.refusal()
