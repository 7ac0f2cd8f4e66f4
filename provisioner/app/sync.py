"""One sync: read the source, validate, snapshot the directory, plan, apply.

``prepare`` does everything but writing and returns the plan as data; a dry run
renders it, a real run hands it to ``apply``. Nothing in the write path asks
whether it is a dry run.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from ..adapters import source
from ..adapters.directory import Directory, Failure
from ..core.assemble import assemble
from ..core.model import Roster
from ..core.plan import Change, Plan, Policy, make_plan
from ..core.validate import hasher, validate
from ..settings import Settings


@dataclass(slots=True)
class Prepared:
    roster: Roster
    plan: Plan
    managed: int  # accounts the provisioner manages now
    now: dt.datetime


@dataclass(slots=True)
class Outcome:
    prepared: Prepared
    failures: list[Failure] = field(default_factory=list)
    applied: Counter = field(default_factory=Counter)
    done: list[Change] = field(default_factory=list)  # changes the directory accepted

    @property
    def partial(self) -> bool:
        return bool(self.failures)


def policy_of(settings: Settings) -> Policy:
    life = settings.lifecycle
    return Policy(grace=dt.timedelta(days=life.grace_days), delete=life.delete)


def read_roster(settings: Settings, now: dt.datetime) -> Roster:
    data = source.read(settings)
    return validate(assemble(data, now.date()), hasher(settings.pesel_key()), now.date())


def prepare(settings: Settings, directory: Directory, now: dt.datetime | None = None) -> Prepared:
    """Everything up to the plan; writes nothing."""
    now = now or dt.datetime.now(dt.UTC)
    roster = read_roster(settings, now)
    snapshot = directory.snapshot()
    plan = make_plan(roster, snapshot, directory.layout, now, policy_of(settings))
    return Prepared(roster, plan, len(snapshot.accounts), now)


def apply(prepared: Prepared, directory: Directory) -> Outcome:
    """Write the plan; refused entries are recorded, the rest goes on."""
    outcome = Outcome(prepared)

    def done(change, error):
        if error is None:
            outcome.applied[f"{change.kind}.{change.action}"] += 1
            outcome.done.append(change)

    outcome.failures = directory.apply(prepared.plan.changes, done)
    return outcome
