"""How many actions a day can hold, from the free time in the user's working hours.

The bands are PRODUCT.md's: micro < 60 min → 1, light 60–179 → 3, standard 180–299 → 5,
heavy ≥ 300 → 8. No calendar (or a calendar that failed) means we do not know, so the day gets the
``default`` 5 rather than a guess. The counts include the Fast Win.
"""

from __future__ import annotations

from core.errors import ValidationError
from core.models import CapacityLevel

ACTIONS_PER_LEVEL: dict[CapacityLevel, int] = {
    CapacityLevel.MICRO: 1,
    CapacityLevel.LIGHT: 3,
    CapacityLevel.STANDARD: 5,
    CapacityLevel.HEAVY: 8,
    CapacityLevel.DEFAULT: 5,
}

#: Lower bounds in free minutes, largest first: the first band the day reaches is its level.
_BANDS: tuple[tuple[int, CapacityLevel], ...] = (
    (300, CapacityLevel.HEAVY),
    (180, CapacityLevel.STANDARD),
    (60, CapacityLevel.LIGHT),
    (0, CapacityLevel.MICRO),
)


def level_for_free_minutes(free_minutes: int | None) -> CapacityLevel:
    """The capacity level of a day with ``free_minutes`` free (None: unknown, so ``default``).

    Negative minutes are refused: they can only come from a bug in the calendar arithmetic, and a
    silent "micro" would hide it behind a plausible-looking short plan.
    """
    if free_minutes is None:
        return CapacityLevel.DEFAULT
    if free_minutes < 0:
        raise ValidationError(f"free minutes cannot be negative (got {free_minutes}); use 0 or more")
    return next(level for floor, level in _BANDS if free_minutes >= floor)


def parse_level(level: CapacityLevel | str) -> CapacityLevel:
    """``level`` as a CapacityLevel, accepting its name in any case ("Light", "HEAVY")."""
    try:
        return CapacityLevel(str(level).strip().lower())
    except ValueError:
        accepted = ", ".join(member.value for member in CapacityLevel)
        raise ValidationError(f"{str(level)[:40]!r} is not a capacity level; use one of: {accepted}") from None
