"""Plans and run outcomes as text, JSON or LDIF for people and machines."""

from __future__ import annotations

import base64
import json
from collections import Counter

from ..core.model import Problem
from ..core.plan import Change
from .sync import Outcome, Prepared

SIGN = {"create": "+", "delete": "-", "disable": "!", "enable": "^", "relink": "~", "update": "~"}


def counts_dict(counts: Counter) -> dict[str, int]:
    people = {a: counts.get(f"person.{a}", 0)
              for a in ("create", "update", "relink", "enable", "disable", "delete")}
    groups = sum(v for k, v in counts.items() if k.startswith("group."))
    return {"created": people["create"], "updated": people["update"] + people["relink"],
            "enabled": people["enable"], "disabled": people["disable"],
            "deleted": people["delete"], "groups_changed": groups,
            "ous_created": counts.get("ou.create", 0)}


def problem_dict(p: Problem) -> dict:
    return {"table": p.table, "id": p.id, "code": p.code, "reason": p.reason, "field": p.field,
            "fix_by": p.fixer, "first_name": p.first_name, "last_name": p.last_name,
            "pesel": p.pesel_masked, "rejected": p.rejected,
            "classes": [f"{pl.rspo} {pl.class_code}" for pl in p.places]}


def change_line(c: Change) -> str:
    if c.attrs is not None:
        detail = ", ".join(c.attrs.get("employeeType", ())) or c.kind
        if c.kind == "group":
            detail = f"{len(c.attrs.get('member', ()))} members"
        return f"{SIGN['create']} create {c.kind} {c.dn} ({detail})"
    if not c.mods:
        return f"{SIGN['delete']} delete {c.kind} {c.dn}"
    parts = []
    for m in c.mods:
        n = f" {len(m.values)}" if m.attr == "member" else ""
        parts.append(f"{m.op} {m.attr}{n}")
    return f"{SIGN.get(c.action, '~')} {c.action} {c.kind} {c.dn}: {', '.join(parts)}"


def rejection_lines(problems) -> list[str]:
    rejected = [p for p in problems if p.rejected]
    lines = [f"Rejected records: {len(rejected)}"]
    for p in rejected:
        lines.append(f"  {p.table}#{p.id} {p.first_name} {p.last_name}: {p.code} ({p.reason})")
    return lines


def withheld_lines(prepared: Prepared) -> list[str]:
    if not prepared.withheld:
        return []
    lines = [f"Withheld by the safety guard: {prepared.guard_reason}."
             " These accounts were left as they are; run with --force to apply:"]
    lines += [f"  {c.action} {c.dn}" for c in prepared.withheld]
    return lines


def plan_text(prepared: Prepared) -> str:
    plan = prepared.plan
    c = counts_dict(plan.counts())
    lines = [f"Plan: {c['created']} to create, {c['updated']} to update, {c['enabled']} to enable,"
             f" {c['disabled']} to disable, {c['deleted']} to delete;"
             f" {c['groups_changed']} group changes"]
    lines += [change_line(ch) for ch in plan.changes]
    lines += withheld_lines(prepared)
    lines += [f"warning: {w}" for w in plan.conflicts]
    lines += rejection_lines(prepared.roster.problems)
    return "\n".join(lines)


def change_dict(c: Change) -> dict:
    out = {"action": c.action, "kind": c.kind, "dn": c.dn, "operation": c.operation}
    if c.attrs is not None:
        out["attributes"] = {k: list(v) for k, v in c.attrs.items()}
    if c.mods:
        out["modifications"] = [{"op": m.op, "attribute": m.attr, "values": list(m.values)}
                                for m in c.mods]
    return out


def plan_json(prepared: Prepared) -> str:
    return json.dumps({
        "counts": counts_dict(prepared.plan.counts()),
        "changes": [change_dict(c) for c in prepared.plan.changes],
        "conflicts": prepared.plan.conflicts,
        "rejected": [problem_dict(p) for p in prepared.roster.rejected],
        "withheld": withheld_dict(prepared),
    }, ensure_ascii=False, indent=2)


def withheld_dict(prepared: Prepared) -> dict:
    return {"reason": prepared.guard_reason,
            "changes": [{"action": c.action, "dn": c.dn} for c in prepared.withheld]}


def ldif_line(attr: str, value: str) -> str:
    safe = value.isascii() and value == value.strip() and not value.startswith((":", "<")) \
        and "\n" not in value
    if safe:
        return f"{attr}: {value}"
    return f"{attr}:: {base64.b64encode(value.encode()).decode()}"


def plan_ldif(prepared: Prepared) -> str:
    blocks = []
    for c in prepared.plan.changes:
        lines = [ldif_line("dn", c.dn)]
        if c.attrs is not None:
            lines.append("changetype: add")
            lines += [ldif_line(k, v) for k, vals in c.attrs.items() for v in vals]
        elif c.mods:
            lines.append("changetype: modify")
            for m in c.mods:
                lines.append(f"{m.op}: {m.attr}")
                lines += [ldif_line(m.attr, v) for v in m.values]
                lines.append("-")
        else:
            lines.append("changetype: delete")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def render_plan(prepared: Prepared, fmt: str) -> str:
    return {"text": plan_text, "json": plan_json, "ldif": plan_ldif}[fmt](prepared)


def summary_dict(outcome: Outcome) -> dict:
    prepared = outcome.prepared
    return {
        "outcome": outcome.status,
        "counts": counts_dict(outcome.applied),
        "planned": counts_dict(prepared.plan.counts()),
        "failed": [{"dn": f.change.dn, "action": f.change.action, "error": f.message}
                   for f in outcome.failures],
        "rejected": [problem_dict(p) for p in prepared.roster.rejected],
        "conflicts": prepared.plan.conflicts,
        "withheld": withheld_dict(prepared),
    }


def summary_text(outcome: Outcome) -> str:
    c = counts_dict(outcome.applied)
    lines = [f"Sync {outcome.status}: {c['created']} created,"
             f" {c['updated']} updated, {c['enabled']} enabled, {c['disabled']} disabled,"
             f" {c['deleted']} deleted; {c['groups_changed']} group changes"]
    for f in outcome.failures:
        lines.append(f"failed: {f.change.action} {f.change.dn}: {f.message}")
    lines += withheld_lines(outcome.prepared)
    lines += [f"warning: {w}" for w in outcome.prepared.plan.conflicts]
    lines += rejection_lines(outcome.prepared.roster.problems)
    return "\n".join(lines)
