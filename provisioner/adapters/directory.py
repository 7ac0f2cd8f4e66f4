"""The directory adapter: the one place that talks to the LDAP server.

ldap3 is the client for single operations. The two bulk paths use python-ldap
(libldap, C) on a second connection, because at a region's scale (250 000
entries) they are bound by the client: ``snapshot`` reads what the planner needs
in a few paged searches (ldap3 decodes 3.5x slower than ldapsearch), or only what
changed, through the daemon's ``replica.Replica``, and ``apply``
pipelines writes, up to ``WINDOW`` in flight, instead of waiting a round trip per
entry. Every change still gets its own result: a refused one becomes a
``Failure`` and the rest go on. Losing the connection stops the run with a
``DirectoryError``. See bench/README.md for the measurements.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import ldap
import ldap3
from ldap.controls import SimplePagedResultsControl
from ldap3.core import exceptions as lexc

from ..core.dn import key as dnkey
from ..core.mapping import Layout
from ..core.plan import Change
from ..core.snapshot import ACCOUNT_ATTRS, GROUP_ATTRS, Account, Snapshot
from ..errors import ConfigError, DirectoryError
from ..settings import Settings
from .replica import FULL_ATTRS, Replica, group_of
from .values import decode

NO_SUCH_OBJECT = 32
FAST_OPS = {"add": ldap.MOD_ADD, "delete": ldap.MOD_DELETE, "replace": ldap.MOD_REPLACE}
# Writes in flight on the pipelined connection; enough to keep slapd's threads busy.
WINDOW = 64
LOST = (ldap.SERVER_DOWN, ldap.CONNECT_ERROR, ldap.TIMEOUT)


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


def text(exc: ldap.LDAPError) -> str:
    """python-ldap's error as one line, like "Already exists: <server's message>"."""
    info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    desc = info.get("desc") or type(exc).__name__
    return f"{desc}: {info['info']}" if info.get("info") else desc


def phase_of(change: Change) -> str:
    if change.kind in ("ou", "group"):
        return change.kind
    return "removal" if change.action in ("disable", "delete") else "person"


class Directory:
    """A bound connection to the directory as the provisioner's service account."""

    def __init__(self, settings: Settings, bind_dn: str | None = None,
                 password: str | None = None) -> None:
        self.settings = settings.check("ldap", "identity")
        self.layout = layout_of(settings)
        server = server_for(settings.ldap.url, settings.ldap.timeout)
        self._bind = (bind_dn or settings.ldap.bind_dn,
                      password if password is not None else settings.bind_password())
        self._bulk: ldap.ldapobject.LDAPObject | None = None
        self.conn = ldap3.Connection(
            server, user=self._bind[0], password=self._bind[1],
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
        if self._bulk is not None:
            with contextlib.suppress(ldap.LDAPError):
                self._bulk.unbind_s()
            self._bulk = None

    def bulk(self) -> ldap.ldapobject.LDAPObject:
        """The python-ldap connection for snapshot and apply, bound on first use."""
        if self._bulk is None:
            ldap_settings = self.settings.ldap
            conn = ldap.initialize(ldap_settings.url.rstrip("/"), bytes_mode=False)
            conn.protocol_version = 3
            conn.set_option(ldap.OPT_REFERRALS, 0)
            conn.set_option(ldap.OPT_NETWORK_TIMEOUT, ldap_settings.timeout)
            conn.set_option(ldap.OPT_TIMEOUT, ldap_settings.timeout)
            try:
                conn.simple_bind_s(*self._bind)
            except LOST as exc:
                raise DirectoryError(
                    f"cannot reach the directory at {ldap_settings.url}: {text(exc)}") from exc
            except ldap.LDAPError as exc:
                raise DirectoryError(
                    f"cannot bind to {ldap_settings.url} as {self._bind[0]}: {text(exc)}") from exc
            self._bulk = conn
        return self._bulk

    def paged(self, base: str, flt: str, attrs: Iterable[str],
              scope: int = ldap.SCOPE_SUBTREE) -> Iterator[tuple[str, dict[str, tuple[str, ...]]]]:
        """Like ``search`` but through libldap; only the bulk snapshot uses it."""
        conn, page = self.bulk(), SimplePagedResultsControl(True, self.settings.ldap.page_size, "")
        try:
            while True:
                msgid = conn.search_ext(base, scope, flt, list(attrs), serverctrls=[page])
                # One message at a time (MSG_ONE), not the whole page: entries are decoded
                # while slapd is still sending the rest, instead of after it (2x at 200 000).
                while True:
                    kind, entries, _, controls = conn.result3(msgid, ldap.MSG_ONE)
                    for dn, raw in entries:
                        if dn is not None:  # search references carry no DN
                            yield dn, decode(raw)
                    if kind == ldap.RES_SEARCH_RESULT:
                        break
                cookie = next((c.cookie for c in controls
                               if c.controlType == SimplePagedResultsControl.controlType), b"")
                if not cookie:
                    return
                page.cookie = cookie
        except ldap.NO_SUCH_OBJECT:
            return
        except ldap.LDAPError as exc:
            raise DirectoryError(f"search under {base} failed: {text(exc)}") from exc

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
            hint = ""
            if result.get("description") == "sizeLimitExceeded":
                hint = "; lift the limits for the service account (ldif/45-limits.ldif)"
            raise DirectoryError(f"search under {base} failed: {result.get('description')}{hint}")

    def snapshot(self, replica: Replica | None = None) -> Snapshot:
        """Managed accounts, all groups, every login in use, and whether the OUs exist.

        With a ``replica`` (the daemon keeps one), only what changed since its last
        refresh is read; without, everything is read in a few paged searches.
        """
        if replica is not None:
            return self.refreshed(replica).snapshot()
        layout = self.layout
        def there(dn: str) -> bool:
            return any(self.paged(dn, "(objectClass=*)", ["1.1"], ldap.SCOPE_BASE))

        snap = Snapshot(people_ou=there(layout.people_dn), groups_ou=there(layout.groups_dn))
        if snap.people_ou:
            # Managed accounts and hand-made entries with a login, in one pass over the
            # OU: the schema makes provisionerPeselHmac a MUST of provisionerAccount, so
            # an entry without it is not ours, and only its login matters.
            for dn, attrs in self.paged(layout.people_dn,
                                         "(|(objectClass=provisionerAccount)(uid=*))",
                                         ACCOUNT_ATTRS):
                if "provisionerpeselhmac" in attrs:
                    snap.accounts.append(Account(dn, attrs))
                for uid in attrs.get("uid", ()):
                    snap.taken_logins.add(uid.lower())
        snap.taken_logins.update(self.logins_elsewhere())
        if snap.groups_ou:
            for dn, attrs in self.paged(layout.groups_dn, "(objectClass=groupOfNames)",
                                         GROUP_ATTRS, ldap.SCOPE_ONELEVEL):
                group = group_of(dn, attrs)
                snap.groups[group.cn.lower()] = group
        return snap

    def refreshed(self, replica: Replica) -> Replica:
        """``replica`` brought up to date; a refused cookie means one full read instead."""
        if replica.layout != self.layout:
            raise ValueError("the replica was made for another directory layout")
        warm = replica.cookie is not None
        try:
            replica.refresh(self.bulk(), self.everything, self.entries)
        except LOST as exc:
            raise DirectoryError(f"lost the directory connection: {text(exc)}") from exc
        except ldap.LDAPError as exc:
            if not warm:
                raise DirectoryError(
                    f"search under {self.layout.base_dn} failed: {text(exc)}") from exc
            # A refused cookie (e-syncRefreshRequired after a restore, say): the replica
            # has emptied itself, so this reads everything once.
            return self.refreshed(replica)
        return replica

    def everything(self) -> Iterator[tuple[str, dict[str, tuple[str, ...]]]]:
        """Every entry under the base DN, with what a replica keeps of it."""
        return self.paged(self.layout.base_dn, "(objectClass=*)", FULL_ATTRS)

    def entries(self, dns: Iterable[str]) -> Iterator[tuple[str, dict[str, tuple[str, ...]]]]:
        """The entries of ``dns`` that exist, as ``everything`` gives them: base searches,
        pipelined up to ``WINDOW`` in flight (slapd drops a connection that sends far
        more without reading)."""
        conn, pending = self.bulk(), deque()

        def finish_one() -> Iterator[tuple[str, dict[str, tuple[str, ...]]]]:
            try:
                _, found = conn.result(pending.popleft())
            except ldap.NO_SUCH_OBJECT:
                return
            for dn, raw in found:
                yield dn, decode(raw)

        for dn in dns:
            if len(pending) >= WINDOW:
                yield from finish_one()
            pending.append(conn.search_ext(dn, ldap.SCOPE_BASE, "(objectClass=*)", FULL_ATTRS))
        while pending:
            yield from finish_one()

    def logins_elsewhere(self) -> Iterator[str]:
        """Logins of entries anywhere under the base DN but outside the people OU.

        Searched child by child rather than with one filter over the whole base: a
        "not ours" filter makes slapd load every account to test it (0.6 s at 200 000).
        """
        layout, people = self.layout, dnkey(self.layout.people_dn)
        subtrees = []
        for dn, attrs in self.paged(layout.base_dn, "(objectClass=*)", ["uid", "hasSubordinates"],
                                    ldap.SCOPE_ONELEVEL):
            if dnkey(dn) != people:
                yield from (v.lower() for v in attrs.get("uid", ()))
                if attrs.get("hassubordinates", ("TRUE",))[0].upper() != "FALSE":
                    subtrees.append((dn, ldap.SCOPE_SUBTREE))
        for dn, scope in [(layout.base_dn, ldap.SCOPE_BASE), *subtrees]:
            for _, attrs in self.paged(dn, "(uid=*)", ["uid"], scope):
                yield from (v.lower() for v in attrs.get("uid", ()))

    def apply(self, changes: Iterable[Change],
              on_done: Callable[[Change, str | None], None] = lambda c, e: None) -> list[Failure]:
        """Write every change, pipelined; a refused one is recorded and the rest go on.

        ``on_done`` is called once per change, in plan order. slapd runs pipelined
        operations concurrently, so the pipeline drains between plan phases (OUs,
        people, groups, removals): a group is written only once its members exist.
        """
        conn, failures = self.bulk(), []
        pending: deque[tuple[int | None, Change, str | None]] = deque()

        def finish_one() -> None:
            msgid, change, error = pending.popleft()
            if msgid is not None:
                try:
                    conn.result3(msgid)
                except LOST as exc:
                    raise DirectoryError(f"lost the directory connection: {text(exc)}") from exc
                except ldap.LDAPError as exc:
                    error = text(exc)
            if error is not None:
                failures.append(Failure(change, error))
            on_done(change, error)

        phase = None
        for change in changes:
            if phase_of(change) != phase:
                phase = phase_of(change)
                while pending:  # the barrier between phases
                    finish_one()
            elif len(pending) >= WINDOW:
                finish_one()
            pending.append(self.send(conn, change))
        while pending:
            finish_one()
        return failures

    @staticmethod
    def send(conn: ldap.ldapobject.LDAPObject, change: Change) -> tuple[int | None, Change, str | None]:
        """Start one operation: (msgid, change, None), or (None, change, error) if refused at once."""
        try:
            if change.operation == "add":
                msgid = conn.add_ext(change.dn, [(k, [v.encode() for v in vals])
                                                 for k, vals in change.attrs.items()])
            elif change.operation == "modify":
                msgid = conn.modify_ext(change.dn, [
                    (FAST_OPS[m.op], m.attr, [v.encode() for v in m.values] or None)
                    for m in change.mods])
            else:
                msgid = conn.delete_ext(change.dn)
        except LOST as exc:
            raise DirectoryError(f"lost the directory connection: {text(exc)}") from exc
        except ldap.LDAPError as exc:
            return None, change, text(exc)
        return msgid, change, None

    def set_password(self, dn: str, password: str) -> str | None:
        """Password Modify extended operation, so slapd hashes it under its own policy."""
        ok = self.conn.extend.standard.modify_password(dn, new_password=password)
        return None if ok else self.refusal()

    def refusal(self) -> str:
        """The server's answer to the last ldap3 operation, as one line."""
        result = self.conn.result or {}
        return f"{result.get('description')}: {result.get('message') or ''}".rstrip(": ")
