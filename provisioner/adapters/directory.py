"""The directory adapter: the one place that talks to ldap3.

``snapshot`` reads what the planner needs in a few paged searches; ``apply``
writes a plan's changes one by one, recording a refused entry and going on.
Losing the connection stops the run with a ``DirectoryError``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import ldap3
from ldap3.core import exceptions as lexc

from ..core.mapping import Layout
from ..core.plan import Change
from ..core.snapshot import ACCOUNT_ATTRS, GROUP_ATTRS, Account, Group, Snapshot
from ..errors import ConfigError, DirectoryError
from ..settings import Settings

OPS = {"add": ldap3.MODIFY_ADD, "delete": ldap3.MODIFY_DELETE, "replace": ldap3.MODIFY_REPLACE}
NO_SUCH_OBJECT = 32


@dataclass(frozen=True, slots=True)
class Failure:
    change: Change
    message: str


def server_for(url: str, timeout: float) -> ldap3.Server:
    parts = urlsplit(url.rstrip("/"))
    if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
        raise ConfigError(f"ldap.url: {url!r} is not ldap://host[:port] or ldaps://host[:port]")
    return ldap3.Server(parts.hostname, port=parts.port, use_ssl=parts.scheme == "ldaps",
                        get_info=ldap3.NONE, connect_timeout=timeout)


def layout_of(settings: Settings) -> Layout:
    ident = settings.check("ldap", "identity").identity
    return Layout(settings.ldap.base_dn, settings.ldap.people_ou, settings.ldap.groups_ou,
                  ident.login_template, ident.login_max_length)


def decode(raw: dict) -> dict[str, tuple[str, ...]]:
    return {k.lower(): tuple(v.decode("utf-8") for v in vals) for k, vals in raw.items() if vals}


class Directory:
    """A bound connection to the directory as the provisioner's service account."""

    def __init__(self, settings: Settings, bind_dn: str | None = None,
                 password: str | None = None) -> None:
        self.settings = settings.check("ldap", "identity")
        self.layout = layout_of(settings)
        server = server_for(settings.ldap.url, settings.ldap.timeout)
        self.conn = ldap3.Connection(
            server, user=bind_dn or settings.ldap.bind_dn,
            password=password if password is not None else settings.bind_password(),
            receive_timeout=int(settings.ldap.timeout), raise_exceptions=False,
        )
        try:
            if not self.conn.bind():
                raise DirectoryError(
                    f"cannot bind to {settings.ldap.url} as {settings.ldap.bind_dn}:"
                    f" {self.conn.result.get('description')}")
        except lexc.LDAPException as exc:
            raise DirectoryError(f"cannot reach the directory at {settings.ldap.url}: {exc}") from exc

    def __enter__(self) -> Directory:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(lexc.LDAPException):
            self.conn.unbind()

    def search(self, base: str, flt: str, attrs: Iterable[str],
               scope=ldap3.SUBTREE) -> Iterator[tuple[str, dict[str, tuple[str, ...]]]]:
        """Paged search yielding (dn, attributes); a missing base yields nothing."""
        try:
            entries = self.conn.extend.standard.paged_search(
                base, flt, search_scope=scope, attributes=list(attrs),
                paged_size=self.settings.ldap.page_size, generator=True)
            for entry in entries:
                if entry.get("type") == "searchResEntry":
                    yield entry["dn"], decode(entry["raw_attributes"])
        except lexc.LDAPException as exc:
            raise DirectoryError(f"search under {base} failed: {exc}") from exc
        result = self.conn.result or {}
        if result.get("result") not in (0, NO_SUCH_OBJECT, None):
            raise DirectoryError(f"search under {base} failed: {result.get('description')}")

    def exists(self, dn: str) -> bool:
        return any(True for _ in self.search(dn, "(objectClass=*)", ["1.1"], ldap3.BASE))

    def snapshot(self) -> Snapshot:
        """Managed accounts, all groups, every login in use, and whether the OUs exist."""
        layout = self.layout
        snap = Snapshot(people_ou=self.exists(layout.people_dn),
                        groups_ou=self.exists(layout.groups_dn))
        if snap.people_ou:
            for dn, attrs in self.search(layout.people_dn, "(objectClass=provisionerAccount)",
                                         ACCOUNT_ATTRS):
                snap.accounts.append(Account(dn, attrs))
                snap.taken_logins.update(v.lower() for v in attrs.get("uid", ()))
        for _, attrs in self.search(layout.base_dn,
                                    "(&(uid=*)(!(objectClass=provisionerAccount)))", ["uid"]):
            snap.taken_logins.update(v.lower() for v in attrs.get("uid", ()))
        if snap.groups_ou:
            for dn, attrs in self.search(layout.groups_dn, "(objectClass=groupOfNames)",
                                         GROUP_ATTRS, ldap3.LEVEL):
                classes = {c.lower() for c in attrs.get("objectclass", ())}
                cn = attrs.get("cn", ("",))[0]
                snap.groups[cn.lower()] = Group(
                    dn, cn, "provisionergroup" in classes, attrs.get("member", ()),
                    (attrs.get("description") or (None,))[0])
        return snap

    def apply(self, changes: Iterable[Change],
              on_done: Callable[[Change, str | None], None] = lambda c, e: None) -> list[Failure]:
        """Write each change; a refused one is recorded and the rest go on."""
        failures = []
        for change in changes:
            error = self.write(change)
            if error is not None:
                failures.append(Failure(change, error))
            on_done(change, error)
        return failures

    def write(self, change: Change) -> str | None:
        """One LDAP operation; the server's refusal as text, or ``None``."""
        try:
            if change.operation == "add":
                ok = self.conn.add(change.dn, attributes={k: list(v) for k, v in change.attrs.items()})
            elif change.operation == "modify":
                mods: dict[str, list] = {}
                for mod in change.mods:
                    mods.setdefault(mod.attr, []).append((OPS[mod.op], list(mod.values)))
                ok = self.conn.modify(change.dn, mods)
            else:
                ok = self.conn.delete(change.dn)
        except (lexc.LDAPSocketOpenError, lexc.LDAPSocketReceiveError,
                lexc.LDAPSocketSendError, lexc.LDAPSessionTerminatedByServerError) as exc:
            raise DirectoryError(f"lost the directory connection: {exc}") from exc
        except lexc.LDAPException as exc:
            return str(exc)
        if ok:
            return None
        result = self.conn.result or {}
        return f"{result.get('description')}: {result.get('message') or ''}".rstrip(": ")

    def set_password(self, dn: str, password: str) -> str | None:
        """Password Modify extended operation, so slapd hashes it under its own policy."""
        ok = self.conn.extend.standard.modify_password(dn, new_password=password)
        if ok:
            return None
        result = self.conn.result or {}
        return f"{result.get('description')}: {result.get('message') or ''}".rstrip(": ")
