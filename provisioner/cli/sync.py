"""``provisioner sync``: plan and apply one sync (``--dry-run`` only prints the plan)."""

from __future__ import annotations

import json

from .. import settings as settings_mod
from ..adapters.directory import Directory
from ..app import render
from ..app.sync import apply, prepare

EXIT_PARTIAL = 1  # some entries were refused by the directory; the rest was applied


def register(verbs) -> None:
    p = verbs.add_parser("sync", help="bring the directory in step with the source")
    p.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    p.add_argument("--format", choices=("text", "json", "ldif"), default="text",
                   help="plan format for --dry-run (default text)")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")
    p.set_defaults(run=run)


def run(args) -> int:
    settings = settings_mod.load(args.config)
    with Directory(settings) as directory:
        prepared = prepare(settings, directory)
        if args.dry_run:
            print(render.render_plan(prepared, args.format))
            return 0
        outcome = apply(prepared, directory)
    if args.json:
        print(json.dumps(render.summary_dict(outcome), ensure_ascii=False, indent=2))
    else:
        print(render.summary_text(outcome))
    return EXIT_PARTIAL if outcome.partial else 0
