"""Source rows → validated people. Bad records are reported, never fatal."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from . import pesel as pesel_mod
from .assemble import as_datetime
from .model import (
    CLASS_TEACHER,
    GUARDIAN,
    PUPIL,
    SECRETARIAT,
    Person,
    Place,
    Problem,
    Roster,
    SourceRow,
)
from .names import clean, same_person

Hasher = Callable[[str], str]


def hasher(key: bytes) -> Hasher:
    """The keyed HMAC-SHA256 that stands for a PESEL everywhere outside memory.

    RFC 2104 with the padded key hashed once: the two SHA-256 states are copied per
    PESEL instead of rebuilt (1.9 µs against ``hmac.digest``'s 4.8 µs, for every
    person of a region on every run). A test holds it equal to ``hmac.digest``.
    """
    if len(key) > hashlib.sha256().block_size:
        key = hashlib.sha256(key).digest()
    padded = key.ljust(hashlib.sha256().block_size, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))

    def digest(pesel: str) -> str:
        h = inner.copy()
        h.update(pesel.encode("ascii"))
        o = outer.copy()
        o.update(h.digest())
        return o.hexdigest()

    return digest


# Plain ASCII addresses, nearly all of UONET's, are checked by this pattern instead of a
# full email-validator call (~100 µs each, the largest cost of a no-change sync at scale).
# It accepts only what email-validator accepts too, with the same result: a test holds
# the two against each other.
PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})")


# email-validator refuses special-use domains (.test, .local, ...) and their subdomains.
SPECIAL_TLDS = frozenset(d for d in SPECIAL_USE_DOMAIN_NAMES if "." not in d)
SPECIAL_SUFFIXES = tuple("." + d for d in SPECIAL_USE_DOMAIN_NAMES if "." in d)


def plain_email(value: str) -> str | None:
    match = PLAIN_EMAIL.fullmatch(value)
    if match is None or len(value) > 254:
        return None
    at = match.start(1) - 1
    domain = plain_domain(match.group(1))
    return None if domain is None or at > 64 else value[: at + 1] + domain


@functools.lru_cache(maxsize=4096)  # a region's addresses share a few hundred domains
def plain_domain(domain: str) -> str | None:
    lowered = domain.lower()
    if lowered.rpartition(".")[2] in SPECIAL_TLDS or lowered.endswith(SPECIAL_SUFFIXES):
        return None
    return lowered


def normalize_email(raw: str | None) -> str | None:
    """Trimmed address with the domain lower-cased; ``ValueError`` if not an address."""
    value = (raw or "").strip()
    if not value:
        return None
    fast = plain_email(value)
    if fast is not None:
        return fast
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    return f"{result.local_part}@{result.domain.lower()}"


def fixer(row: SourceRow, field: str) -> str:
    # The secretariat keeps the pupil's file (PESEL, names); the class teacher
    # fills in e-mails and everything about the family.
    if row.role == PUPIL and field != "email":
        return SECRETARIAT
    return CLASS_TEACHER


def problem(row: SourceRow, code: str, reason: str, field: str, rejected: bool) -> Problem:
    return Problem(
        table=row.table,
        id=row.id,
        code=code,
        reason=reason,
        field=field,
        fixer=fixer(row, field),
        first_name=clean(row.first_name),
        last_name=clean(row.last_name),
        places=row.places,
        pesel_masked=pesel_mod.mask(row.pesel),
        rejected=rejected,
    )


def active(row: SourceRow, today: dt.date) -> bool:
    """A pupil who has not left yet; a guardian of at least one such pupil."""
    if row.role == PUPIL:
        return row.left_on is None or row.left_on > today
    return bool(row.places)


def pesel_code(message: str) -> str:
    if "missing" in message:
        return "pesel_missing"
    if "check digit" in message:
        return "pesel_invalid_checksum"
    if "date" in message or "month" in message:
        return "pesel_invalid_date"
    return "pesel_format"


def recency(row: SourceRow) -> tuple:
    return (as_datetime(row.modified_at) or dt.datetime.min, row.role == PUPIL, row.id)


@dataclass(slots=True)
class Memo:
    """The verdicts of the run before, with the fingerprints of the rows they were made from.

    The daemon keeps one between runs. In a region nearly every row reads the same
    as last time, and validating 250 000 rows again was the largest part of a run
    that changes little (2.5 s of 6). A row's verdict is reused only while the row of
    that ``source_key`` has the same fingerprint (``SourceRow.fingerprint``), and a
    person only while the rows of that PESEL do, on the same day (``active`` depends
    on the date). Both hold normalized PESELs: no ``repr``.
    """

    today: dt.date | None = None
    # source_key -> (fingerprint, verdict): see ``check``
    rows: dict[str, tuple[int, str | Problem | None]] = field(default_factory=dict, repr=False)
    # PESEL -> (fingerprints of its rows, ``person_of``'s outcome)
    people: dict[str, tuple[object, tuple]] = field(default_factory=dict, repr=False)


def validate(rows: Iterable[SourceRow], digest: Hasher, today: dt.date,
             memo: Memo | None = None) -> Roster:
    """Validate and merge source rows into one ``Person`` per PESEL.

    With a ``memo``, verdicts on rows and people unchanged since its last use are
    reused (never for a new date), and the memo is left holding this run's.
    """
    memo = memo if memo is not None else Memo()
    seen_rows = memo.rows if memo.today == today else {}
    seen_people = memo.people if memo.today == today else {}
    verdicts: dict[str, tuple[int, str | Problem | None]] = {}
    problems: list[Problem] = []
    by_pesel: dict[str, list[tuple[SourceRow, int]]] = {}
    held_sources: set[str] = set()
    for row in rows:
        mark = row.fingerprint()
        seen = seen_rows.get(row.source_key)
        verdict = seen[1] if seen is not None and seen[0] == mark else check(row, today)
        verdicts[row.source_key] = (mark, verdict)
        if verdict is None:
            continue
        if type(verdict) is Problem:
            problems.append(verdict)
            held_sources.add(row.source_key)
            continue
        same = by_pesel.get(verdict)
        if same is None:
            by_pesel[verdict] = [(row, mark)]
        else:
            same.append((row, mark))

    people: dict[str, Person] = {}
    held_keys: set[str] = set()
    outcomes: dict[str, tuple[object, tuple]] = {}
    for value, group in by_pesel.items():
        marks = group[0][1] if len(group) == 1 else tuple([m for _, m in group])
        seen = seen_people.get(value)
        if seen is not None and seen[0] == marks:
            outcome = seen[1]
        else:
            outcome = person_of(value, [r for r, _ in group], digest)
        outcomes[value] = (marks, outcome)
        key, person, found = outcome
        problems.extend(found)
        if person is None:
            held_keys.add(key)
            held_sources.update(r.source_key for r, _ in group)
        else:
            people[key] = person
    memo.today, memo.rows, memo.people = today, verdicts, outcomes
    return Roster(people, tuple(problems), frozenset(held_keys), frozenset(held_sources))


def check(row: SourceRow, today: dt.date) -> str | Problem | None:
    """A row's normalized PESEL; the ``Problem`` that rejects it; None if not active."""
    if not active(row, today):
        return None
    if not (clean(row.first_name) and clean(row.last_name)):
        field = "first_name" if not clean(row.first_name) else "last_name"
        return problem(row, "name_missing", f"{field} is empty", field, True)
    try:
        return pesel_mod.normalize(row.pesel)
    except pesel_mod.InvalidPesel as exc:
        return problem(row, pesel_code(str(exc)), str(exc), "pesel", True)


def person_of(value: str, group: list[SourceRow], digest: Hasher
              ) -> tuple[str, Person | None, tuple[Problem, ...]]:
    """(key, the person, problems found) for the rows of one PESEL; no person if
    the rows disagree on who it is."""
    key = digest(value)
    first = group[0]
    if len(group) > 1 and any(not same_person(names(first), names(r)) for r in group[1:]):
        return key, None, tuple(problem(
            row, "pesel_conflict", "the same PESEL is given to people with different names",
            "pesel", True) for row in group)
    found: list[Problem] = []
    return key, merge(key, group, found), tuple(found)


def names(row: SourceRow) -> tuple[str, str]:
    return (row.first_name or "", row.last_name or "")


ROLES = {PUPIL: (PUPIL,), GUARDIAN: (GUARDIAN,)}


def merge(key: str, group: list[SourceRow], problems: list[Problem]) -> Person:
    """One person from all rows sharing a PESEL; the newest row's data wins."""
    if len(group) == 1:  # most people: one pupil row, or a guardian of one child
        row = group[0]
        return Person(key, clean(row.first_name), clean(row.last_name),
                      first_email(group, problems), ROLES[row.role],
                      places_of(row.role, row.places), (row.source_key,))
    ordered = sorted(group, key=recency, reverse=True)
    newest = ordered[0]
    return Person(
        key=key,
        first_name=clean(newest.first_name),
        last_name=clean(newest.last_name),
        email=first_email(ordered, problems),
        roles=tuple(sorted({r.role for r in group})),
        places=tuple(sorted({(r.role, p) for r in group for p in r.places})),
        source_keys=tuple(sorted({r.source_key for r in group})),
    )


@functools.lru_cache(maxsize=65536)  # a region has a few thousand classes
def places_of(role: str, places: tuple[Place, ...]) -> tuple[tuple[str, Place], ...]:
    """One shared tuple for everybody of one role in the same classes."""
    return tuple(sorted({(role, p) for p in places}))


def first_email(ordered: list[SourceRow], problems: list[Problem]) -> str | None:
    """The first usable address, newest row first; reported only if none is usable."""
    email_problems = []
    for row in ordered:
        try:
            email = normalize_email(row.email)
        except ValueError as exc:
            email_problems.append(problem(row, "email_invalid", str(exc), "email", False))
            continue
        if email:
            return email
        email_problems.append(problem(row, "email_missing", "e-mail is missing", "email", False))
    problems.extend(email_problems)
    return None
