"""One sync: read the source, validate, snapshot the directory, plan, guard, apply.

``prepare`` does everything but writing and returns the plan as data; a dry run
renders it, a real run hands it to ``apply``. Nothing in the write path asks
whether it is a dry run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from ..adapters import source
from ..adapters.directory import Directory, Failure
from ..adapters.replica import Replica
from ..core.dn import key as dnkey
from ..core.guard import Limits, refusal
from ..core.model import GUARDIAN, PUPIL, Roster
from ..core.plan import Change, Plan, Policy, make_plan
from ..core.snapshot import Snapshot
from ..core.validate import Memo, hasher, validate
from ..errors import SourceError
from ..settings import Settings

# Exit codes of a run that applied something (documented in the README).
EXIT_OK, EXIT_PARTIAL, EXIT_WITHHELD = 0, 1, 4


@dataclass(slots=True)
class Prepared:
    roster: Roster
    plan: Plan
    managed: int  # accounts the provisioner manages now
    now: dt.datetime
    withheld: list[Change] = field(default_factory=list)  # removals the guard held back
    guard_reason: str | None = None
    snapshot: Snapshot = field(default_factory=Snapshot)  # the directory the plan was made on


@dataclass(slots=True)
class Outcome:
    prepared: Prepared
    failures: list[Failure] = field(default_factory=list)
    applied: Counter = field(default_factory=Counter)
    done: list[Change] = field(default_factory=list)  # changes the directory accepted
    queued: int = 0  # activation notices queued for this run

    @property
    def partial(self) -> bool:
        return bool(self.failures)

    @property
    def status(self) -> str:
        if self.failures:
            return "partial"
        return "withheld" if self.prepared.withheld else "ok"

    @property
    def exit_code(self) -> int:
        return {"ok": EXIT_OK, "partial": EXIT_PARTIAL, "withheld": EXIT_WITHHELD}[self.status]


def policy_of(settings: Settings) -> Policy:
    life = settings.lifecycle
    return Policy(grace=dt.timedelta(days=life.grace_days), delete=life.delete)


def limits_of(settings: Settings) -> Limits:
    return Limits(settings.lifecycle.max_disables, settings.lifecycle.max_disable_ratio)


def read_roster(settings: Settings, now: dt.datetime, memo: Memo | None = None) -> Roster:
    """The validated source; refuses a source that yields nobody (a broken view, an
    emptied table) because applying it would disable every account."""
    rows = source.read(settings, now.date())
    roster = validate(rows, hasher(settings.pesel_key()), now.date(), memo)
    if not roster.people:
        counts = Counter(row.role for row in rows)
        raise SourceError(
            f"the source yields no valid person ({counts[PUPIL]} pupil and {counts[GUARDIAN]} guardian"
            " rows read); refusing to apply anything")
    return roster


def prepare(settings: Settings, directory: Directory, now: dt.datetime | None = None,
            force: bool = False, replica: Replica | None = None,
            memo: Memo | None = None) -> Prepared:
    """Everything up to the plan, guard included; writes nothing.

    With a ``replica`` and a ``memo`` (the daemon's, see ``run.Warm``) the directory
    is read and the source validated only where they changed since the last run.
    """
    now = now or dt.datetime.now(dt.UTC)
    with collector_paused():
        # One after the other, not the snapshot in a thread: both sides are CPU-bound
        # in Python, and a thread that wakes per entry stalls on the GIL (24 s against
        # 17 s at 200 000 people).
        roster = read_roster(settings, now, memo)
        snapshot = directory.snapshot(replica)
        return plan_for(settings, directory, roster, snapshot, now, force)


def plan_for(settings: Settings, directory: Directory, roster: Roster, snapshot: Snapshot,
             now: dt.datetime, force: bool) -> Prepared:
    """The plan, and the guard's verdict on it."""
    policy = policy_of(settings)
    plan = make_plan(roster, snapshot, directory.layout, now, policy)
    prepared = Prepared(roster, plan, len(snapshot.accounts), now, snapshot=snapshot)
    removals = plan.removals()
    reason = refusal(len(removals), prepared.managed, limits_of(settings))
    if reason and not force:
        # Plan again with those accounts kept as they are: creations and updates still
        # go through, and a withheld account keeps its groups too.
        keep = frozenset(c.key for c in removals if c.key)
        prepared.plan = make_plan(roster, snapshot, directory.layout, now, policy, keep=keep)
        prepared.withheld, prepared.guard_reason = removals, reason
    return prepared


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a run builds its data.

    A region's run makes millions of small objects that form no cycles (rows, people,
    entries); the collector would walk all of them again and again as they pile up
    (measured: a third of validation and a quarter of the snapshot at 200 000 people).
    Reference counting still frees everything. At the end they are frozen (moved out
    of the collector's generations), or the first collection after would walk them all
    once more (0.7 s); ``sync_once`` unfreezes them when the run is over.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.enable()


def apply(prepared: Prepared, directory: Directory,
          on_done: Callable[[Change, str | None], None] | None = None) -> Outcome:
    """Write the plan phase by phase; refused entries are recorded, the rest goes on.

    Each phase completes before the next starts, so that a person the directory
    refused is left out of the group changes that follow: a member added before its
    entry exists would never get ``memberOf`` from the overlay.
    """
    outcome = Outcome(prepared)
    refused: set[str] = set()

    def done(change: Change, error: str | None) -> None:
        if error is None:
            outcome.applied[f"{change.kind}.{change.action}"] += 1
            outcome.done.append(change)
        elif change.kind == "person" and change.operation == "add":
            refused.add(dnkey(change.dn))
        if on_done is not None:
            on_done(change, error)

    for phase in phases(prepared.plan.changes):
        if refused:
            phase = [c for c in (without_members(c, refused) for c in phase) if c is not None]
        outcome.failures += directory.apply(phase, done)
    return outcome


def phases(changes: list[Change]) -> list[list[Change]]:
    """Consecutive runs of changes of the same kind (the plan is ordered by kind)."""
    out: list[list[Change]] = []
    for change in changes:
        if not out or out[-1][0].kind != change.kind:
            out.append([])
        out[-1].append(change)
    return out


def without_members(change: Change, refused: set[str]) -> Change | None:
    """A group change without members whose entry could not be created this run."""
    if change.kind != "group":
        return change
    if change.attrs is not None:
        members = tuple(m for m in change.attrs["member"] if dnkey(m) not in refused)
        return replace(change, attrs={**change.attrs, "member": members}) if members else None
    mods = tuple(replace(m, values=tuple(v for v in m.values if dnkey(v) not in refused))
                 if m.attr == "member" and m.op == "add" else m for m in change.mods)
    mods = tuple(m for m in mods if m.values or m.op != "add")
    return replace(change, mods=mods) if mods else None
