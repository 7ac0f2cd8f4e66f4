"""``provisioner notices``: send the outbox, show it, retry a failed notice."""

from __future__ import annotations

import json

from .. import settings as settings_mod


def api():
    from ..app import notices  # SQLAlchemy and smtplib only when a notices verb runs

    return notices


def register(verbs) -> None:
    p = verbs.add_parser("notices", help="activation e-mails: send, status, retry")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("send", help="send the notices that are due").set_defaults(run=send)
    status = sub.add_parser("status", help="counts and the last failures")
    status.add_argument("--json", action="store_true")
    status.set_defaults(run=show)
    retry = sub.add_parser("retry", help="queue a failed notice again")
    retry.add_argument("id", type=int)
    retry.set_defaults(run=retry_one)


def send(args) -> int:
    report = api().send_outbox(settings_mod.load(args.config))
    print(f"sent {report.sent}, deferred {report.deferred}, failed {report.failed}"
          + (f", interrupted earlier {report.abandoned}" if report.abandoned else ""))
    for line in report.errors:
        print(f"  {line}")
    return 1 if report.failed or report.deferred else 0


def show(args) -> int:
    summary = api().summary(settings_mod.load(args.config))
    if args.json:
        print(json.dumps(summary, default=str, indent=2))
        return 0
    print(f"queued {summary['queued']}, sending {summary['sending']}, sent {summary['sent']},"
          f" failed {summary['failed']}")
    for f in summary["last_failures"]:
        print(f"  #{f['id']} {f['kind']} to {f['login']} after {f['attempts']} attempt(s):"
              f" {f['last_error']}")
    return 0


def retry_one(args) -> int:
    if api().retry(settings_mod.load(args.config), args.id):
        print(f"notice {args.id} queued again")
        return 0
    print(f"notice {args.id} is not a failed notice")
    return 1
