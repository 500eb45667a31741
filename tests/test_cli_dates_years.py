"""The CLI names a date months from the user's today with its year (core.text.short_date_from):
without it, "Mon 1 Dec" for 1 Dec 2025, read on 29 Nov 2026, is a day that is still to come, and on
another weekday."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from core.models import CalendarConnectionStatus, CalendarProvider
from core.users import get_user_by_email
from tests.cli import nbm_ok
from tests.factories import make_calendar_connection

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)  # Sun 29 Nov 2026, 10:00 in New York
A_YEAR_AGO = datetime(2025, 12, 1, 15, 0, tzinfo=UTC)  # Mon 1 Dec 2025
BOB = "bob@example.com"


@pytest.fixture()
def bob(connection: Connection) -> Iterator[str]:
    """Bob joined a year ago, added a lead and messaged it that day (Mon 1 Dec 2025); it is now
    Sun 29 Nov 2026."""
    with time_machine.travel(A_YEAR_AGO, tick=False):
        nbm_ok("users", "add", BOB, "--name", "Bob", "--tz", "America/New_York")
        lead = json.loads(nbm_ok("leads", "add", "--user", BOB, "Priya Raman", "https://x.io/priya", "--json").output)
        (outreach,) = json.loads(nbm_ok("actions", "list", "--user", BOB, "--json").output)
        nbm_ok("mark", "--user", BOB, outreach["id"], "sent")
    with time_machine.travel(NOW, tick=False):
        nbm_ok("leads", "snooze", "--user", BOB, lead["id"], "--until", "2026-12-10")  # its follow-ups wait
        yield BOB


def test_the_streak_names_a_last_completion_a_year_ago_with_its_year(bob: str) -> None:
    with time_machine.travel(A_YEAR_AGO, tick=False):
        (follow_up,) = [a for a in json.loads(nbm_ok("actions", "list", "--user", bob, "--json").output)
                        if a["state"] == "NEW"]
        nbm_ok("mark", "--user", bob, follow_up["id"], "done")
    with time_machine.travel(NOW, tick=False):
        assert nbm_ok("streak", "--user", bob).output == "streak: 0 days (last done Mon 1 Dec 2025)\n"


def test_a_plan_a_year_ahead_and_a_message_sent_a_year_ago_say_their_years(bob: str) -> None:
    with time_machine.travel(NOW, tick=False):
        ahead = nbm_ok("plan", "--user", bob, "--date", "2027-11-29").output
        assert ahead.startswith("Mon 29 Nov 2027 — nothing due")
        today = nbm_ok("plan", "--user", bob).output
    assert today.startswith("Sun 29 Nov — nothing due")  # today, near: no year
    assert "Your first message to Priya Raman (sent Mon 1 Dec 2025)" in today


def test_a_calendar_day_and_a_read_months_away_say_their_years(bob: str, service: Session) -> None:
    user = get_user_by_email(service, BOB)
    assert user is not None
    make_calendar_connection(service, user, provider=CalendarProvider.GOOGLE, status=CalendarConnectionStatus.ACTIVE,
                             last_sync_at=NOW - timedelta(days=200, hours=7))
    service.flush()
    with time_machine.travel(NOW, tick=False):
        assert "last read Wed 13 May 2026 08:00 UTC" in nbm_ok("calendar", "list", "--user", bob).output
        day = nbm_ok("calendar", "sync", "--user", bob, "--date", "2027-03-01").output
    assert day.startswith("Mon 1 Mar 2027: working hours 09:00-17:00")


def test_a_weekly_summary_of_a_week_months_ago_says_its_year(bob: str) -> None:
    """"Your week of 1–7 Dec", read on 29 Nov 2026, is a week still to come; said for 2025, it needs its year."""
    with time_machine.travel(NOW, tick=False):
        titles = [nbm_ok("summary", "--user", bob, "--week", week).output.splitlines()[0]
                  for week in ("2025-12-01", "2025-12-29", "2026-11-16")]
    assert titles == ["Your week of 1–7 Dec 2025", "Your week of 29 Dec 2025 – 4 Jan 2026", "Your week of 16–22 Nov"]
