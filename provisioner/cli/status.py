"""``provisioner status``: the last runs, from the journal."""

from __future__ import annotations

import json

from .. import settings as settings_mod


def register(verbs) -> None:
    p = verbs.add_parser("status", help="show the last sync runs")
    p.add_argument("-n", type=int, default=10, help="how many runs (default 10)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def describe(run: dict) -> str:
    counts = json.loads(run["counts"] or "{}")
    took = ""
    if run["finished_at"]:
        took = f" in {(run['finished_at'] - run['started_at']).total_seconds():.1f}s"
    shown = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
    line = (f"#{run['id']} {run['started_at']:%Y-%m-%d %H:%M:%S} {run['outcome']}{took}"
            f"{' (forced)' if run['forced'] else ''}: {shown or 'no changes'}")
    return line + (f"\n    error: {run['error']}" if run["error"] else "")


def run(args) -> int:
    from ..adapters.state import State
    from ..app.notices import outbox_summary

    settings = settings_mod.load(args.config)
    with State(settings.state.url) as state:
        runs, outbox = state.last_runs(args.n), outbox_summary(state)
    if args.json:
        print(json.dumps({"runs": runs, "notices": outbox}, default=str, indent=2))
        return 0
    print("\n".join(describe(r) for r in runs) if runs else "No sync has run yet.")
    print(f"Notices: {outbox['queued']} queued, {outbox['sent']} sent, {outbox['failed']} failed")
    for f in outbox["last_failures"]:
        print(f"  failed #{f['id']} {f['kind']} to {f['login']} after {f['attempts']}"
              f" attempt(s): {f['last_error']}")
    return 0
