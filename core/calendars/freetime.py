"""The user's working window on a day, and the free minutes the calendars leave in it (pure functions).

Rules:

* **The working window** of a local date is ``working_hours_start``–``working_hours_end`` (user
  settings; default 09:00–17:00) read as wall-clock times *in the user's IANA timezone on that
  date*, returned as an :class:`~core.calendars.providers.Interval` of two UTC instants. Its length
  is therefore real elapsed time: on Europe/London's 2026-10-25 (clocks go back at 02:00) the window
  00:00–04:00 lasts five hours; on America/New_York's 2026-03-08 (clocks go forward at 02:00)
  00:00–06:00 lasts five. The default 09:00–17:00 lasts eight hours on every day of the year in every
  zone whose clocks change at night, but its UTC instants move by the change.
* **A wall time the clocks skip** (02:30 in New York on 2026-03-08) is read with the offset in force
  before the change, which places it as many minutes after the change as the gap is long (03:30
  EDT), as calendar applications do. **A wall time that happens twice** (01:30 in London on
  2026-10-25) is its first occurrence (Python's ``fold=0``: 01:30 BST).
* **The window never crosses midnight.** ``end <= start`` is refused (ValidationError), not read as
  "until the next morning": ``user_settings`` has the CHECK ``working_hours_start <
  working_hours_end`` and core.preferences refuses such hours too, so such a window can only come from
  a bug; and a window spanning two dates would make "free time on the plan's date" ambiguous.
* **The timezone** must be one core.clock accepts (an IANA place, UTC, or a fixed offset such as
  ``Etc/GMT+5``); anything else is refused.
* **Free minutes** are the window's length minus the time that at least one busy interval covers
  inside it: busy intervals from every calendar are clipped to the window, overlapping or touching
  ones are merged (a minute two calendars both call busy counts once), and what remains is
  subtracted. Intervals outside the window, empty or reversed ones (``end <= start``) count for
  nothing. All arithmetic is on UTC instants, so a busy interval given in any zone counts the same.
* **Rounding**: the free time is rounded *down* to whole minutes: 29 min 30 s free is 29 minutes (a
  part-minute is not time to act in). The result is never negative and never more than the window.
* **Timezone-naive datetimes** are refused (ValueError): they are a bug upstream, and reading them
  as UTC would move a meeting by the user's offset without anyone noticing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from core.calendars.providers import Interval
from core.clock import zone
from core.errors import ValidationError

#: The working hours of a user who has not set theirs (PRODUCT.md: 09:00–17:00 local).
DEFAULT_START = time(9, 0)
DEFAULT_END = time(17, 0)


def working_window(day: date, tz: str, start: time = DEFAULT_START, end: time = DEFAULT_END) -> Interval:
    """The working hours ``start``–``end`` of the local date ``day`` in ``tz``, as UTC instants.

    Raises ValidationError when ``end`` is not after ``start`` (the window never crosses midnight)
    or ``tz`` is not a timezone core.clock accepts.
    """
    if start.tzinfo is not None or end.tzinfo is not None:
        raise ValidationError("working hours are wall-clock times without a timezone; the user's timezone places them")
    if end <= start:
        raise ValidationError(
            f"working hours must start before they end, on the same day (got {start:%H:%M}–{end:%H:%M}); "
            "use HH:MM-HH:MM, like 09:00-17:00"
        )
    place = zone(tz)
    return Interval(
        datetime.combine(day, start.replace(fold=0), tzinfo=place).astimezone(UTC),
        datetime.combine(day, end.replace(fold=0), tzinfo=place).astimezone(UTC),
    )


def merge_busy(busy: Iterable[Interval], window: Interval) -> list[Interval]:
    """``busy`` clipped to ``window``, overlapping and touching intervals joined, in order, in UTC."""
    window_start, window_end = _utc(window.start), _utc(window.end)
    clipped = sorted(
        (start, end)
        for start, end in ((max(_utc(i.start), window_start), min(_utc(i.end), window_end)) for i in busy)
        if start < end
    )
    merged: list[list[datetime]] = []
    for start, end in clipped:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [Interval(start, end) for start, end in merged]


def free_minutes(busy: Iterable[Interval], window: Interval) -> int:
    """Whole minutes of ``window`` that no interval of ``busy`` covers (overlaps counted once)."""
    length = _utc(window.end) - _utc(window.start)
    if length <= timedelta(0):
        return 0
    taken = sum((i.end - i.start for i in merge_busy(busy, window)), timedelta(0))
    return math.floor((length - taken) / timedelta(minutes=1))


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"calendar times must be timezone-aware (got {moment.isoformat()})")
    return moment.astimezone(UTC)
