"""Access requests handled off the request path, so the page answers the same way and
in the same time whether or not an account matched (the look-up and the SMTP
conversation happen here, after the answer)."""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from collections.abc import Callable

from ..app import access
from ..settings import Settings

log = logging.getLogger("provisioner.web")


class Requests:
    def __init__(self, settings: Settings, clock: Callable[[], dt.datetime], size: int = 1000) -> None:
        self.settings, self.clock = settings, clock
        self.queue: queue.Queue[tuple[str, str] | None] = queue.Queue(maxsize=size)
        self.thread = threading.Thread(target=self.run, name="access-requests", daemon=True)
        self.idle = threading.Event()
        self.idle.set()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=30)

    def submit(self, identifier: str, language: str) -> None:
        """Hand over a request; when the queue is full it is dropped (same answer anyway)."""
        try:
            self.idle.clear()
            self.queue.put_nowait((identifier, language))
        except queue.Full:
            log.warning("access request queue full; request dropped")

    def run(self) -> None:
        while (item := self.queue.get()) is not None:
            try:
                access.request_access(self.settings, item[0], item[1], self.clock())
            except Exception as exc:  # noqa: BLE001 - one failure must not stop the worker
                # Never log the identifier: it may be a PESEL.
                log.warning("access request failed: %s", type(exc).__name__)
            finally:
                if self.queue.empty():
                    self.idle.set()
