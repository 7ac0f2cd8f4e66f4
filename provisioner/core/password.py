"""The site's password policy. Pure: the caller supplies the PESEL check and the list.

Each rule that fails is reported by its code, so the page can explain every one.
Names are compared case-insensitively and transliterated ("Łukasz" is found in
"lukasz2024..." too). A PESEL is never known here: any run of 11 digits in the
password is offered to ``is_pesel``, which compares its HMAC with the account's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .names import transliterate

TOO_SHORT, HAS_LOGIN, HAS_NAME, HAS_PESEL, COMMON, MISMATCH = (
    "too_short", "contains_login", "contains_name", "contains_pesel", "common", "mismatch")
MIN_NAME_PART = 3  # shorter name parts ("Al", "Li") would refuse too much
DIGITS = re.compile(r"\d{11,}")
EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")


@dataclass(frozen=True, slots=True)
class Policy:
    min_length: int = 12
    check_common: bool = True


def fold(text: str) -> str:
    return transliterate(text).casefold()


def name_parts(names: Iterable[str]) -> set[str]:
    parts = set()
    for name in names:
        for part in re.split(r"[\s.\-_']+", fold(name or "")):
            if len(part) >= MIN_NAME_PART:
                parts.add(part)
    return parts


def eleven_digit_runs(password: str) -> Iterable[str]:
    for match in DIGITS.finditer(password):
        run = match.group()
        for i in range(len(run) - 10):
            yield run[i:i + 11]


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled list (one a line, '#' comments), lower-cased."""
    text = resources.files(__package__).joinpath("common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip().casefold() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def is_common(password: str, common: Collection[str]) -> bool:
    """In the list as typed, or once digits and symbols around it are dropped ("Polska2024!")."""
    value = password.casefold()
    core = EDGES.sub("", value)
    candidates = {value, fold(value)} | ({core, fold(core)} if len(core) >= 4 else set())
    return any(c in common for c in candidates)


def problems(password: str, *, login: str, names: Iterable[str], is_pesel: Callable[[str], bool],
             policy: Policy = Policy(), common: Collection[str] | None = None,
             confirm: str | None = None) -> list[str]:
    """The codes of every rule the password breaks (empty: acceptable)."""
    found = []
    if confirm is not None and confirm != password:
        found.append(MISMATCH)
    if len(password) < policy.min_length:
        found.append(TOO_SHORT)
    folded = fold(password)
    if login and fold(login) in folded:
        found.append(HAS_LOGIN)
    if any(part in folded for part in name_parts(names)):
        found.append(HAS_NAME)
    if any(is_pesel(run) for run in eleven_digit_runs(password)):
        found.append(HAS_PESEL)
    if policy.check_common and is_common(password, common if common is not None else common_passwords()):
        found.append(COMMON)
    return found
