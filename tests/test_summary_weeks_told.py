"""What `nbm summary` says of a week is true of that week, whenever it is asked: the streak as of the
week's Sunday, no sentence twice, and no weekday named for the user's next step."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.orm import Session

from core.models import User
from tests.test_summaries import MONDAY_MORNING, local
from tests.test_summary_reply_rate import fast_win_done, travel
from tests.test_summary_truths import ann, nbm_summary

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


@pytest.mark.parametrize("asked_on", [MONDAY_MORNING, local(27, 18)], ids=["Monday", "Friday after"])
def test_an_empty_week_asks_for_one_action_on_the_next_work_day_not_on_monday(ann: User, asked_on: datetime) -> None:
    with travel(asked_on):
        shown = nbm_summary("--week", WEEK).output
    assert "One small action on your next work day is enough to restart the habit." in shown
    assert "Monday" not in shown
