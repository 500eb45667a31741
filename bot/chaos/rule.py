"""What each user is owed, by the documented rule, written again here in Python on purpose.

The product decides what is due in one SQL query (``core/jobs/schedule.py``); checking it against
itself would prove nothing. This module reads the rule as README "How the morning works" and
"Catch-up" state it:

* **A morning is due at an instant**: the first at which the user's clock shows their delivery
  time on one of their work days; the first of two such instants where the clocks fall back; the
  moment they jump where they spring forward over it.
* **It is owed** from that instant until it is sent, fails for good, or the next morning comes due
  (the next work day's), never for a day before the local date the user joined.
* **The weekly summary** of the week before is owed from the user's Monday delivery instant
  (whatever their work days) until the end of that week, if they joined before that Monday.

Each :class:`Owed` item is one (kind, user, channel, period) with the simulated interval in which
it was owed, ``[opens, closes)``; only items owed at some instant of the run's window count.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

PLAN = "plan"
SUMMARY = "weekly_summary"
#: Longest jump of a clock in the tz database, in minutes (the search for a skipped time stops there).
_MAX_JUMP_MINUTES = 180


@dataclass(frozen=True)
class Profile:
    """What the rule needs of a user (as stored: the run reads it back from the database)."""

    user_id: uuid.UUID
    timezone: str
    joined: datetime
    delivery_time: time
    work_days: frozenset[int]
    channels: frozenset[str]


@dataclass(frozen=True, order=True)
class Owed:
    kind: str
    user_id: uuid.UUID
    channel: str
    period: date
    opens: datetime
    closes: datetime

    @property
    def key(self) -> tuple[str, uuid.UUID, str, date]:
        return (self.kind, self.user_id, self.channel, self.period)

    def owed_at(self, instant: datetime) -> bool:
        return self.opens <= instant < self.closes


def due_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The first instant at which a clock in ``tz`` shows ``at`` on ``day`` (UTC)."""
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)  # fold=0: the first of a repeated hour
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first
    # ``at`` is skipped on ``day``: ``first`` lies after the jump; walk back to the minute it happens.
    instant = first.replace(second=0, microsecond=0)
    for _ in range(_MAX_JUMP_MINUTES):
        earlier = instant - timedelta(minutes=1)
        if earlier.astimezone(tz).replace(tzinfo=None) < wall:
            return instant
        instant = earlier
    return instant


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0)).replace(tzinfo=tz, fold=0).astimezone(UTC)


def _mornings(profile: Profile, tz: ZoneInfo, first: date, last: date) -> list[tuple[date, datetime]]:
    joined_on = profile.joined.astimezone(tz).date()
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [(day, due_instant(day, profile.delivery_time, tz)) for day in days
            if day.isoweekday() in profile.work_days and day >= joined_on]


def owed_items(profile: Profile, *, start: datetime, end: datetime) -> Iterator[Owed]:
    """Every item owed to ``profile`` at some instant of ``[start, end]``."""
    tz = ZoneInfo(profile.timezone)
    first, last = (start - timedelta(days=9)).astimezone(tz).date(), (end + timedelta(days=9)).astimezone(tz).date()
    mornings = _mornings(profile, tz, first, last)
    for (day, opens), (_, closes) in pairwise(mornings):
        if opens <= end and closes > start:
            for channel in sorted(profile.channels):
                yield Owed(PLAN, profile.user_id, channel, day, opens, closes)
    monday = first - timedelta(days=first.weekday())
    while monday <= last:
        opens = due_instant(monday, profile.delivery_time, tz)
        closes = _local_midnight(monday + timedelta(days=7), tz)
        if profile.joined < _local_midnight(monday, tz) and opens <= end and closes > start:
            for channel in sorted(profile.channels):
                yield Owed(SUMMARY, profile.user_id, channel, monday - timedelta(days=7), opens, closes)
        monday += timedelta(days=7)
