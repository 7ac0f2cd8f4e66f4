"""A whole sync run as the CLI and the daemon start it: lock, plan, guard, apply, journal."""

from __future__ import annotations

import datetime as dt

from ..adapters.directory import Directory
from ..settings import Settings
from .sync import Outcome, apply, prepare


def sync_once(settings: Settings, *, force: bool = False, now: dt.datetime | None = None) -> Outcome:
    """Run one sync and return its outcome (``outcome.exit_code`` tells how it went).

    Raises a ``ProvisionerError`` subclass when nothing could be applied (bad config,
    source or directory unreadable, another sync holding the lock).
    """
    with Directory(settings) as directory:
        return apply(prepare(settings, directory, now), directory)
