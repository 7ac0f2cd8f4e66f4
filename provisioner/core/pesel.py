"""PESEL, the Polish national identification number: validation and safe display.

A PESEL is ``YYMMDDZZZXQ``: birth date (the month carries the century), a serial,
a sex digit and a check digit. It is personal data: this module never puts one
in a ``repr`` or an exception message.
"""

from __future__ import annotations

import datetime as dt
import functools

# Month offset -> century; the offset is added to the calendar month.
CENTURY_BY_OFFSET = {80: 1800, 0: 1900, 20: 2000, 40: 2100, 60: 2200}


class InvalidPesel(ValueError):
    """The value is not a valid PESEL; the message never contains the value."""


def check_digit(first_ten: str) -> int:
    """The check digit for the first ten digits of a PESEL."""
    d = first_ten.encode("ascii")
    # The weights written out, and the 44 ASCII zeros (the weights' sum) taken off once:
    # this runs for every row of a region's register on every sync.
    total = (d[0] + 3 * d[1] + 7 * d[2] + 9 * d[3] + d[4] + 3 * d[5] + 7 * d[6] + 9 * d[7]
             + d[8] + 3 * d[9] - 44 * 48)
    return (10 - total % 10) % 10


def birth_date(pesel: str) -> dt.date:
    """The birth date encoded in a PESEL (its format must already be checked)."""
    return date_part(pesel[:6])


# Keyed by the six date digits only, never a whole PESEL: the cache outlives the run.
@functools.lru_cache(maxsize=65536)  # birth dates repeat: a region's pupils share ~6 500
def date_part(digits: str) -> dt.date:
    yy, mm, dd = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    offset = (mm // 20) * 20
    if offset not in CENTURY_BY_OFFSET:
        raise InvalidPesel("PESEL month is out of range")
    try:
        return dt.date(CENTURY_BY_OFFSET[offset] + yy, mm - offset, dd)
    except ValueError:
        raise InvalidPesel("PESEL birth date does not exist") from None


def normalize(raw: str | None) -> str:
    """Return the PESEL as 11 digits, or raise :class:`InvalidPesel` saying why."""
    value = raw.strip() if isinstance(raw, str) else ("" if raw is None else str(raw).strip())
    if not value:
        raise InvalidPesel("PESEL is missing")
    if " " in value:
        value = value.replace(" ", "")
    if len(value) != 11 or not value.isascii() or not value.isdigit():
        raise InvalidPesel("PESEL must be exactly 11 digits")
    if check_digit(value[:10]) != ord(value[10]) - 48:
        raise InvalidPesel("PESEL check digit is wrong")
    birth_date(value)
    return value


def make(date: dt.date, serial: int = 0, female: bool = False) -> str:
    """Build a valid PESEL for a birth date (used by the demo and the tests)."""
    offset = {v: k for k, v in CENTURY_BY_OFFSET.items()}[date.year // 100 * 100]
    sex = (serial % 5) * 2 + (0 if female else 1)
    head = f"{date.year % 100:02d}{date.month + offset:02d}{date.day:02d}{serial % 1000:03d}{sex}"
    return head + str(check_digit(head))


def mask(raw: str | None) -> str:
    """A form safe to show to school staff: at most the first six digits (birth date)."""
    digits = "".join(c for c in str(raw or "") if c.isdigit())
    if not digits:
        return "(brak)"
    return digits[:6] + "*" * 5 if len(digits) >= 6 else "*" * len(digits)
