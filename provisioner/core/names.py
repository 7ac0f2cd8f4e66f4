"""Names: normalisation, transliteration of Polish letters, and login generation."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable

# ``ł`` has no Unicode decomposition, so NFKD alone would drop it; the others
# decompose, but an explicit table makes the intent obvious and testable.
POLISH = str.maketrans("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ", "acelnoszzACELNOSZZ")
# A few other letters without a decomposition that appear in European names.
EXTRA = {"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "þ": "th"}
LOGIN_ALLOWED = re.compile(r"[^a-z0-9.-]+")
DASHES = re.compile(r"-{2,}")
DOTS = re.compile(r"\.{2,}")


@functools.lru_cache(maxsize=65536)  # called for every name of every row; names repeat
def clean(value: str | None) -> str:
    """Trim, collapse inner whitespace and normalise to NFC; ``""`` for nothing."""
    if value is None:
        return ""
    return " ".join(unicodedata.normalize("NFC", str(value)).split())


@functools.lru_cache(maxsize=65536)  # names repeat a lot across a region
def transliterate(text: str) -> str:
    """ASCII form of a name: Polish letters explicitly, the rest through NFKD."""
    text = text.translate(POLISH)
    text = "".join(EXTRA.get(c, c) for c in text)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and not unicodedata.combining(c))


def slug(text: str) -> str:
    """Lower-case ASCII with only ``[a-z0-9.-]``; other runs become ``-``."""
    value = LOGIN_ALLOWED.sub("-", transliterate(text).lower().replace(" ", "-"))
    return DOTS.sub(".", DASHES.sub("-", value)).strip(".-")


@functools.lru_cache(maxsize=65536)  # a region has many Jan Nowaks
def login_base(template: str, first_name: str, last_name: str, max_length: int) -> str:
    """The login a person would get without collisions, before any suffix."""
    raw = template.format(first_name=slug(first_name), last_name=slug(last_name))
    value = DOTS.sub(".", LOGIN_ALLOWED.sub("", raw.lower())).strip(".-")
    return (value or "user")[:max_length].rstrip(".-") or "user"


def allocate_numbered(base: str, taken: Callable[[str], bool], max_length: int,
                      start: int = 2) -> tuple[str, int]:
    """First free login among ``base``, ``base2``, ``base3``…, shortened to fit; from
    suffix ``start`` on, with the number used (1: the bare base).

    A caller allocating many logins passes the last number plus one, so a thousand
    Jan Nowaks do not each walk the same numbers again."""
    if start <= 2 and not taken(base):
        return base, 1
    n = max(start, 2)
    while True:
        suffix = str(n)
        candidate = base[: max_length - len(suffix)].rstrip(".-") + suffix
        if not taken(candidate):
            return candidate, n
        n += 1


@functools.lru_cache(maxsize=65536)
def class_slug(code: str) -> str:
    """A class code for a group name: lower-cased, transliterated, spaces removed."""
    return slug(code.replace(" ", "")) or "x"


def same_person(a: Iterable[str], b: Iterable[str]) -> bool:
    """Whether two name tuples denote the same person, ignoring case, spacing and
    diacritics (one clerk types "Łukasz", another "Lukasz": still one parent)."""

    def form(names: Iterable[str]) -> list[str]:
        return [transliterate(clean(x)).casefold() for x in names]

    return form(a) == form(b)
