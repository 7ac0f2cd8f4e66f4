"""``provisioner demo``: a throwaway slapd and demo data, one sync, its summary."""

from __future__ import annotations


def register(verbs) -> None:
    p = verbs.add_parser("demo", help="run a sync against a throwaway slapd with demo data")
    p.add_argument("--pupils", type=int, default=60, help="pupils to generate (default 60)")
    p.add_argument("--keep", action="store_true", help="keep slapd running until Ctrl-C")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..demo.run import run_demo

    return run_demo(args.pupils, args.keep)
