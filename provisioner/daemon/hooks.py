"""Optional hooks into the notices feature, which may not be installed yet.

``provisioner.app.notices`` is written separately; until it exists (or lacks these
functions) the hooks do nothing and the outbox gauge reads 0.
"""

from __future__ import annotations

import logging

from ..settings import Settings
from .logs import event


def _notices():
    try:
        from ..app import notices
    except ImportError:
        return None
    return notices


def send_outbox(settings: Settings) -> None:
    """Send queued notices after a run; a mail problem never fails the daemon."""
    notices = _notices()
    if notices is None or not hasattr(notices, "send_outbox"):
        return
    try:
        notices.send_outbox(settings)
    except Exception as exc:  # noqa: BLE001 - the next run tries again
        event("outbox_failed", f"sending notices failed: {exc}", logging.WARNING)


def outbox_size(settings: Settings) -> int:
    notices = _notices()
    size = getattr(notices, "outbox_size", None)
    if size is None:
        return 0
    try:
        return int(size(settings))
    except Exception:  # noqa: BLE001 - a metric is not worth a failed run
        return 0
