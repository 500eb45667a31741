"""The one place that knows what time it is, and what "today" means for a user.

Every timestamp is timezone-aware UTC. "Today" is always a *local* date in the user's IANA
timezone, never the server's: a user in Los Angeles at 20:00 on Monday is still on Monday when the
server is already on Tuesday. Tests pin the clock with time-machine, which moves ``datetime.now``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from importlib import import_module
from pathlib import Path
from types import MappingProxyType
from zoneinfo import TZPATH, ZoneInfo, ZoneInfoNotFoundError, available_timezones

from core.errors import ValidationError


def utcnow() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    return datetime.now(UTC)


#: The areas of IANA's names for places ("Europe/Paris", "America/Argentina/Salta").
PLACE_AREAS = frozenset({"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe",
                         "Indian", "Pacific"})
ACCEPTED_ZONES = "the IANA name of a place, like 'Europe/Paris' or 'America/New_York', or 'UTC'"


def zone(name: str) -> ZoneInfo:
    """The zone called ``name`` (a place, UTC, or a fixed offset), or a refusal saying what to use.

    Every timezone that enters (a Slack profile, the settings form, ``--tz``) comes through here, so
    a user's "today" always follows real rules: a place's, or a fixed offset's, such as ``Etc/GMT+5``
    (five hours *behind* UTC: IANA's sign is inverted). PostgreSQL reads every accepted name as Python
    does (the morning's schedule, streaks and snoozes compute the user's dates in SQL): each has a
    ``/``, or is ``UTC``. Refused even though the tz database has them: ``localtime`` and
    ``posixrules`` (whatever the server is set to), ``Factory`` (a placeholder for "not set"), other
    names for UTC, old aliases such as ``US/Eastern`` (the place's own name works), and rules such as
    ``EST5EDT`` and ``CET``, which PostgreSQL may read as an abbreviation instead (``CET`` as one
    hour ahead of UTC all year, where the zone keeps summer time). A name refused that stands for a
    place's clock (:func:`place_for`: ``US/Eastern``, ``CET``) is refused naming that place, not stored
    as the place: a person who typed it sees the name their setting will show before it is kept."""
    if name not in _zone_names():
        place = place_for(name)
        same_clock = f"{place!r}, which keeps the same clock, or " if place not in (None, "UTC") else ""
        raise ValidationError(f"{name[:60]!r} is not an IANA timezone NextBestMove accepts; "
                              f"use {same_clock}{ACCEPTED_ZONES}")
    try:
        return _loaded(name)
    except ZoneInfoNotFoundError:  # pragma: no cover - listed but missing from this tzdata
        raise ValidationError(f"timezone {name!r} is not available on this server") from None


@cache
def _loaded(name: str) -> ZoneInfo:
    """Each accepted zone, read from the tz database once per process.

    ``ZoneInfo(name)`` keeps only the last 8 zones it was asked for (and the ones still referenced):
    a morning batch spans far more, so every other call read and parsed the zone's file again. The
    names reaching here are checked against :func:`_zone_names`, so this holds a few hundred zones at
    most (an unknown name raises, and a raised call is not cached).
    """
    return ZoneInfo(name)


def local_now(tz: str, *, at: datetime | None = None) -> datetime:
    """The wall-clock time in ``tz`` at ``at`` (default: now)."""
    return (at or utcnow()).astimezone(zone(tz))


def local_today(tz: str, *, at: datetime | None = None) -> date:
    """The user's own date in ``tz`` at ``at`` (default: now)."""
    return local_now(tz, at=at).date()


#: UNIX System V's names for rules, each with the place whose clock it keeps, whatever the machine's tz
#: data says of it. From IANA's ``backward`` file as of tzdata 2024b, which made all eleven links to
#: these places, whose clocks they have kept for decades (all of them this century). Older tz data,
#: and builds that keep the old zones (Debian's, with ``backzone``), have them as zones of their own,
#: linked to no place, so the link rule alone read them as UTC: hours off. In 2026f the four US names
#: are zones again, on the US rules that New York, Chicago, Denver and Los Angeles have kept since
#: 1967; the other seven are links to these places. tests/test_timezones.py checks this table against
#: the ``tzdata`` package's tz database.
SYSTEM_V_PLACES = MappingProxyType({
    "CET": "Europe/Brussels", "MET": "Europe/Brussels", "EET": "Europe/Athens", "WET": "Europe/Lisbon",
    "EST5EDT": "America/New_York", "CST6CDT": "America/Chicago", "MST7MDT": "America/Denver",
    "PST8PDT": "America/Los_Angeles", "EST": "America/Panama", "MST": "America/Phoenix", "HST": "Pacific/Honolulu",
})


def place_for(name: str) -> str | None:
    """The name :func:`zone` accepts for the rules ``name`` stands for; None when the tz database does
    not know ``name``.

    That is ``name`` itself when it is accepted (``Etc/GMT+5`` too: a fixed offset is a zone of its
    own, which linked to no place and so became UTC, hours off); else, for a System V rule such as
    ``CET`` or ``EST5EDT``, the place whose clock it keeps (:data:`SYSTEM_V_PLACES`, whatever the
    machine's tz data makes of the name); else the place it is a link to in the tz database, followed
    as far as it goes (``US/Pacific`` → ``America/Los_Angeles``, ``GB`` → ``Europe/London``); else UTC,
    for a name that links to no place (``Etc/UTC``, ``GMT``, ``Factory``, ``localtime``).

    The one rule for a name that comes from elsewhere: a Slack profile's (``bot.slack.identity``) and
    the names stored before :func:`zone` refused them (migration 0008, which runs this rule and whose
    result ``tests/test_migration_timezones.py`` pins, so that changing this rule cannot change it
    unseen). 0008's own docstring says what it did to ``Etc/GMT+5`` before this rule kept it (UTC), and
    it gave the System V rules UTC on a machine whose tz data had them as zones of their own (their
    place where they were links); the names a database migrated then lost are stored nowhere, so
    nothing can give them back. What stands in for a name the tz database does not know is the caller's.
    """
    if name in _zone_names():
        return name
    if name in SYSTEM_V_PLACES:
        return SYSTEM_V_PLACES[name]
    if name not in _tz_database_names():
        return None
    links, seen = _links(), {name}
    while name in links and links[name] not in seen:
        name = links[name]
        seen.add(name)
    return name if name in _zone_names() else "UTC"


@cache
def _links() -> dict[str, str]:
    """``alias → target`` from the tz database's own source (``tzdata.zi``: lines ``L TARGET ALIAS``)."""
    source = tz_database() / "tzdata.zi"
    return {alias: target for _, target, alias in
            (line.split()[:3] for line in source.read_text().splitlines() if line.startswith("L "))}


def tz_database() -> Path:
    """The folder of the tz database Python reads, with its source (``tzdata.zi``): the first folder
    of ``zoneinfo``'s search path that has one, else the ``tzdata`` package's, which is zoneinfo's own
    fallback. A system's zone files may come without it (macOS, Windows): read from nowhere, every
    link (``US/Pacific``) would have read as UTC, hours off."""
    for root in map(Path, TZPATH):
        if (root / "tzdata.zi").is_file():
            return root
    return Path(str(import_module("tzdata").__file__)).parent / "zoneinfo"


@lru_cache(maxsize=1)
def _tz_database_names() -> frozenset[str]:
    return frozenset(available_timezones())


#: The tz database's fixed offsets from UTC, ``Etc/GMT-14`` to ``Etc/GMT+12`` (``Etc/GMT+0`` is UTC).
_FIXED_OFFSET = re.compile(r"Etc/GMT[+-](1[0-4]|[1-9])")


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    """What :func:`zone` accepts: the places, UTC and the fixed offsets."""
    names = _tz_database_names()
    places = (name for name in names if "/" in name and name.split("/", 1)[0] in PLACE_AREAS)
    offsets = (name for name in names if _FIXED_OFFSET.fullmatch(name))
    return frozenset((*places, *offsets, "UTC"))
