"""The single sync worker: runs never overlap, requests coalesce, failures back off.

At most one run is in flight and at most one is waiting. Any request that arrives while
a run is waiting joins it (its ticket gets that run's result), so a burst of SIGUSR1 or
``sync --now`` calls during a run costs exactly one more run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .logs import event


def retry_delay(failures: int, first: float, cap: float) -> float:
    """Seconds before the next try after ``failures`` failed runs in a row: doubling, capped."""
    return min(first * 2 ** max(failures - 1, 0), cap)


@dataclass
class Ticket:
    """One caller's handle on the run that will serve its request."""

    done: threading.Event = field(default_factory=threading.Event)
    result: dict | None = None

    def finish(self, result: dict) -> None:
        self.result = result
        self.done.set()

    def wait(self, timeout: float | None) -> dict | None:
        return self.result if self.done.wait(timeout) else None


@dataclass
class Batch:
    """The next run and everyone waiting for it."""

    reasons: list[str] = field(default_factory=list)
    force: bool = False
    tickets: list[Ticket] = field(default_factory=list)


# The job runs one sync and never raises; its result dict has at least "outcome".
Job = Callable[[str, bool], dict]
CANCELLED = {"outcome": "cancelled", "exit_code": 75, "error": "the daemon is stopping"}


class Worker:
    def __init__(self, job: Job, retry: Callable[[int], float]) -> None:
        self._job = job
        self._retry = retry
        self._cond = threading.Condition()
        self._next: Batch | None = None
        self._stopping = False
        self._running = False
        self._failures = 0
        self._retry_at: float | None = None
        self._thread = threading.Thread(target=self._loop, name="sync-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request(self, reason: str, force: bool = False) -> tuple[Ticket, bool]:
        """Ask for a run; returns the ticket and whether it joined an already waiting run."""
        ticket = Ticket()
        with self._cond:
            if self._stopping:
                ticket.finish(dict(CANCELLED))
                return ticket, False
            joined = self._next is not None
            if self._next is None:
                self._next = Batch()
            self._next.reasons.append(reason)
            self._next.force |= force
            self._next.tickets.append(ticket)
            self._cond.notify()
        return ticket, joined

    @property
    def busy(self) -> bool:
        return self._running

    @property
    def retry_in(self) -> float | None:
        at = self._retry_at
        return None if at is None else max(at - time.monotonic(), 0.0)

    def stop(self, timeout: float) -> bool:
        """Take no more runs, cancel the waiting one, let the one in flight finish.

        True if the worker finished within ``timeout`` seconds.
        """
        with self._cond:
            self._stopping = True
            waiting, self._next = self._next, None
            self._cond.notify_all()
        for ticket in waiting.tickets if waiting else ():
            ticket.finish(dict(CANCELLED))
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _take(self) -> Batch | None:
        with self._cond:
            while self._next is None and not self._stopping:
                wait = None if self._retry_at is None else self._retry_at - time.monotonic()
                if wait is not None and wait <= 0:
                    self._retry_at = None
                    self._next = Batch(reasons=["retry"])
                    break
                self._cond.wait(wait)
            if self._stopping:
                return None
            batch, self._next = self._next, None
            self._running = True
            return batch

    def _loop(self) -> None:
        while (batch := self._take()) is not None:
            result = self._job(",".join(dict.fromkeys(batch.reasons)), batch.force)
            with self._cond:
                self._running = False
                if result.get("outcome") == "failed":
                    self._failures += 1
                    delay = self._retry(self._failures)
                    self._retry_at = time.monotonic() + delay
                    result["retry_in"] = round(delay, 3)
                    event("retry_scheduled", f"run failed, next try in {delay:g} s",
                          failures=self._failures, delay=round(delay, 3))
                else:
                    self._failures, self._retry_at = 0, None
            for ticket in batch.tickets:
                ticket.finish(result)
