"""A timezone is a place, UTC or a fixed offset (Etc/GMT+5): zones that follow the server's own setting,
rules and other names that are not places are refused wherever a timezone enters, with a message
saying what is accepted.

Here through ``nbm users add --tz``; the Slack entries (the settings form, a Slack profile's ``tz``)
are in tests/slack/test_bad_input.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from zoneinfo import TZPATH, ZoneInfo, available_timezones, reset_tzpath

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, select, text

from bot.cli import main
from bot.slack import identity
from core import clock
from core.clock import SYSTEM_V_PLACES, place_for, zone
from core.db import unit_of_work
from core.models import User

ACCEPTED = "use the IANA name of a place, like 'Europe/Paris' or 'America/New_York', or 'UTC'"
#: The server's own setting, no time at all, rules PostgreSQL may read as abbreviations, other names
#: for UTC, an old alias of a place; each with the place the refusal names for the same clock, if any.
REFUSED = {"localtime": None, "posixrules": None, "Factory": None, "EST5EDT": "America/New_York",
           "CET": "Europe/Brussels", "GMT": None, "Etc/UTC": None, "Etc/GMT+0": None, "US/Eastern": "America/New_York"}
#: Places, UTC, and fixed offsets: five hours *behind* UTC despite its "+" (IANA's sign is inverted).
ACCEPTED_NAMES = ("UTC", "Europe/Paris", "America/Argentina/Salta", "Asia/Calcutta", "Pacific/Kiritimati",
                  "Etc/GMT+5", "Etc/GMT-14")


def _emails() -> list[str]:
    with unit_of_work(service=True) as session:
        return list(session.scalars(select(User.email)))


def test_a_place_utc_or_a_fixed_offset_is_accepted_and_anything_else_refused_saying_what_is(
    connection: Connection,
) -> None:
    """A name that keeps a place's clock (``CET``, ``US/Eastern``) is refused naming that place: the
    refusal only said what kinds of name are accepted, leaving the person to find which place."""
    for number, (name, place) in enumerate(REFUSED.items()):
        result = CliRunner().invoke(main, ["users", "add", f"r{number}@example.com", "--name", "R", "--tz", name])
        assert result.exit_code == 2, (name, result.output)
        use = f"use {place!r}, which keeps the same clock, or {ACCEPTED.removeprefix('use ')}" if place else ACCEPTED
        assert f"{name!r} is not an IANA timezone NextBestMove accepts; {use}" in " ".join(result.output.split())
    assert _emails() == []
    for number, name in enumerate(ACCEPTED_NAMES):
        result = CliRunner().invoke(main, ["users", "add", f"p{number}@example.com", "--name", "P", "--tz", name])
        assert result.exit_code == 0, (name, result.output)
    assert len(_emails()) == len(ACCEPTED_NAMES)


@pytest.fixture()
def newer_python_zone(tmp_path: Path) -> Iterator[str]:
    """A place Python's timezone data has and the database's does not, as when the app's ``tzdata`` is
    newer than the server's (the embedded PostgreSQL's lacks America/Coyhaique): Santiago's rules
    under a new place's name, on a timezone path read before the usual ones."""
    (tmp_path / "America").mkdir()
    (tmp_path / "America" / "Testville").write_bytes(files("tzdata.zoneinfo.America").joinpath("Santiago").read_bytes())
    caches = (clock._tz_database_names, clock._zone_names)
    reset_tzpath([str(tmp_path), *TZPATH])
    for cached in caches:
        cached.cache_clear()
    yield "America/Testville"
    reset_tzpath()
    for cached in caches:
        cached.cache_clear()


def test_a_zone_the_database_does_not_know_is_refused_and_a_slack_profile_s_becomes_the_default(
    connection: Connection, newer_python_zone: str
) -> None:
    """Stored, it failed every statement that reads it, the scheduler's for every user: nobody's
    morning went out."""
    zone(newer_python_zone)  # Python's data has it
    result = CliRunner().invoke(main, ["users", "add", "t@example.com", "--name", "T", "--tz", newer_python_zone])
    assert result.exit_code == 2, result.output
    assert ("'America/Testville' is a timezone this server's database does not know yet (its timezone data is "
            "older than the app's); use a nearby place whose clock is the same") in " ".join(result.output.split())
    assert _emails() == []
    with unit_of_work(service=True) as session:
        assert identity._timezone(session, newer_python_zone) == "America/New_York"
        assert identity._timezone(session, "US/Pacific") == "America/Los_Angeles"


def test_postgresql_reads_every_accepted_name_as_python_does(connection: Connection) -> None:
    """The morning's schedule, streaks and snoozes compute the user's dates in SQL: a name PostgreSQL
    reads otherwise (``CET`` as an abbreviation, without summer time) would move them. Accepted: what
    :func:`core.clock.zone` accepts and the database knows (core.users.database_knows)."""
    known = set(connection.scalars(text("SELECT name FROM pg_timezone_names")))
    names = sorted(name for name in available_timezones() if place_for(name) == name and name in known)
    for instant in (datetime(2026, 1, 15, 12, tzinfo=UTC), datetime(2026, 7, 15, 12, tzinfo=UTC)):
        in_sql = connection.execute(text("SELECT name, CAST(:at AS timestamptz) AT TIME ZONE name "
                                         "FROM unnest(CAST(:names AS text[])) AS name"),
                                    {"at": instant, "names": names}).all()
        in_python = {name: instant.astimezone(zone(name)).replace(tzinfo=None) for name in names}
        assert {name: wall for name, wall in in_sql if wall != in_python[name]} == {}


def _packaged(name: str) -> ZoneInfo:
    """``name`` as the ``tzdata`` package has it: the newest tz data the app carries."""
    *area, leaf = name.split("/")
    with files(".".join(("tzdata.zoneinfo", *area))).joinpath(leaf).open("rb") as compiled:
        return ZoneInfo.from_file(compiled, key=name)


def test_each_system_v_rule_keeps_the_clock_of_its_place_in_the_newest_tz_data() -> None:
    """Where ``core.clock.SYSTEM_V_PLACES`` comes from: in the ``tzdata`` package's source each rule is a
    link to its place, or a zone of its own (in 2026f the four US rules) whose clock is the place's for
    every hour of 2000-2040, the years a user's dates fall in."""
    source = files("tzdata.zoneinfo").joinpath("tzdata.zi").read_text().splitlines()
    links = {alias: target for _, target, alias in (line.split()[:3] for line in source if line.startswith("L "))}
    hours = range(int(datetime(2000, 1, 1, tzinfo=UTC).timestamp()), int(datetime(2041, 1, 1, tzinfo=UTC).timestamp()),
                  3600)
    for name, place in SYSTEM_V_PLACES.items():
        if name in links:
            assert links[name] == place, name
            continue
        rule, kept = _packaged(name), _packaged(place)
        assert [t for t in hours if datetime.fromtimestamp(t, rule).utcoffset()
                != datetime.fromtimestamp(t, kept).utcoffset()] == [], name
