"""A timezone is a place (or UTC): zones that follow the server's own setting or are not places are
refused wherever a timezone enters, with a message saying what is accepted.

Here through ``nbm users add --tz``; the Slack entries (the settings form, a Slack profile's ``tz``)
are in tests/slack/test_bad_input.py.
"""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import Connection, select

from bot.cli import main
from core.db import unit_of_work
from core.models import User

ACCEPTED = "use the IANA name of a place, like 'Europe/Paris' or 'America/New_York', or 'UTC'"
#: The server's own setting, no time at all, a rule, five hours *behind* UTC despite its "+", another
#: name for UTC, an old alias of a place.
REFUSED = ("localtime", "posixrules", "Factory", "EST5EDT", "CET", "Etc/GMT+5", "GMT", "Etc/UTC", "US/Eastern")
PLACES = ("UTC", "Europe/Paris", "America/Argentina/Salta", "Asia/Calcutta", "Pacific/Kiritimati")


def _emails() -> list[str]:
    with unit_of_work(service=True) as session:
        return list(session.scalars(select(User.email)))


def test_a_place_or_utc_is_accepted_and_anything_else_refused_saying_what_is(connection: Connection) -> None:
    for number, name in enumerate(REFUSED):
        result = CliRunner().invoke(main, ["users", "add", f"r{number}@example.com", "--name", "R", "--tz", name])
        assert result.exit_code == 2, (name, result.output)
        assert f"{name!r} is not an IANA timezone NextBestMove accepts; {ACCEPTED}" in " ".join(result.output.split())
    assert _emails() == []
    for number, name in enumerate(PLACES):
        result = CliRunner().invoke(main, ["users", "add", f"p{number}@example.com", "--name", "P", "--tz", name])
        assert result.exit_code == 0, (name, result.output)
    assert len(_emails()) == len(PLACES)
