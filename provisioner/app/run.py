"""A whole sync run as the CLI and the daemon start it: lock, plan, guard, apply, journal."""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import time

from ..adapters.directory import Directory, layout_of
from ..adapters.lock import exclusive
from ..adapters.replica import Replica
from ..adapters.state import State
from ..core.validate import Memo
from ..errors import ProvisionerError
from ..settings import Settings
from . import journal, notices, render
from .notices import utcnow
from .sync import Outcome, apply, prepare

FLUSH_EVERY = 500  # journal rows per insert; a crash loses at most these, never the directory
# The daemon's replica is read in full at least this often (seconds), like a Kubernetes
# informer's resync: whatever an incremental refresh could have missed is found then.
RESYNC = 3600


class Warm:
    """What a long-running process (the daemon) keeps between runs: a replica of the
    directory and the source's validation verdicts, so that each run reads and
    validates only what changed since the one before (bench/README.md).

    A replica belongs to one server, account and layout; verdicts to one PESEL key.
    A reload that changes any of them starts afresh (a cookie means nothing to
    another server, an HMAC nothing under another key).
    """

    def __init__(self) -> None:
        self._replica: Replica | None = None
        self._for: tuple | None = None
        self._memo, self._memo_for = Memo(), b""

    def replica(self, settings: Settings) -> Replica:
        layout = layout_of(settings)
        target = (settings.ldap.url, settings.ldap.bind_dn, layout)
        if self._replica is None or self._for != target:
            self._replica, self._for = Replica(layout), target
        full_at = self._replica.full_at
        if full_at is not None and time.monotonic() - full_at > RESYNC:
            self._replica.forget()
        return self._replica

    def memo(self, settings: Settings) -> Memo:
        key = hashlib.sha256(settings.pesel_key()).digest()
        if key != self._memo_for:
            self._memo, self._memo_for = Memo(), key
        return self._memo


def sync_once(settings: Settings, *, force: bool = False, now: dt.datetime | None = None,
              wait: float = 0.0, warm: Warm | None = None) -> Outcome:
    """Run one sync and return its outcome (``outcome.exit_code`` tells how it went).

    Raises a ``ProvisionerError`` subclass when nothing could be applied (bad config,
    source or directory unreadable, another sync holding the lock); the run is
    journaled as failed with that one-line reason.
    """
    try:
        return run_locked(settings, force, now, wait, warm)
    finally:
        gc.unfreeze()  # see sync.collector_paused: the run's objects are collectable again


def run_locked(settings: Settings, force: bool, now: dt.datetime | None, wait: float,
               warm: Warm | None) -> Outcome:
    with exclusive(settings.state.lock_file, wait), State(settings.state.url) as state:
        run_id = state.start_run(utcnow(), forced=force)
        # A run that died may have written accounts without queueing their notices.
        recover = state.close_crashed(run_id, utcnow()) > 0
        buffer: list[dict] = []
        queue: notices.Queue | None = None  # made once the plan is known, before any write

        def record(change, error):
            buffer.append(journal.change_row(change, error, utcnow()))
            if len(buffer) >= FLUSH_EVERY:
                state.record_changes(run_id, buffer)
                buffer.clear()
            if error is None:
                queue.add(change)

        replica, written = None, []
        try:
            with Directory(settings) as directory:
                replica, memo = (warm.replica(settings), warm.memo(settings)) if warm else (None, None)
                prepared = prepare(settings, directory, now, force, replica, memo)
                queue = notices.Queue(settings, state, prepared.snapshot)
                written = None  # not known until apply returns
                outcome = apply(prepared, directory, record)
            written = [c.dn for c in outcome.done] + [f.change.dn for f in outcome.failures]
        except ProvisionerError as exc:
            state.record_changes(run_id, buffer)
            if queue is not None:
                queue.flush()  # the accounts it did write get their notices
            state.finish_run(run_id, utcnow(), "failed", error=str(exc))
            raise
        finally:
            if replica is not None:
                # The next refresh reads again what this run wrote; after a run that
                # failed while writing, however it failed, nobody knows what it wrote:
                # everything. (A refresh that failed has emptied the replica itself.)
                if written is None:
                    replica.forget()
                else:
                    replica.wrote(written)
        state.record_changes(run_id, buffer)
        outcome.queued = queue.missed() if recover else queue.flush()
        state.record_rejections(run_id, map(journal.rejection_row, prepared.roster.rejected))
        summary = render.summary_dict(outcome)
        state.finish_run(run_id, utcnow(), outcome.status, summary["counts"] | {
            "rejected": len(summary["rejected"]), "failed": len(summary["failed"]),
            "withheld": len(prepared.withheld), "notices_queued": outcome.queued})
    return outcome
