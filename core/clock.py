"""The one place that knows what time it is, and what "today" means for a user.

Every timestamp is timezone-aware UTC. "Today" is always a *local* date in the user's IANA
timezone, never the server's: a user in Los Angeles at 20:00 on Monday is still on Monday when the
server is already on Tuesday. Tests pin the clock with time-machine, which moves ``datetime.now``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from core.errors import ValidationError


def utcnow() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    return datetime.now(UTC)


def zone(name: str) -> ZoneInfo:
    """The IANA zone called ``name``, or a clear refusal."""
    if name not in _zone_names():
        raise ValidationError(
            f"{name!r} is not an IANA timezone; use a name like 'Europe/Paris' or 'America/New_York'"
        )
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:  # pragma: no cover - listed but missing from this tzdata
        raise ValidationError(f"timezone {name!r} is not available on this server") from None


def local_now(tz: str, *, at: datetime | None = None) -> datetime:
    """The wall-clock time in ``tz`` at ``at`` (default: now)."""
    return (at or utcnow()).astimezone(zone(tz))


def local_today(tz: str, *, at: datetime | None = None) -> date:
    """The user's own date in ``tz`` at ``at`` (default: now)."""
    return local_now(tz, at=at).date()


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())
