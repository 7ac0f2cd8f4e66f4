"""The ``provisioner`` command: one module per verb, errors as one line."""

from __future__ import annotations

import argparse
import sys

from ..errors import ProvisionerError

# Each verb module imports its heavy libraries (SQLAlchemy, ldap3, uvicorn, APScheduler)
# inside its run(), so starting one verb never pays for the others.
from . import daemon, demo, history, notices, report, status, sync, web

VERBS = (sync, report, status, history, demo, daemon, notices, web)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="provisioner",
        description="Keep a school LDAP directory in step with UONET.",
    )
    top.add_argument("--config", metavar="FILE",
                     help="TOML settings file (default: $PROVISIONER_CONFIG)")
    verbs = top.add_subparsers(dest="verb", required=True, metavar="COMMAND")
    for verb in VERBS:
        verb.register(verbs)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except ProvisionerError as exc:
        print(f"provisioner: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
