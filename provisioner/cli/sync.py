"""``provisioner sync``: plan and apply one sync (``--dry-run`` only prints the plan)."""

from __future__ import annotations

import json

from .. import settings as settings_mod


def register(verbs) -> None:
    p = verbs.add_parser("sync", help="bring the directory in step with the source")
    p.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    p.add_argument("--format", choices=("text", "json", "ldif"), default="text",
                   help="plan format for --dry-run (default text)")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")
    p.add_argument("--force", action="store_true",
                   help="apply disables/deletions over the safety limits, for this run only")
    p.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                   help="wait this long for a running sync to finish (default: do not wait)")
    p.add_argument("--now", action="store_true",
                   help="ask the running daemon for a run now and print its result")
    p.add_argument("--no-send", action="store_true",
                   help="queue the run's notices but leave sending to the daemon or"
                        " 'provisioner notices send'")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..adapters.directory import Directory
    from ..app import render
    from ..app.notices import SendReport, send_outbox
    from ..app.run import sync_once
    from ..app.sync import prepare

    settings = settings_mod.load(args.config)
    if args.now:
        return run_now(settings, args)
    if args.dry_run:
        with Directory(settings) as directory:
            prepared = prepare(settings, directory, force=args.force)
        print(render.render_plan(prepared, args.format))
        return 0
    outcome = sync_once(settings, force=args.force, wait=args.wait)
    # A one-shot sync sends its notices (and any left from before) before it exits; a
    # mail server that is down only delays them: they stay queued for the next send.
    sent = SendReport() if args.no_send else send_outbox(settings)
    summary = render.summary_dict(outcome) | {"notices": {
        "queued": outcome.queued, "sent": sent.sent, "deferred": sent.deferred,
        "failed": sent.failed, "errors": sent.errors}}
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        print(render.summary_text(outcome))
        print(f"Notices: {outcome.queued} queued, {sent.sent} sent, {sent.deferred} to retry,"
              f" {sent.failed} failed" + "".join(f"\n  {e}" for e in sent.errors))
    return outcome.exit_code


def run_now(settings, args) -> int:
    """``--now``: the daemon runs it (never overlapping its own runs); we wait and print."""
    from ..daemon.control import request_run, result_text

    code, result = request_run(settings, force=args.force)
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else result_text(result))
    return code
