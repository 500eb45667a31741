"""The built-in texts are true for any week: swept over every shape of week a user can have, they state
no rate without one, count nothing as follow-ups, and word every number as a person would."""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterator
from datetime import date, timedelta

from bot.slack.blocks.summary import summary_message
from core.models import WeeklySummary
from core.summaries.facts import WeekFacts, WeekNumbers
from core.summaries.insights import BuiltinInsights, Insights

WEEK = date(2026, 11, 16)
builtin = BuiltinInsights()

ONE_WITH_A_PLURAL = re.compile(r"\b1 (replies|actions|messages|days|calls|leads|contacts)\b")
A_BEFORE_EIGHT = re.compile(r"\ba (8\d*|11|18)-day\b")
FOLLOW_UP_COUNT = re.compile(r"\d+ follow-ups?\b")
SENT_SOMETHING = re.compile(r"\d+ messages? sent|sent \d+ messages?|messages? you sent|did send|wrote to")
FAST_WIN = re.compile(r"fast[ -]?win", re.IGNORECASE)


def week(**fields: object) -> WeekFacts:
    base: dict[str, object] = dict(user_name="Ann Lee", week_start=WEEK, days_active=0, actions_completed=0,
                                   replies=0, calls_booked=0)
    return WeekFacts(**{**base, **fields})  # type: ignore[arg-type]


def every_week() -> Iterator[WeekFacts]:
    """Weeks of every shape: replies with and without the week's own messages answered, thin and
    enough data, a first week, a week with no messages, streaks that take "an"."""
    for done, replies, sent, calls, previous, streak, cold in itertools.product(
        (0, 1, 4), (0, 1, 2), (0, 1, 2, 3, 5), (0, 1), (None, WeekNumbers(1, 2, 0, 0), WeekNumbers(5, 9, 1, 0)),
        (0, 1, 8, 11), (0, 4),
    ):
        if replies > done:  # a REPLIED action is a completed one
            continue
        active = 3 if done or sent else 0
        for written_to, answered in {(people, answered) for people in (min(sent, 1), (sent + 1) // 2, sent)
                                     for answered in (0, min(1, people), people)}:
            yield week(days_active=active, actions_completed=done, replies=replies, calls_booked=calls, sent=sent,
                       written_to=written_to, answered=answered, previous=previous, streak=streak, cold_leads=cold,
                       best_day="Tuesday" if done + sent >= 3 else None, wins=("Bo Chen",) if replies else ())


def all_texts(result: Insights) -> list[str]:
    return [result.insight_text, result.narrative_summary, result.next_week_focus, result.win_post,
            result.insight_post]


def test_every_sentence_is_true_for_any_week() -> None:
    for facts in every_week():
        check_true_to(facts, builtin.generate(facts))


def check_true_to(facts: WeekFacts, result: Insights) -> None:
    for text in all_texts(result):
        assert not ONE_WITH_A_PLURAL.search(text) and not A_BEFORE_EIGHT.search(text), (facts, text)
        assert not FOLLOW_UP_COUNT.search(text), (facts, text)  # the actions may all be Fast Wins
        assert all(match == "Fast Win" for match in FAST_WIN.findall(text)), (facts, text)
        if not facts.sent:
            assert not SENT_SOMETHING.search(text), (facts, text)
        if not facts.replies:
            assert "came in" not in text, (facts, text)
    if facts.reply_rate is None:  # fewer than 3 messages: no rate, in any words
        assert "reply rate" not in result.insight_text and "so far" not in result.insight_text, facts
        assert "%" not in result.win_post + result.insight_post, facts
    if not facts.answered:  # a 0% rate is not for publishing
        assert "%" not in result.insight_post, facts
    if facts.previous is None or facts.previous.actions_completed < 3:
        assert not re.search(r"\([+-]\d+%\)", result.insight_text), facts
    assert 2 <= sum(result.narrative_summary.count(mark) for mark in ".!?") <= 3, (facts, result.narrative_summary)
    told = set(re.split(r"(?<=[.!?]) ", result.insight_text))
    assert not told & set(re.split(r"(?<=[.!?]) ", result.narrative_summary)), (facts, result)  # nothing said twice
    if facts.calls_booked:  # calls booked are never a quiet week, nor a week to just show up in
        assert "quiet" not in result.narrative_summary and "Show up" not in result.next_week_focus, (facts, result)
    assert "on Monday" not in result.insight_text, (facts, result)  # the user's next work day may be any day


def test_a_streak_reads_as_it_is_said() -> None:
    for streak, said in ((8, "an 8-day streak"), (11, "an 11-day streak"), (12, "a 12-day streak")):
        result = builtin.generate(week(days_active=1, actions_completed=1, streak=streak))
        assert f"You reached {said}." in result.insight_text
        assert result.insight_post.startswith(f"I reached {said}: not one work day without")


def test_a_change_from_a_tiny_week_is_not_a_percentage() -> None:
    small = builtin.generate(week(days_active=3, actions_completed=5, previous=WeekNumbers(1, 2, 0, 0)))
    assert small.insight_text.startswith("You completed 5 actions, up from 2 the week before.")
    big = builtin.generate(week(days_active=3, actions_completed=6, previous=WeekNumbers(2, 4, 0, 0)))
    assert big.insight_text.startswith("You completed 6 actions, up from 4 the week before (+50%).")


def test_the_summary_notification_counts_in_words() -> None:
    summary = WeeklySummary(id=uuid.uuid4(), user_id=uuid.uuid4(), week_start_date=WEEK, days_active=1,
                            actions_completed=1, replies=1, calls_booked=1, insight_text="i", next_week_focus="f")
    text, _ = summary_message(summary, today=WEEK + timedelta(days=9))
    assert text == "Your week of 16–22 Nov: 1 action completed, 1 reply, 1 call booked"
