"""``provisioner history LOGIN``: everything the journal holds about one account."""

from __future__ import annotations

import json

from .. import settings as settings_mod


def register(verbs) -> None:
    p = verbs.add_parser("history", help="show what happened to one account")
    p.add_argument("login")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def describe(row: dict) -> str:
    new, old = json.loads(row["new"] or "{}"), json.loads(row["old"] or "{}")
    parts = []
    for attr, after in new.items():
        after = after["values"] if isinstance(after, dict) else after
        before = old.get(attr)
        parts.append(f"{attr}: {before} -> {after}" if before else f"{attr}: {after}")
    error = f" REFUSED: {row['error']}" if row["error"] else ""
    return f"{row['at']:%Y-%m-%d %H:%M:%S} run #{row['run_id']} {row['action']}{error}\n    " + \
        "\n    ".join(parts)


def run(args) -> int:
    from ..adapters.state import State

    settings = settings_mod.load(args.config)
    with State(settings.state.url) as state:
        rows = state.history(args.login)
    if args.json:
        print(json.dumps(rows, default=str, indent=2, ensure_ascii=False))
    elif not rows:
        print(f"No journal entry for {args.login}.")
        return 1
    else:
        print("\n".join(describe(r) for r in rows))
    return 0
