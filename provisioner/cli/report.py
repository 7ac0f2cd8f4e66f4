"""``provisioner report``: what the secretariat and class teachers should fix in UONET."""

from __future__ import annotations

import datetime as dt

from .. import settings as settings_mod
from ..app.report import RENDER, rows


def register(verbs) -> None:
    p = verbs.add_parser("report", help="data-quality report of the UONET source, per class")
    p.add_argument("--format", choices=tuple(RENDER), default="text")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..adapters import source
    from ..core.validate import validate

    settings = settings_mod.load(args.config)
    today = dt.date.today()
    # The report needs no key: problems are found before hashing, so a throwaway one does.
    roster = validate(source.read(settings, today), lambda p: "", today)
    print(RENDER[args.format](rows(roster.problems)), end="" if args.format == "csv" else "\n")
    return 0
