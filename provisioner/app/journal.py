"""What a run did, as rows for the state database: no PESEL, HMACs shortened."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence

from ..core.model import Problem
from ..core.plan import Change

MAX_VALUES = 50  # a 100 000-member group is summarised, not copied into the journal
SECRET_ATTRS = {"provisionerpeselhmac"}


def values(attr: str, vals: Sequence[str]) -> Sequence[str]:
    """As journaled: HMACs shortened, long lists summarised, the rest as it is (no copy:
    a region's first sync journals 200 000 entries while slapd wants the CPU)."""
    if attr.lower() in SECRET_ATTRS:
        return [v[:12] + "…" for v in vals]
    if len(vals) > MAX_VALUES:
        return [*vals[:MAX_VALUES], f"… {len(vals) - MAX_VALUES} more"]
    return vals


def login_of(change: Change) -> str | None:
    if change.kind != "person":
        return None
    rdn = change.dn.split(",", 1)[0]
    return rdn.split("=", 1)[1] if rdn.lower().startswith("uid=") else None


def dumps(data: Mapping) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def change_row(change: Change, error: str | None, now: dt.datetime) -> dict:
    if change.attrs is not None:
        new = {k: values(k, v) for k, v in change.attrs.items() if k != "objectClass"}
    else:
        new = {m.attr: {"op": m.op, "values": values(m.attr, m.values)} for m in change.mods}
    old = {k: values(k, v) for k, v in change.old.items()}
    return {"at": now, "action": change.action, "kind": change.kind, "dn": change.dn,
            "login": login_of(change), "old": dumps(old), "new": dumps(new), "error": error}


def rejection_row(problem: Problem) -> dict:
    return {"source_table": problem.table, "record_id": problem.id, "code": problem.code,
            "reason": problem.reason, "field": problem.field, "fixer": problem.fixer}
