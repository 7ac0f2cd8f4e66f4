"""A dictionary that plays a directory for planner unit tests (no server, no I/O).

It applies a plan's changes to entries and builds the Snapshot the real adapter
would read, so a test can check that a second plan is empty.
"""

from provisioner.core import dn as dnmod
from provisioner.core.mapping import Layout
from provisioner.core.snapshot import Account, Group, Snapshot


class MemDir:
    def __init__(self, layout: Layout):
        self.layout = layout
        self.entries: dict[str, dict[str, tuple[str, ...]]] = {}

    def apply(self, plan):
        for c in plan.changes:
            k = dnmod.key(c.dn)
            if c.operation == "add":
                assert k not in self.entries, f"add of existing {c.dn}"
                self.entries[k] = {a.lower(): tuple(v) for a, v in c.attrs.items()} | {"_dn": (c.dn,)}
            elif c.operation == "delete":
                del self.entries[k]
            else:
                e = self.entries[k]
                for m in c.mods:
                    a = m.attr.lower()
                    if m.op == "replace":
                        e[a] = tuple(m.values)
                    elif m.op == "add":
                        e[a] = tuple(e.get(a, ())) + tuple(m.values)
                    elif m.values:
                        e[a] = tuple(v for v in e.get(a, ()) if v not in m.values)
                    else:
                        e.pop(a, None)
                    if a == "member":
                        assert e[a], "groupOfNames must keep a member"
        return self

    def add_raw(self, dn, attrs):
        self.entries[dnmod.key(dn)] = {a.lower(): tuple(v) for a, v in attrs.items()} | {"_dn": (dn,)}

    def snapshot(self) -> Snapshot:
        snap = Snapshot(people_ou=dnmod.key(self.layout.people_dn) in self.entries,
                        groups_ou=dnmod.key(self.layout.groups_dn) in self.entries)
        for e in self.entries.values():
            classes = {c.lower() for c in e.get("objectclass", ())}
            dn = e["_dn"][0]
            if "provisioneraccount" in classes:
                snap.accounts.append(Account(dn, {k: v for k, v in e.items() if k != "_dn"}))
            if "uid" in e:
                snap.taken_logins.update(u.lower() for u in e["uid"])
            if "groupofnames" in classes:
                cn = e["cn"][0]
                snap.groups[cn.lower()] = Group(dn, cn, "provisionergroup" in classes,
                                                e.get("member", ()), (e.get("description") or (None,))[0])
        return snap

    def by_uid(self, uid):
        return next(e for e in self.entries.values() if e.get("uid") == (uid,))
