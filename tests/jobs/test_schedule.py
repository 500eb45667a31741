"""The schedule: each user's morning at their own local delivery time, once, whatever the server's clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from core.jobs.schedule import due_deliveries
from core.models import Channel, Delivery, DeliveryKind, DeliveryStatus, SlackUserLink, User
from tests.factories import JOINED, make_user

EVERY_DAY = [1, 2, 3, 4, 5, 6, 7]


def _run_ticks(session: Session, users: list[User], start: datetime, hours: int, step_minutes: int = 5,
               skip: tuple[datetime, datetime] | None = None) -> dict[tuple[str, date], datetime]:
    """Tick every few minutes; each due plan is 'sent' at once. Returns (user email, day) → first due instant."""
    sent: dict[tuple[str, date], datetime] = {}
    ids = {u.id: u for u in users}
    at = start
    while at < start + timedelta(hours=hours):
        if not (skip and skip[0] <= at < skip[1]):
            for due in due_deliveries(session, at=at, channels=[Channel.EMAIL]):
                if due.user_id not in ids or due.kind != DeliveryKind.PLAN:
                    continue
                key = (ids[due.user_id].email, due.period)
                assert key not in sent, f"{key} delivered twice"
                sent[key] = at
                session.add(Delivery(user_id=due.user_id, kind=due.kind, channel=due.channel, period=due.period,
                                     status=DeliveryStatus.SENT))
                session.flush()
        at += timedelta(minutes=step_minutes)
    return sent


def _local(at: datetime, tz: str) -> datetime:
    return at.astimezone(ZoneInfo(tz))


def test_three_timezones_each_get_their_own_0730(service: Session) -> None:
    zones = ["Pacific/Kiritimati", "America/Los_Angeles", "Asia/Kolkata"]
    users = [make_user(service, timezone=tz, created_at=JOINED) for tz in zones]
    for user in users:
        user.settings.work_days = EVERY_DAY
    start = datetime(2026, 11, 24, 0, tzinfo=UTC)
    sent = _run_ticks(service, users, start, hours=48)
    for user in users:
        # A morning whose 07:30 had passed when the ticks began is served by the first tick (catch-up).
        mornings = {day: at for (email, day), at in sent.items() if email == user.email and at != start}
        assert len(mornings) >= 2
        for day, at in mornings.items():
            local = _local(at, user.timezone)
            assert (local.date(), local.time()) == (day, time(7, 30)), (user.timezone, local)


def test_a_dst_weekend_neither_skips_nor_doubles_a_morning(service: Session) -> None:
    """Europe/London and America/New_York leave summer time on 25 Oct and 1 Nov 2026."""
    users = [make_user(service, timezone=tz, created_at=JOINED) for tz in ("Europe/London", "America/New_York")]
    for user in users:
        user.settings.work_days = EVERY_DAY
    start = datetime(2026, 10, 24, 0, tzinfo=UTC)
    sent = _run_ticks(service, users, start, hours=24 * 9)
    for user in users:
        days = sorted(day for (email, day), at in sent.items() if email == user.email and at != start)
        assert days == [days[0] + timedelta(days=n) for n in range(len(days))], "a morning was skipped"
        assert len(days) >= 8
        assert {_local(sent[(user.email, d)], user.timezone).time() for d in days} == {time(7, 30)}


def test_a_tick_missed_while_the_scheduler_was_down_is_caught_up(service: Session) -> None:
    user = make_user(service, timezone="Europe/Paris",  # 07:30 Paris = 06:30 UTC in November
                     created_at=datetime(2026, 11, 25, tzinfo=UTC))  # joined that day: no earlier morning owed
    down = (datetime(2026, 11, 25, 5, tzinfo=UTC), datetime(2026, 11, 25, 9, 12, tzinfo=UTC))
    sent = _run_ticks(service, [user], datetime(2026, 11, 25, 0, tzinfo=UTC), hours=12, skip=down)
    assert sent == {(user.email, date(2026, 11, 25)): datetime(2026, 11, 25, 9, 15, tzinfo=UTC)}


def test_non_work_days_and_users_with_every_channel_off_are_skipped(service: Session) -> None:
    joined = datetime(2026, 11, 28, tzinfo=UTC)  # on the Saturday: Friday's morning is not theirs
    weekday_user, silent = (make_user(service, timezone="UTC", created_at=joined) for _ in range(2))
    silent.settings.email_enabled = False
    service.flush()
    saturday = datetime(2026, 11, 28, 8, tzinfo=UTC)
    monday = datetime(2026, 11, 30, 8, tzinfo=UTC)
    assert [d for d in due_deliveries(service, at=saturday, channels=list(Channel)) if d.kind == DeliveryKind.PLAN
            and d.user_id in {weekday_user.id, silent.id}] == []
    due = {(d.user_id, d.channel) for d in due_deliveries(service, at=monday, channels=list(Channel))
           if d.kind == DeliveryKind.PLAN}
    assert (weekday_user.id, Channel.EMAIL) in due and not any(uid == silent.id for uid, _ in due)


def test_slack_is_due_only_for_users_linked_to_slack_and_only_where_slack_runs(service: Session) -> None:
    user = make_user(service, timezone="UTC", created_at=JOINED)
    user.settings.slack_enabled = True
    service.add(SlackUserLink(user_id=user.id, team_id="T1", slack_user_id="U1"))
    service.flush()
    at = datetime(2026, 11, 25, 8, tzinfo=UTC)
    mine = lambda channels: {d.channel for d in due_deliveries(service, at=at, channels=channels)  # noqa: E731
                             if d.user_id == user.id and d.kind == DeliveryKind.PLAN}
    assert mine([Channel.EMAIL, Channel.SLACK]) == {Channel.EMAIL, Channel.SLACK}
    assert mine([Channel.EMAIL]) == {Channel.EMAIL}


def test_a_failed_delivery_is_not_asked_for_again_but_a_pending_one_is(service: Session) -> None:
    user = make_user(service, timezone="UTC", created_at=JOINED)
    at = datetime(2026, 11, 25, 8, tzinfo=UTC)
    delivery = Delivery(user_id=user.id, kind=DeliveryKind.PLAN, channel=Channel.EMAIL, period=date(2026, 11, 25),
                        status=DeliveryStatus.PENDING)
    service.add(delivery)
    service.flush()
    assert any(d.user_id == user.id for d in due_deliveries(service, at=at, channels=[Channel.EMAIL]))
    delivery.status = DeliveryStatus.FAILED
    service.flush()
    assert not any(d.user_id == user.id and d.kind == DeliveryKind.PLAN
                   for d in due_deliveries(service, at=at, channels=[Channel.EMAIL]))


def test_the_weekly_summary_is_due_from_monday_morning_for_the_week_before(service: Session) -> None:
    user = make_user(service, timezone="Asia/Kolkata", created_at=datetime(2026, 11, 1, tzinfo=UTC))
    sunday_night = datetime(2026, 11, 29, 18, tzinfo=UTC)  # Mon 30 Nov 00:00 in Kolkata is 18:30 UTC on Sunday
    monday_early = datetime(2026, 11, 29, 19, tzinfo=UTC)  # Mon 00:30 local: before 07:30
    monday_morning = datetime(2026, 11, 30, 2, tzinfo=UTC)  # Mon 07:30 local
    summaries = lambda at: [d for d in due_deliveries(service, at=at, channels=[Channel.EMAIL])  # noqa: E731
                            if d.user_id == user.id and d.kind == DeliveryKind.WEEKLY_SUMMARY]
    assert [d.period for d in summaries(sunday_night)] == [date(2026, 11, 16)]  # last week's, still due
    assert summaries(monday_early) == []  # nothing yet for the week that just ended
    assert [d.period for d in summaries(monday_morning)] == [date(2026, 11, 23)]


def test_nobody_is_owed_anything_at_an_instant_before_they_joined(service: Session) -> None:
    """Ann (Paris) joins at 15:10 UTC on Sunday 29 Nov: asked about the Wednesday before, when her
    07:30 had passed, the schedule owes her nothing; on the Sunday, nothing either (Friday's morning
    was before she came); on Monday, her first morning, and the summary of her first (partial) week."""
    ann = make_user(service, timezone="Europe/Paris", created_at=datetime(2026, 11, 29, 15, 10, tzinfo=UTC))
    mine = lambda at: [d for d in due_deliveries(service, at=at, channels=[Channel.EMAIL])  # noqa: E731
                       if d.user_id == ann.id]
    assert mine(datetime(2026, 11, 25, 7, 30, tzinfo=UTC)) == []
    assert mine(datetime(2026, 11, 29, 16, 0, tzinfo=UTC)) == []
    assert sorted((d.kind, d.period) for d in mine(datetime(2026, 11, 30, 6, 30, tzinfo=UTC))) == [
        (DeliveryKind.PLAN, date(2026, 11, 30)), (DeliveryKind.WEEKLY_SUMMARY, date(2026, 11, 23))]
