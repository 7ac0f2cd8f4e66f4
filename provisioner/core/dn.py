"""Distinguished names and filters built from source data, escaped (RFC 4514, RFC 4515)."""

from __future__ import annotations

import re

RDN_SPECIAL = set(',+"\\<>;=')
NEEDS_ESCAPE = re.compile(r'[,+"\\<>;=\0]|^[# ]| $')


def escape_rdn(value: str) -> str:
    """Escape an attribute value for use in an RDN."""
    if NEEDS_ESCAPE.search(value) is None:  # logins and group names: nothing to escape
        return value
    out = []
    for i, ch in enumerate(value):
        if ch in RDN_SPECIAL or (ch == "#" and i == 0) or (ch == " " and i in (0, len(value) - 1)):
            out.append("\\" + ch)
        elif ch == "\0":
            out.append("\\00")
        else:
            out.append(ch)
    return "".join(out)


def escape_filter(value: str) -> str:
    """Escape an assertion value for use in a search filter."""
    table = {"\\": r"\5c", "*": r"\2a", "(": r"\28", ")": r"\29", "\0": r"\00"}
    return "".join(table.get(ch, ch) for ch in value)


def key(dn: str) -> str:
    """A comparison form of a DN: case and spaces around separators ignored.

    Good enough for DNs this tool writes (their RDN values never hold escaped
    separators' neighbours that differ only in spacing).
    """
    lowered = dn.lower()
    if " " not in lowered:  # the usual case, and the hot one: member values of big groups
        return lowered
    return ",".join("=".join(s.strip() for s in part.split("=", 1)) for part in lowered.split(","))
