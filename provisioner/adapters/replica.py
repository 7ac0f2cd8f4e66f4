"""A copy of the directory kept current between runs with Content Synchronization (RFC 4533).

The daemon keeps one ``Replica`` for its lifetime. Each run asks slapd (its
``syncprov`` overlay, ``ldif/30-overlays.ldif``) for the entries changed since the
cookie of the run before, and for the ones deleted since: a run over an unchanged
region reads next to nothing instead of every entry (measured in bench/README.md).
Changes made by hand show up like any other, so drift is still repaired.

After a run that wrote, the next refresh also reads again, by DN, the entries that
run wrote (``wrote``). The first refresh, and any after an error, a run that failed
while writing or one that wrote a third of the entries, reads everything with a
plain paged search. A server without ``syncprov`` ignores the control (it is sent
non-critical) and gives no cookie, so every refresh there is such a full read:
slower, never wrong.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from uuid import UUID

import ldap
from ldap.controls import RequestControl, ResponseControl
from ldap.syncrepl import SyncDoneControl, SyncInfoMessage, SyncRequestControl

from ..core.dn import key as dnkey
from ..core.mapping import Layout
from ..core.snapshot import ACCOUNT_ATTRS, GROUP_ATTRS, Account, Group, Snapshot
from .values import decode

ATTRS = sorted(set(ACCOUNT_ATTRS) | set(GROUP_ATTRS))
FULL_ATTRS = [*ATTRS, "entryUUID"]  # a plain search has no Sync State control to give it
# Read for groups only; dropped from accounts, whose planner never looks at them.
GROUP_ONLY = ("member", "description", "objectclass")
# Values that many accounts hold alike (roles, first names, surnames): the replica keeps
# one tuple for all, ~80 MB less for a region's 250 000 accounts (bench/README.md).
SHARED = ("employeetype", "givenname", "sn")
PEOPLE_OU, GROUPS_OU, ACCOUNT, GROUP, OTHER = range(5)
# The entries a run wrote are read again by DN at the next refresh, unless they are
# more than this share of all entries (and more than REREAD_FLOOR): a base search costs
# ~3x what an entry of a full paged read does (140 µs against 45 µs at 100 000 pupils),
# so after a first sync, say, the next refresh reads everything instead.
REREAD_SHARE, REREAD_FLOOR = 1 / 3, 1000
PRESENT, ADD, MODIFY, DELETE = range(4)  # syncStateValue's state


class SyncState(ResponseControl):
    """The Sync State control on each entry, decoded by ``sync_state`` (below)."""

    controlType = "1.3.6.1.4.1.4203.1.9.1.2"

    def decodeControlValue(self, encodedControlValue: bytes) -> None:
        self.state, self.uuid = sync_state(encodedControlValue)


# The response controls decoded on a refresh; any other is dropped by python-ldap.
CONTROLS = {SyncState.controlType: SyncState, SyncDoneControl.controlType: SyncDoneControl}


def sync_state(value: bytes) -> tuple[int, bytes]:
    """(state, entryUUID) of a syncStateValue: SEQUENCE { ENUMERATED, OCTET STRING, cookie }.

    Parsed here rather than by python-ldap's pyasn1 class, which takes ~190 µs per
    entry: 40 s to read a region's 200 000 entries. A test holds the two equal.
    """
    pos = content_start(value, 0, 0x30)
    state_at = content_start(value, pos, 0x0A)
    uuid_at = content_start(value, state_at + value[state_at - 1], 0x04)
    return (int.from_bytes(value[state_at:uuid_at - 2], "big"),
            value[uuid_at:uuid_at + value[uuid_at - 1]])


def content_start(buf: bytes, pos: int, tag: int) -> int:
    """Where the content of the BER element at ``pos`` starts; it must carry ``tag``
    and, but for the outer SEQUENCE, a short-form length (all syncStateValue's are)."""
    if buf[pos] != tag:
        raise ValueError(f"syncStateValue: tag {buf[pos]:#x} where {tag:#x} was expected")
    first = buf[pos + 1]
    if first < 0x80:
        return pos + 2
    if tag != 0x30:
        raise ValueError("syncStateValue: unexpected long-form length")
    return pos + 2 + (first & 0x7F)


class Replica:
    """Every entry under the base DN that the planner needs, by entryUUID."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.cookie: str | None = None
        self.full_at: float | None = None  # time.monotonic() of the last full read
        self.records: dict[bytes | str, tuple[int, Account | Group | None, tuple[str, ...]]] = {}
        self.shared: dict[tuple[str, ...], tuple[str, ...]] = {}  # see SHARED
        self.stale: dict[str, str] = {}  # DNs written since the cookie, by key: see ``wrote``
        people, groups = dnkey(layout.people_dn), dnkey(layout.groups_dn)
        self._keys = people, groups, "," + people, "," + groups

    def refresh(self, conn: ldap.ldapobject.LDAPObject,
                everything: Callable[[], Iterable[tuple[str, dict]]],
                entries: Callable[[Iterable[str]], Iterable[tuple[str, dict]]]) -> int:
        """Bring the copy up to date; returns how many entries were read.

        ``everything()`` and ``entries(dns)`` (by DN) read with ``FULL_ATTRS``.
        Without a cookie (the first time, after ``forget``) it reads ``everything()``
        (a plain paged search with ``FULL_ATTRS``), having first asked slapd for a
        cookie: a sync refresh sends nothing newer than slapd's contextCSN, which can
        stay behind the last of many concurrent writes, and a plain search has no
        such bound. Anything changed after that cookie is sent again next time.

        With a cookie it reads what changed since, then, by DN, the entries this
        process wrote (``wrote``).

        A refresh that fails part-way leaves the copy empty and without a cookie, so
        the next one reads everything again rather than trust half an update.
        """
        try:
            if self.cookie is not None:
                return self.changes(conn, "(objectClass=*)") + self.reread(entries)
            self.records, self.full_at, self.shared = {}, time.monotonic(), {}
            self.changes(conn, "(!(objectClass=*))")  # no entries: only the cookie
            for dn, attrs in everything():
                self.keep(dn, attrs)
            return len(self.records)
        except BaseException:
            self.forget()
            raise

    def forget(self) -> None:
        """Drop everything: the next refresh reads the whole directory."""
        self.cookie, self.records, self.full_at, self.shared = None, {}, None, {}
        self.stale = {}

    def wrote(self, dns: Collection[str]) -> None:
        """Entries this process wrote (or tried to) since the last refresh.

        A refresh from the cookie may not send them: slapd's contextCSN can stay
        behind the last of many pipelined writes (one that ends before an earlier one
        enters it only with the next write), and a refresh sends nothing newer than
        contextCSN. So the next refresh reads them again by DN, and the cookie stays
        where it was: whatever else changed meanwhile is sent once contextCSN has
        caught up. Past ``REREAD_SHARE`` of the entries, the next one reads everything.
        """
        if self.cookie is None:
            return
        if len(self.stale) + len(dns) > max(REREAD_FLOOR, len(self.records) * REREAD_SHARE):
            self.forget()
        else:
            self.stale.update((dnkey(dn), dn) for dn in dns)

    def reread(self, entries: Callable[[Iterable[str]], Iterable[tuple[str, dict]]]) -> int:
        """The entries of ``wrote`` that the refresh did not send, read again by DN;
        the ones gone are dropped.

        The old records go first, found by DN: an entry deleted, or deleted and made
        again by hand, was held under another entryUUID.
        """
        if not self.stale:
            return 0
        stale = self.stale
        for uuid in [u for u, (_, item, _) in self.records.items()
                     if item is not None and dnkey(item.dn) in stale]:
            del self.records[uuid]
        for dn, attrs in entries(stale.values()):
            self.keep(dn, attrs)
        self.stale = {}
        return len(stale)

    def keep(self, dn: str, attrs: dict) -> None:
        """An entry read by a plain search, which gives its entryUUID as an attribute."""
        uuid = UUID(attrs.pop("entryuuid")[0]).bytes  # as the Sync State control has it
        self.records[uuid] = self.record(dn, attrs)

    def changes(self, conn: ldap.ldapobject.LDAPObject, flt: str) -> int:
        """One refreshOnly search from the cookie: changed entries in, deleted ones out."""
        request: RequestControl = SyncRequestControl(criticality=False, cookie=self.cookie,
                                                     mode="refreshOnly")
        msgid = conn.search_ext(self.layout.base_dn, ldap.SCOPE_SUBTREE, flt, ATTRS,
                                serverctrls=[request])
        present: set[bytes | str] = set()
        sent, refresh_deletes, cookie = 0, False, None
        while True:
            kind, msgs, _, controls, _, _ = conn.result4(
                msgid, ldap.MSG_ONE, add_ctrls=1, add_intermediates=1, resp_ctrl_classes=CONTROLS)
            if kind == ldap.RES_SEARCH_RESULT:
                for control in controls:
                    if isinstance(control, SyncDoneControl):
                        refresh_deletes, cookie = control.refreshDeletes, control.cookie
                break
            if kind == ldap.RES_INTERMEDIATE:
                for name, value, _ in msgs:
                    if name == SyncInfoMessage.responseName:
                        self.info(SyncInfoMessage(value), present)
                continue
            for dn, raw, entry_controls in msgs:
                if dn is None:  # a search reference
                    continue
                state = next((c for c in entry_controls if isinstance(c, SyncState)), None)
                uuid = state.uuid if state is not None else dnkey(dn)
                if state is not None and state.state == DELETE:
                    self.records.pop(uuid, None)
                    continue
                present.add(uuid)
                if state is None or state.state != PRESENT:
                    sent += 1
                    self.records[uuid] = self.record(dn, decode(raw))
                    if self.stale:  # sent as it is now: no need to read it again
                        self.stale.pop(dnkey(dn), None)
        if not refresh_deletes:
            # A present phase (or no syncprov): whatever the server did not list is gone.
            self.records = {u: r for u, r in self.records.items() if u in present}
        if cookie is not None:  # slapd sends none when nothing changed: the old one holds
            self.cookie = cookie.decode() if isinstance(cookie, bytes) else cookie
        return sent

    def info(self, message: SyncInfoMessage, present: set[bytes | str]) -> None:
        """Sync Info messages: a batch of deleted or present UUIDs, or phase ends."""
        ids = message.syncIdSet
        if ids is None:
            return
        uuids = [UUID(u).bytes for u in ids["syncUUIDs"]]  # python-ldap gives them as text
        if ids["refreshDeletes"]:
            for uuid in uuids:
                self.records.pop(uuid, None)
        else:
            present.update(uuids)

    def record(self, dn: str, attrs: dict) -> tuple[int, Account | Group | None, tuple[str, ...]]:
        """What one entry gives the snapshot: its role, its object, its logins."""
        people, groups, under_people, under_groups = self._keys
        key = dnkey(dn)
        uids = attrs.get("uid", ())
        logins = tuple(v.lower() for v in uids)
        logins = uids if logins == uids else logins  # most are lower-case already: one tuple
        if key == people:
            return PEOPLE_OU, None, logins
        if key == groups:
            return GROUPS_OU, None, logins
        if key.endswith(under_people) and "provisionerpeselhmac" in attrs:
            for name in GROUP_ONLY:
                attrs.pop(name, None)
            self.share(attrs)
            return ACCOUNT, Account(dn, attrs), logins
        if key.endswith(under_groups) and is_group(attrs) \
                and "," not in key[:-len(under_groups)].replace("\\,", ""):  # a child, not deeper
            return GROUP, group_of(dn, attrs), logins
        return OTHER, None, logins

    def share(self, attrs: dict[str, tuple[str, ...]]) -> None:
        """Values held alike by many accounts, or twice in one, stored once."""
        shared = self.shared
        for name in SHARED:
            values = attrs.get(name)
            if values is not None:
                attrs[name] = shared.setdefault(values, values)
        cn = attrs.get("cn")
        if cn is not None and attrs.get("displayname") == cn:
            attrs["displayname"] = cn

    def snapshot(self) -> Snapshot:
        snap = Snapshot()
        accounts, groups, taken = snap.accounts, snap.groups, snap.taken_logins
        for kind, item, logins in self.records.values():
            if logins:
                taken.update(logins)
            if kind == ACCOUNT:
                accounts.append(item)
            elif kind == GROUP:
                groups[item.cn.lower()] = item
            elif kind == PEOPLE_OU:
                snap.people_ou = True
            elif kind == GROUPS_OU:
                snap.groups_ou = True
        return snap


def is_group(attrs: dict) -> bool:
    return any(c.lower() == "groupofnames" for c in attrs.get("objectclass", ()))


def group_of(dn: str, attrs: dict) -> Group:
    classes = {c.lower() for c in attrs.get("objectclass", ())}
    return Group(dn, attrs.get("cn", ("",))[0], "provisionergroup" in classes,
                 attrs.get("member", ()), (attrs.get("description") or (None,))[0])

