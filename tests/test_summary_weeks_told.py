"""What `nbm summary` says of a week is true of that week, whenever it is asked: the streak as of the
week's Sunday, and no sentence twice."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.models import User
from tests.test_summaries import local
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
