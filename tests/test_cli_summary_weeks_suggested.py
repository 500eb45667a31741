"""`nbm summary --week` refused suggests only a week it would accept (core.summaries.service.summary_week):
the accepted week nearest the one asked for, or, before the user has lived a whole week, when their
first summary comes. It suggested the Monday of the week asked for, or last week, even when that
week was itself refused (not over yet, or ended before the user joined)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import Connection

from tests.cli import nbm

TODAY = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)  # Sun 29 Nov 2026, 10:00 in New York
FIRST = "your first weekly summary comes on Mon 30 Nov and covers the week you joined (23–29 Nov)"


def joined(email: str, at: datetime) -> str:
    with time_machine.travel(at, tick=False):
        assert nbm("users", "add", email, "--name", "Bo", "--tz", "America/New_York").exit_code == 0
    return email


def refused(email: str, week: str) -> str:
    with time_machine.travel(TODAY, tick=False):
        result = nbm("summary", "--user", email, "--week", week)
    assert result.exit_code == 2, result.output
    return " ".join(result.output.split())


@pytest.mark.parametrize(("week", "said"), [
    ("2026-11-17", f"Tue 17 Nov is a Tuesday; a weekly summary starts on a Monday; {FIRST}"),
    ("2026-11-25", f"Wed 25 Nov is a Wednesday; a weekly summary starts on a Monday; {FIRST}"),
    ("2026-11-23", f"the week of Mon 23 Nov is not over yet; {FIRST}"),
    ("2027-04-14", f"Wed 14 Apr 2027 is a Wednesday; a weekly summary starts on a Monday; {FIRST}"),
    ("2026-11-16", f"the week of Mon 16 Nov ended before you joined on Sun 29 Nov; {FIRST}"),
])
def test_a_user_who_joined_today_is_told_when_the_first_summary_comes(
    connection: Connection, week: str, said: str
) -> None:
    assert f"Error: {said}" in refused(joined("bo@example.com", TODAY), week)


@pytest.mark.parametrize(("week", "such_as"), [
    ("2026-10-27", "Mon 2 Nov"),  # the week before joining: the first week
    ("2026-11-04", "Mon 2 Nov"),  # a finished week: its Monday
    ("2026-11-25", "Mon 16 Nov"),  # this week, not over: the latest finished week
])
def test_a_weekday_is_answered_with_the_nearest_monday_accepted(
    connection: Connection, week: str, such_as: str
) -> None:
    bo = joined("bo@example.com", datetime(2026, 11, 4, 15, tzinfo=UTC))  # Wed 4 Nov
    assert refused(bo, week).endswith(f"a weekly summary starts on a Monday, such as {such_as}")
