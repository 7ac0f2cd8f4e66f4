"""The data that flows through a run: source rows, validated people, problems.

Everything here is plain data, never changed once made. The three records made
once per row or person (``SourceRow``, ``Person``, and ``snapshot.Account``) are
not declared frozen only because a frozen dataclass costs 3.2 µs to build against
0.6 µs, and a region's sync builds 650 000 of them. A PESEL appears only in ``SourceRow``
(as read) and never in ``repr``; from ``Person`` on, a person is known by the
keyed HMAC of their PESEL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

PUPIL = "pupil"
GUARDIAN = "guardian"

# Who fixes what in UONET: the secretariat keeps the pupil's file; the class
# teacher ("wychowawca") fills in e-mails and family data.
SECRETARIAT = "sekretariat"
CLASS_TEACHER = "wychowawca"


class Place(NamedTuple):
    """A class of a school, as a pupil's (or their guardian's) context.

    A named tuple rather than a frozen dataclass: it is hashed for every person on
    every run (group membership), and a tuple's hash is computed in C.
    """

    rspo: str
    school: str
    class_code: str


@dataclass(slots=True)  # not frozen: see the module docstring
class SourceRow:
    """One pupils or guardians row, columns as read, plus the classes it belongs to."""

    table: str  # "pupils" or "guardians"
    id: int
    pesel: str | None = field(repr=False)
    first_name: str | None
    last_name: str | None
    email: str | None
    second_name: str | None = None
    places: tuple[Place, ...] = ()
    left_on: dt.date | None = None
    # As read (text in SQLite, a datetime elsewhere): parsed only when two rows of one
    # person have to be ordered, not for every row.
    modified_at: object = None

    # Derived once: both are read several times per row.
    role: str = field(init=False)
    source_key: str = field(init=False)

    def __post_init__(self) -> None:
        self.role = PUPIL if self.table == "pupils" else GUARDIAN
        self.source_key = f"{self.role}:{self.id}"

    def fingerprint(self) -> int:
        """A hash of everything read for this row, to tell whether the row of this
        ``source_key`` changed since the run before (see ``validate.Memo``).

        Python's own 64-bit ``hash``, 0.2 µs a row where BLAKE2b over the formatted
        fields took 3.3 µs (0.8 s of every daemon run in a region). It is compared only
        with the same row's hash of the run before, never with another row's, and
        strings hash under a key random to each process: a change goes unseen with a
        chance of 2**-64, and only until the date changes.
        """
        return hash((self.table, self.id, self.pesel, self.first_name, self.last_name,
                     self.email, self.second_name, self.places, self.left_on, self.modified_at))


@dataclass(slots=True)  # not frozen: see the module docstring
class Person:
    """A validated person: everything the mapping needs, no PESEL."""

    key: str  # HMAC-SHA256 of the PESEL, hex
    first_name: str
    last_name: str
    email: str | None
    # Sorted and distinct, as tuples: the daemon keeps a region's people between runs,
    # and a frozenset costs 216 bytes where a one-item tuple costs 48 (and people of
    # one class share one ``places``).
    roles: tuple[str, ...]
    places: tuple[tuple[str, Place], ...]  # (role, place): pupil of a class, guardian in it
    source_keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """A source record that cannot get an account (rejected) or cannot be notified."""

    table: str
    id: int
    code: str  # e.g. "pesel_missing", "email_invalid"
    reason: str  # one line, Polish-free technical text, no PESEL
    field: str
    fixer: str  # SECRETARIAT or CLASS_TEACHER
    first_name: str
    last_name: str
    places: tuple[Place, ...]
    pesel_masked: str
    rejected: bool  # True: no account; False: account without e-mail


@dataclass(frozen=True, slots=True)
class Roster:
    """The validated source: people by key, and what was wrong with it."""

    people: dict[str, Person]
    problems: tuple[Problem, ...]
    # Accounts that must be left as they are because their record is in the source
    # but was rejected this time (a typo must not disable a working account).
    held_keys: frozenset[str] = frozenset()
    held_source_keys: frozenset[str] = frozenset()

    @property
    def rejected(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.rejected)
