"""The chaos run's own reading of the schedule (bot/chaos/rule.py): it must agree with the README's
rule on the hard days, or the run would call a correct product wrong."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.chaos.rule import PLAN, SUMMARY, Profile, due_instant, owed_items

NEW_YORK = ZoneInfo("America/New_York")


def _profile(*, tz: str = "Europe/London", work_days: tuple[int, ...] = (1, 2, 3, 4, 5),
             at: time = time(7, 30), joined: datetime = datetime(2026, 11, 1, tzinfo=UTC),
             channels: tuple[str, ...] = ("email",)) -> Profile:
    return Profile(uuid.uuid4(), tz, joined, at, frozenset(work_days), frozenset(channels))


def test_a_morning_is_due_when_the_clock_first_shows_the_delivery_time() -> None:
    assert due_instant(date(2026, 11, 25), time(7, 30), ZoneInfo("Europe/London")) == datetime(
        2026, 11, 25, 7, 30, tzinfo=UTC)
    # Clocks fall back: the first of the two 01:30s (EDT).
    assert due_instant(date(2026, 11, 1), time(1, 30), NEW_YORK) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    # Clocks spring forward over 02:30: due the moment they jump (03:00 EDT).
    assert due_instant(date(2026, 3, 8), time(2, 30), NEW_YORK) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    # Lord Howe moves by half an hour: 02:15 is skipped, due at 02:30 daylight time.
    assert due_instant(date(2026, 10, 4), time(2, 15), ZoneInfo("Australia/Lord_Howe")) == datetime(
        2026, 10, 3, 15, 30, tzinfo=UTC)


def test_each_morning_is_owed_until_the_next_work_days_comes_due() -> None:
    start, end = datetime(2026, 11, 26, 12, tzinfo=UTC), datetime(2026, 11, 30, 12, tzinfo=UTC)  # Thu → Mon
    plans = [item for item in owed_items(_profile(), start=start, end=end) if item.kind == PLAN]
    # Thursday's (owed at the start), Friday's (owed over the weekend), Monday's (owed at the end).
    assert [item.period for item in plans] == [date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 30)]
    friday = plans[1]
    assert friday.opens == datetime(2026, 11, 27, 7, 30, tzinfo=UTC)
    assert friday.closes == datetime(2026, 11, 30, 7, 30, tzinfo=UTC)
    assert plans[-1].owed_at(end) and not friday.owed_at(end)


def test_nothing_is_owed_for_a_day_before_the_user_joined_nor_on_a_channel_that_is_off() -> None:
    joined = datetime(2026, 11, 27, 12, tzinfo=UTC)  # Friday noon, after Friday's morning
    start, end = datetime(2026, 11, 27, 12, tzinfo=UTC), datetime(2026, 11, 28, 12, tzinfo=UTC)
    profile = _profile(joined=joined, work_days=(1, 2, 3, 4, 5, 6, 7))
    assert [i.period for i in owed_items(profile, start=start, end=end) if i.kind == PLAN] == [
        date(2026, 11, 27), date(2026, 11, 28)]
    assert list(owed_items(_profile(channels=()), start=start, end=end)) == []


def test_last_weeks_summary_is_owed_from_monday_morning_to_the_end_of_the_week() -> None:
    start, end = datetime(2026, 11, 29, 12, tzinfo=UTC), datetime(2026, 12, 1, 12, tzinfo=UTC)
    summaries = [i for i in owed_items(_profile(work_days=(2, 3)), start=start, end=end) if i.kind == SUMMARY]
    this_week = next(i for i in summaries if i.period == date(2026, 11, 23))
    assert this_week.opens == datetime(2026, 11, 30, 7, 30, tzinfo=UTC)  # Monday, though not a work day
    assert this_week.closes == datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
    assert this_week.owed_at(end) and not this_week.owed_at(this_week.opens - timedelta(minutes=1))


def test_a_user_who_joined_after_monday_is_owed_no_summary_that_week() -> None:
    joined = datetime(2026, 11, 30, 9, tzinfo=UTC)
    start, end = datetime(2026, 11, 30, 9, tzinfo=UTC), datetime(2026, 12, 2, 9, tzinfo=UTC)
    assert [i for i in owed_items(_profile(joined=joined), start=start, end=end) if i.kind == SUMMARY] == []
