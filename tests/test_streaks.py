"""Streaks in the user's timezone: midnight, DST, non-work days, "not yet today", system closes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy.orm import Session

from core.db import set_context
from core.models import ActionState, Channel, User
from core.streaks import refresh_streak, refresh_streaks
from tests.factories import make_action, make_event, make_user

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def complete(session: Session, user: User, at: datetime, *, to: ActionState = ActionState.DONE,
             channel: Channel = Channel.SLACK) -> None:
    """A completion event at the instant ``at`` (a tz-aware local or UTC datetime)."""
    action = make_action(session, user, due_date=at.date(), created_at=at.astimezone(UTC))
    make_event(session, action, from_state=ActionState.NEW, to_state=to, channel=channel, at=at)


@pytest.fixture()
def paris(service: Session) -> User:
    return make_user(service, timezone="Europe/Paris")


def test_no_completion_means_no_streak(service: Session, paris: User) -> None:
    assert refresh_streak(service, user=paris, today=date(2026, 11, 25)) == 0
    assert paris.streak_count == 0
    assert paris.last_action_date is None


def test_a_completion_at_2330_and_one_at_0030_are_two_local_days(service: Session) -> None:
    # Asia/Tokyo is UTC+9: 23:30 Tue and 00:30 Wed local are 14:30 and 15:30 UTC on the same Tuesday.
    user = make_user(service, timezone="Asia/Tokyo")
    tokyo = ZoneInfo("Asia/Tokyo")
    complete(service, user, datetime(2026, 11, 24, 23, 30, tzinfo=tokyo))
    complete(service, user, datetime(2026, 11, 25, 0, 30, tzinfo=tokyo))
    assert refresh_streak(service, user=user, today=date(2026, 11, 25)) == 2
    assert user.last_action_date == date(2026, 11, 25)


def test_the_same_instants_are_one_day_for_a_user_in_utc(service: Session) -> None:
    user = make_user(service, timezone="UTC")
    tokyo = ZoneInfo("Asia/Tokyo")
    complete(service, user, datetime(2026, 11, 24, 23, 30, tzinfo=tokyo))
    complete(service, user, datetime(2026, 11, 25, 0, 30, tzinfo=tokyo))
    assert refresh_streak(service, user=user, today=date(2026, 11, 24)) == 1


def test_paris_autumn_dst_change_keeps_days_local(service: Session, paris: User) -> None:
    # Sunday 25 Oct 2026 Paris falls back from CEST (+2) to CET (+1); all work days here.
    set_work_days(service, paris, [1, 2, 3, 4, 5, 6, 7])
    complete(service, paris, datetime(2026, 10, 24, 23, 30, tzinfo=PARIS))  # 21:30 UTC Sat
    complete(service, paris, datetime(2026, 10, 25, 0, 30, tzinfo=PARIS))  # 22:30 UTC Sat
    complete(service, paris, datetime(2026, 10, 26, 0, 30, tzinfo=PARIS))  # 23:30 UTC Sun
    assert refresh_streak(service, user=paris, today=date(2026, 10, 26)) == 3
    assert paris.last_action_date == date(2026, 10, 26)


def test_new_york_spring_dst_change_keeps_days_local(service: Session) -> None:
    # Sunday 8 Mar 2026 New York springs forward from EST (-5) to EDT (-4).
    user = make_user(service, timezone="America/New_York")
    set_work_days(service, user, [1, 2, 3, 4, 5, 6, 7])
    complete(service, user, datetime(2026, 3, 7, 23, 30, tzinfo=NEW_YORK))  # 04:30 UTC Sun
    complete(service, user, datetime(2026, 3, 8, 23, 30, tzinfo=NEW_YORK))  # 03:30 UTC Mon
    complete(service, user, datetime(2026, 3, 9, 0, 30, tzinfo=NEW_YORK))  # 04:30 UTC Mon
    assert refresh_streak(service, user=user, today=date(2026, 3, 9)) == 3


def test_a_weekend_off_does_not_break_the_streak(service: Session, paris: User) -> None:
    complete(service, paris, datetime(2026, 11, 20, 10, tzinfo=PARIS))  # Friday
    complete(service, paris, datetime(2026, 11, 23, 10, tzinfo=PARIS))  # Monday
    assert refresh_streak(service, user=paris, today=date(2026, 11, 23)) == 2


def test_a_completion_on_a_non_work_day_counts(service: Session, paris: User) -> None:
    complete(service, paris, datetime(2026, 11, 20, 10, tzinfo=PARIS))  # Friday
    complete(service, paris, datetime(2026, 11, 21, 10, tzinfo=PARIS))  # Saturday
    complete(service, paris, datetime(2026, 11, 23, 10, tzinfo=PARIS))  # Monday
    assert refresh_streak(service, user=paris, today=date(2026, 11, 23)) == 3


def test_nothing_done_yet_today_keeps_yesterdays_streak(service: Session, paris: User) -> None:
    complete(service, paris, datetime(2026, 11, 23, 10, tzinfo=PARIS))  # Monday
    complete(service, paris, datetime(2026, 11, 24, 10, tzinfo=PARIS))  # Tuesday
    assert refresh_streak(service, user=paris, today=date(2026, 11, 25)) == 2
    assert paris.streak_count == 2
    assert paris.last_action_date == date(2026, 11, 24)


def test_a_missed_work_day_breaks_the_streak(service: Session, paris: User) -> None:
    complete(service, paris, datetime(2026, 11, 23, 10, tzinfo=PARIS))  # Monday
    complete(service, paris, datetime(2026, 11, 25, 10, tzinfo=PARIS))  # Wednesday, Tuesday missed
    assert refresh_streak(service, user=paris, today=date(2026, 11, 25)) == 1
    # Thursday over with nothing done: on Friday the streak is gone.
    assert refresh_streak(service, user=paris, today=date(2026, 11, 27)) == 0
    assert paris.last_action_date == date(2026, 11, 25)


def test_the_users_own_work_days_decide(service: Session, paris: User) -> None:
    set_work_days(service, paris, [1, 3, 5])  # Mon, Wed, Fri
    complete(service, paris, datetime(2026, 11, 23, 10, tzinfo=PARIS))  # Monday
    complete(service, paris, datetime(2026, 11, 25, 10, tzinfo=PARIS))  # Wednesday
    assert refresh_streak(service, user=paris, today=date(2026, 11, 25)) == 2


def test_system_closes_and_other_states_do_not_count(service: Session, paris: User) -> None:
    complete(service, paris, datetime(2026, 11, 24, 10, tzinfo=PARIS))
    complete(service, paris, datetime(2026, 11, 25, 10, tzinfo=PARIS), channel=Channel.SYSTEM)
    complete(service, paris, datetime(2026, 11, 25, 11, tzinfo=PARIS), to=ActionState.SENT)
    assert refresh_streak(service, user=paris, today=date(2026, 11, 25)) == 1
    assert paris.last_action_date == date(2026, 11, 24)


def test_replied_counts_and_two_completions_on_a_day_count_once(service: Session, paris: User) -> None:
    complete(service, paris, datetime(2026, 11, 24, 9, tzinfo=PARIS), to=ActionState.REPLIED)
    complete(service, paris, datetime(2026, 11, 24, 15, tzinfo=PARIS))
    complete(service, paris, datetime(2026, 11, 25, 9, tzinfo=PARIS), to=ActionState.REPLIED)
    assert refresh_streak(service, user=paris, today=date(2026, 11, 25)) == 2


def test_today_defaults_to_the_users_local_date(service: Session) -> None:
    # 23:30 UTC Tue is already Wednesday in Tokyo: Monday's completion is then two days old,
    # and Tuesday (a work day) is over with nothing done.
    user = make_user(service, timezone="Asia/Tokyo")
    tokyo = ZoneInfo("Asia/Tokyo")
    complete(service, user, datetime(2026, 11, 23, 12, tzinfo=tokyo))  # Monday
    with time_machine.travel(datetime(2026, 11, 24, 12, tzinfo=UTC), tick=False):
        assert refresh_streak(service, user=user) == 1
    with time_machine.travel(datetime(2026, 11, 24, 23, 30, tzinfo=UTC), tick=False):
        assert refresh_streak(service, user=user) == 0


def test_a_user_refreshes_their_own_streak_under_row_level_security(service: Session, paris: User) -> None:
    complete(service, paris, datetime(2026, 11, 25, 10, tzinfo=PARIS))
    set_context(service, user_id=paris.id)
    assert refresh_streak(service, user=paris, today=date(2026, 11, 25)) == 1
    service.expire(paris)
    assert paris.streak_count == 1


def test_refresh_streaks_updates_every_user_in_their_own_timezone(service: Session) -> None:
    # At 06:00 UTC Wed, Los Angeles is still on Tuesday (22:00) and Tokyo is on Wednesday (15:00).
    la = make_user(service, timezone="America/Los_Angeles")
    tokyo_user = make_user(service, timezone="Asia/Tokyo")
    idle = make_user(service, timezone="Europe/Paris")
    for user, tz in ((la, "America/Los_Angeles"), (tokyo_user, "Asia/Tokyo")):
        for day in (23, 24):  # Monday and Tuesday, local
            complete(service, user, datetime(2026, 11, day, 10, tzinfo=ZoneInfo(tz)))

    assert refresh_streaks(service, at=datetime(2026, 11, 25, 6, tzinfo=UTC)) == 2
    assert (la.streak_count, la.last_action_date) == (2, date(2026, 11, 24))
    assert (tokyo_user.streak_count, tokyo_user.last_action_date) == (2, date(2026, 11, 24))
    assert idle.streak_count == 0

    # Nothing changed: nothing to write.
    assert refresh_streaks(service, at=datetime(2026, 11, 25, 6, tzinfo=UTC)) == 0

    # 16:00 UTC Thu: Wednesday is over in Tokyo (01:00 Fri) and in LA (08:00 Thu); both missed it.
    assert refresh_streaks(service, at=datetime(2026, 11, 26, 16, tzinfo=UTC)) == 2
    assert (la.streak_count, tokyo_user.streak_count) == (0, 0)


def test_refresh_streaks_sees_a_day_end_in_one_zone_but_not_another(service: Session) -> None:
    la = make_user(service, timezone="America/Los_Angeles")
    tokyo_user = make_user(service, timezone="Asia/Tokyo")
    for user, tz in ((la, "America/Los_Angeles"), (tokyo_user, "Asia/Tokyo")):
        complete(service, user, datetime(2026, 11, 24, 10, tzinfo=ZoneInfo(tz)))  # Tuesday
    refresh_streaks(service, at=datetime(2026, 11, 24, 20, tzinfo=UTC))
    # 06:00 UTC Thu: Tokyo's Wednesday is over (15:00 Thu), LA's is not (22:00 Wed).
    assert refresh_streaks(service, at=datetime(2026, 11, 26, 6, tzinfo=UTC)) == 1
    assert tokyo_user.streak_count == 0
    assert la.streak_count == 1


def set_work_days(session: Session, user: User, days: list[int]) -> None:
    user.settings.work_days = days
    session.flush()
