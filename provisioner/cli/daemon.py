"""``provisioner daemon``: run syncs on a schedule and on request until stopped."""

from __future__ import annotations

from .. import settings as settings_mod


def register(verbs) -> None:
    p = verbs.add_parser(
        "daemon", help="run syncs on a schedule, on SIGUSR1 and on `sync --now`",
        description="Run syncs on the [daemon] schedule until SIGTERM. SIGUSR1 or"
        " `provisioner sync --now` runs one now; SIGHUP reloads the configuration.")
    p.add_argument("--log-format", choices=("plain", "json"), default="plain",
                   help="stderr log lines: plain (journald adds timestamps) or one JSON object"
                   " each (default plain)")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..daemon import logs
    from ..daemon.service import Daemon  # APScheduler and prometheus only for this verb

    logs.setup(args.log_format)
    settings = settings_mod.load(args.config)
    return Daemon(settings, args.config).serve()
