"""A timezone is a place, UTC or a fixed offset (Etc/GMT+5): zones that follow the server's own setting,
rules and other names that are not places are refused wherever a timezone enters, with a message
saying what is accepted.

Here through ``nbm users add --tz``; the Slack entries (the settings form, a Slack profile's ``tz``)
are in tests/slack/test_bad_input.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import available_timezones

from click.testing import CliRunner
from sqlalchemy import Connection, select, text

from bot.cli import main
from core.clock import place_for, zone
from core.db import unit_of_work
from core.models import User

ACCEPTED = "use the IANA name of a place, like 'Europe/Paris' or 'America/New_York', or 'UTC'"
#: The server's own setting, no time at all, rules PostgreSQL may read as abbreviations, other names
#: for UTC, an old alias of a place.
REFUSED = ("localtime", "posixrules", "Factory", "EST5EDT", "CET", "GMT", "Etc/UTC", "Etc/GMT+0", "US/Eastern")
#: Places, UTC, and fixed offsets: five hours *behind* UTC despite its "+" (IANA's sign is inverted).
ACCEPTED_NAMES = ("UTC", "Europe/Paris", "America/Argentina/Salta", "Asia/Calcutta", "Pacific/Kiritimati",
                  "Etc/GMT+5", "Etc/GMT-14")


def _emails() -> list[str]:
    with unit_of_work(service=True) as session:
        return list(session.scalars(select(User.email)))


def test_a_place_utc_or_a_fixed_offset_is_accepted_and_anything_else_refused_saying_what_is(
    connection: Connection,
) -> None:
    for number, name in enumerate(REFUSED):
        result = CliRunner().invoke(main, ["users", "add", f"r{number}@example.com", "--name", "R", "--tz", name])
        assert result.exit_code == 2, (name, result.output)
        assert f"{name!r} is not an IANA timezone NextBestMove accepts; {ACCEPTED}" in " ".join(result.output.split())
    assert _emails() == []
    for number, name in enumerate(ACCEPTED_NAMES):
        result = CliRunner().invoke(main, ["users", "add", f"p{number}@example.com", "--name", "P", "--tz", name])
        assert result.exit_code == 0, (name, result.output)
    assert len(_emails()) == len(ACCEPTED_NAMES)


def test_postgresql_reads_every_accepted_name_as_python_does(connection: Connection) -> None:
    """The morning's schedule, streaks and snoozes compute the user's dates in SQL: a name PostgreSQL
    reads otherwise (``CET`` as an abbreviation, without summer time) would move them."""
    names = sorted(name for name in available_timezones() if place_for(name) == name)  # the accepted ones
    for instant in (datetime(2026, 1, 15, 12, tzinfo=UTC), datetime(2026, 7, 15, 12, tzinfo=UTC)):
        in_sql = connection.execute(text("SELECT name, CAST(:at AS timestamptz) AT TIME ZONE name "
                                         "FROM unnest(CAST(:names AS text[])) AS name"),
                                    {"at": instant, "names": names}).all()
        in_python = {name: instant.astimezone(zone(name)).replace(tzinfo=None) for name in names}
        assert {name: wall for name, wall in in_sql if wall != in_python[name]} == {}
