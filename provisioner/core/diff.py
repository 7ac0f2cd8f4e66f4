"""A pure diff of two entries' attributes, in the manner of python-ldap's modlist.

Attribute names are case-insensitive; values are compared as sets; only the
attributes the caller manages are looked at, so whatever else an entry holds
(a password, memberOf, a note an admin added) is never touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Values = tuple[str, ...]
Attrs = Mapping[str, Iterable[str]]


@dataclass(frozen=True, slots=True)
class Mod:
    op: Literal["add", "delete", "replace"]
    attr: str
    values: Values = ()


def lower_keys(attrs: Attrs) -> dict[str, Values]:
    return {k.lower(): tuple(v) for k, v in attrs.items()}


def diff(old: Attrs, new: Attrs, managed: Iterable[str]) -> tuple[Mod, ...]:
    """Modifications turning ``old`` into ``new`` for the ``managed`` attributes."""
    pairs, old_l, new_l = managed_pairs(managed), lower_keys(old), lower_keys(new)
    return diff_known(old_l, {name: new_l.get(key, ()) for name, key in pairs}, pairs)


def managed_pairs(managed: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """(name as written, lower-case name) for each managed attribute: made once, not per entry."""
    return tuple((name, name.lower()) for name in managed)


def diff_known(old: Mapping[str, Values], new: Mapping[str, Values],
               pairs: tuple[tuple[str, str], ...]) -> tuple[Mod, ...]:
    """The planner's inner loop, once per account: ``old`` is keyed by the lower-case
    names, ``new`` by the names exactly as written in ``pairs``; nothing is re-keyed."""
    mods = []
    for name, key in pairs:
        before, after = old.get(key, ()), new.get(name, ())
        if before == after or set(before) == set(after):
            continue
        if not after:
            mods.append(Mod("delete", name))
        elif not before:
            mods.append(Mod("add", name, tuple(sorted(after))))
        else:
            mods.append(Mod("replace", name, tuple(sorted(after))))
    return tuple(mods)
