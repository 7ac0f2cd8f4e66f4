"""The scheduled runs: APScheduler 3 with a cron or interval trigger from the settings.

The job only *requests* a run from the worker, so a slow sync never makes APScheduler
skip or stack jobs; the worker's coalescing decides what actually runs.
"""

from __future__ import annotations

from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from ..settings import DaemonSettings

JOB_ID = "sync"


def trigger(settings: DaemonSettings) -> BaseTrigger:
    if settings.cron:
        return CronTrigger.from_crontab(settings.cron)
    return IntervalTrigger(seconds=settings.interval)


def describe(settings: DaemonSettings) -> str:
    return f"cron {settings.cron!r}" if settings.cron else f"every {settings.interval:g} s"


class Schedule:
    def __init__(self, settings: DaemonSettings, fire: Callable[[], None]) -> None:
        self.current = describe(settings)
        self._scheduler = BackgroundScheduler()
        # coalesce: after a suspend or a clock jump, one catch-up request, not a burst.
        self._scheduler.add_job(fire, trigger(settings), id=JOB_ID, coalesce=True,
                                max_instances=1, misfire_grace_time=None)

    def start(self) -> None:
        self._scheduler.start()

    def change(self, settings: DaemonSettings) -> bool:
        """Switch to the schedule in ``settings``; True if it differed."""
        if describe(settings) == self.current:
            return False
        self._scheduler.reschedule_job(JOB_ID, trigger=trigger(settings))
        self.current = describe(settings)
        return True

    def stop(self) -> None:
        self._scheduler.shutdown(wait=False)
