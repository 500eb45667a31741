"""What `nbm summary` says of a week is true of that week, whenever it is asked: the streak as of the
week's Sunday, calls the user logged as days they were active (and a week with calls never quiet),
no sentence twice, and no weekday named for the user's next step."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from bot.cli import main
from core.models import CalendarEventCall, CallSource, User
from tests.factories import make_calendar_connection, make_call, make_lead
from tests.test_summaries import MONDAY_MORNING, local
from tests.test_summary_reply_rate import fast_win_done, travel
from tests.test_summary_truths import EMAIL, ann, nbm_summary

__all__ = ["ann"]  # the fixture, shared

WEEK = "2026-11-16"


def test_a_summary_built_late_states_the_streak_the_week_ended_with(service: Session, ann: User) -> None:
    for day in (18, 19, 20):  # Wed–Fri of the week: a 3-day streak by Sunday 22 Nov
        fast_win_done(service, ann, local(day))
    for day in (23, 24, 25, 26, 27):  # every work day of the week after: 8 days by Sunday 29 Nov
        fast_win_done(service, ann, local(day))

    with travel(local(29, 12)):  # asked for on Sunday 29 Nov, a week late
        shown = nbm_summary("--week", WEEK).output

    assert "Insight: You completed 3 actions after a week with none. You reached a 3-day streak." in shown
    assert shown.count("You reached a 3-day streak.") == 1  # in the insight, not again in the narrative
    assert "8-day" not in shown and "Protect your streak" not in shown
    assert "I reached a 3-day streak" in shown  # the insight post


def test_a_call_the_user_logged_is_a_day_they_were_active(service: Session, ann: User) -> None:
    make_lead(service, ann, name="Bo Chen", created_at=local(10))
    with travel(local(18, 11)):  # Wednesday: Ann books a call with Bo for Friday, and does nothing else
        logged = CliRunner().invoke(main, ["call", "--user", EMAIL, "Bo Chen", "2026-11-20"])
    assert logged.exit_code == 0, logged.output

    with travel(MONDAY_MORNING):
        shown = nbm_summary().output

    assert "1 active day, 0 actions done, 0 replies, 1 call booked" in shown
    assert "Ann, you were active on 1 day, with 1 call booked, but completed no actions." in shown
    assert "Next week's focus: Send a follow-up within 24 hours of every call" in shown
    assert "quiet" not in shown and "Show up daily" not in shown


def test_a_call_found_in_the_calendar_is_not_a_day_she_was_active_nor_a_quiet_week(
    service: Session, ann: User
) -> None:
    bo = make_lead(service, ann, name="Bo Chen", created_at=local(10))
    call = make_call(service, ann, bo, local(18, 11), call_date=date(2026, 11, 20),  # found on Wednesday
                     source=CallSource.SYSTEM)
    service.add(CalendarEventCall(id=uuid.uuid4(), user_id=ann.id, event_key="meeting-1", logged_call_id=call.id,
                                  calendar_connection_id=make_calendar_connection(service, ann).id))
    service.flush()

    with travel(MONDAY_MORNING):
        shown = nbm_summary().output

    assert "0 active days, 0 actions done, 0 replies, 1 call booked" in shown
    assert "Ann, you completed no actions this week, with 1 call booked." in shown
    assert "Next week's focus: Send a follow-up within 24 hours of every call" in shown
    assert "quiet" not in shown and "Show up daily" not in shown


@pytest.mark.parametrize("asked_on", [MONDAY_MORNING, local(27, 18)], ids=["Monday", "Friday after"])
def test_an_empty_week_asks_for_one_action_on_the_next_work_day_not_on_monday(ann: User, asked_on: datetime) -> None:
    with travel(asked_on):
        shown = nbm_summary("--week", WEEK).output
    assert "One small action on your next work day is enough to restart the habit." in shown
    assert "Monday" not in shown
