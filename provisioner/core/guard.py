"""The safety guard: how many accounts one run may disable or delete. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    max_count: int = 50
    max_ratio: float = 0.10


def refusal(removals: int, managed: int, limits: Limits) -> str | None:
    """Why ``removals`` disables/deletions are too many for ``managed`` accounts, or None."""
    if removals == 0:
        return None
    if removals > limits.max_count:
        return f"{removals} disables/deletions exceed the limit of {limits.max_count} per run"
    allowed = math.floor(managed * limits.max_ratio)
    if removals > allowed:
        share = removals / managed if managed else 1.0
        return (f"{removals} disables/deletions are {share:.0%} of {managed} managed accounts,"
                f" over the limit of {limits.max_ratio:.0%}")
    return None
