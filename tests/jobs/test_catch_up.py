"""Catching up after an outage of the scheduler: late rather than never, across midnight and across a
daylight-saving change, and never more than one morning (the most recent one owed), labelled with its
own date. Each morning's due instant is an instant: the first moment the user's clock shows their
delivery time (the first 01:30 of a night whose 01:00–02:00 comes twice, the moment the clocks jump
for a delivery time inside a spring-forward gap)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
import time_machine
from rq import Queue
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.jobs.schedule import due_deliveries
from core.jobs.tick import tick
from core.models import ActionType, Channel, DailyPlan, Delivery, DeliveryKind, DeliveryStatus, User
from tests.factories import make_action, make_lead, make_streak, make_user
from tests.jobs.conftest import run_worker

EVERY_DAY = [1, 2, 3, 4, 5, 6, 7]
WEEKDAYS = [1, 2, 3, 4, 5]


def _user(service: Session, *, tz: str, at: time, joined: datetime, name: str,
          work_days: list[int] = EVERY_DAY) -> User:
    user = make_user(service, timezone=tz, name=name, email=f"{name.lower()}@example.com", created_at=joined)
    user.settings.delivery_time = at
    user.settings.work_days = work_days
    make_lead(service, user, name=f"Lead of {name}")
    service.flush()
    return user


def _plans_sent(outbox: Path, part: str = "plain") -> list[tuple[str, str]]:
    """(subject up to the dash, text of ``part``: plain or html) of each plan email, oldest first."""
    if not outbox.exists():
        return []
    found = []
    for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        subject = str(message["Subject"])
        if subject.startswith("Your next best moves"):
            body = message.get_body(preferencelist=(part,))
            found.append((subject.split(" — ")[0], body.get_content() if body else ""))
    return found


def _tick_and_work(queue: Queue, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        tick(at=at, queue=queue)
        run_worker(queue)


def _sent_plans(service: Session, user: User) -> dict[date, datetime]:
    rows = service.scalars(select(Delivery).where(Delivery.user_id == user.id, Delivery.kind == DeliveryKind.PLAN))
    return {row.period: row.sent_at for row in rows if row.status == DeliveryStatus.SENT and row.sent_at}


def _plans_due(service: Session, user: User, at: datetime) -> list[date]:
    return [d.period for d in due_deliveries(service, at=at, channels=[Channel.EMAIL])
            if d.user_id == user.id and d.kind == DeliveryKind.PLAN]


def test_a_morning_owed_when_the_scheduler_went_down_before_midnight_is_sent_when_it_is_back(
    service: Session, queue: Queue, outbox: Path
) -> None:
    """London is on UTC in November. Nell's morning is at 23:45; the scheduler is down 22:30Z–01:30Z."""
    nell = _user(service, tz="Europe/London", at=time(23, 45), joined=datetime(2026, 11, 24, 9, tzinfo=UTC),
                 name="Nell")
    for at in (datetime(2026, 11, 24, 22, 0, tzinfo=UTC), datetime(2026, 11, 24, 22, 15, tzinfo=UTC)):
        _tick_and_work(queue, at)
    assert _plans_sent(outbox) == []  # 23:45 has not come yet
    back = datetime(2026, 11, 25, 1, 30, tzinfo=UTC)
    _tick_and_work(queue, back)
    _tick_and_work(queue, back + timedelta(minutes=15))
    assert _sent_plans(service, nell) == {date(2026, 11, 24): back}
    assert [subject for subject, _ in _plans_sent(outbox)] == ["Your next best moves for Tue 24 Nov"]

    # The same day, Nell adds a lead; that evening's plan is built at its own 23:45 and has it.
    ada = make_lead(service, nell, name="Ada Quill")
    make_action(service, nell, ada, action_type=ActionType.OUTREACH, due_date=date(2026, 11, 25),
                created_at=datetime(2026, 11, 25, 12, tzinfo=UTC))
    service.flush()
    for at in (datetime(2026, 11, 25, 23, 30, tzinfo=UTC), datetime(2026, 11, 25, 23, 45, tzinfo=UTC),
               datetime(2026, 11, 26, 0, 0, tzinfo=UTC)):
        _tick_and_work(queue, at)
    assert _sent_plans(service, nell) == {date(2026, 11, 24): back,
                                          date(2026, 11, 25): datetime(2026, 11, 25, 23, 45, tzinfo=UTC)}
    (_, tuesday), (wednesday_subject, wednesday) = _plans_sent(outbox)
    assert wednesday_subject == "Your next best moves for Wed 25 Nov"
    assert "Reach out to Ada Quill" in wednesday and "Ada Quill" not in tuesday


def test_after_the_fall_back_a_morning_owed_at_the_first_0130_is_sent_as_soon_as_the_scheduler_is_back(
    service: Session, queue: Queue, outbox: Path
) -> None:
    """New York leaves summer time at 02:00 EDT on Sunday 1 November 2026, so 01:00–02:00 comes twice.
    Nell's 01:30 morning is owed from 05:30Z (the first 01:30, EDT); the scheduler is down from 05:00Z
    and back at 06:00Z, when the clocks read 01:00 EST, before 01:30 for the second time."""
    nell = _user(service, tz="America/New_York", at=time(1, 30), joined=datetime(2026, 11, 1, 4, 30, tzinfo=UTC),
                 name="Nell")
    _tick_and_work(queue, datetime(2026, 11, 1, 4, 45, tzinfo=UTC))
    back = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
    for minutes in (0, 15, 30, 45, 60):
        _tick_and_work(queue, back + timedelta(minutes=minutes))
    assert _sent_plans(service, nell) == {date(2026, 11, 1): back}
    assert [subject for subject, _ in _plans_sent(outbox)] == ["Your next best moves for Sun 1 Nov"]


@pytest.mark.parametrize(("tz", "day", "delivery", "due"), [
    # An ordinary day: 07:30 in Paris is 06:30 UTC in November.
    ("Europe/Paris", date(2026, 11, 25), time(7, 30), datetime(2026, 11, 25, 6, 30, tzinfo=UTC)),
    # Fall back, 01:00–02:00 twice: the first 01:30 (EDT; BST), not the second.
    ("America/New_York", date(2026, 11, 1), time(1, 30), datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
    ("Europe/London", date(2026, 10, 25), time(1, 30), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
    # Spring forward, 02:00–03:00 (London 01:00–02:00) never happens: the moment the clocks jump.
    ("America/New_York", date(2026, 3, 8), time(2, 30), datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
    ("Europe/London", date(2026, 3, 29), time(1, 15), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
    # The days either side, whose readings a day away fall in the gap or the repeated hour.
    ("America/New_York", date(2026, 3, 9), time(2, 30), datetime(2026, 3, 9, 6, 30, tzinfo=UTC)),
    ("America/New_York", date(2026, 10, 31), time(1, 30), datetime(2026, 10, 31, 5, 30, tzinfo=UTC)),
    # Lord Howe moves its clocks by half an hour: 02:00 becomes 02:30 (UTC+10:30 to +11).
    ("Australia/Lord_Howe", date(2026, 10, 4), time(2, 10), datetime(2026, 10, 3, 15, 30, tzinfo=UTC)),
])
def test_a_morning_is_due_from_the_first_instant_the_users_clock_shows_their_delivery_time(
    service: Session, tz: str, day: date, delivery: time, due: datetime
) -> None:
    user = _user(service, tz=tz, at=delivery, joined=due - timedelta(days=30), name="Dora")
    assert day not in _plans_due(service, user, due - timedelta(minutes=1))
    assert _plans_due(service, user, due) == [day]
    assert _plans_due(service, user, due + timedelta(hours=2)) == [day]  # the repeated hour too


def test_after_days_of_outage_only_the_most_recent_morning_owed_is_sent(service: Session) -> None:
    """Mornings at 07:30 in London (UTC in November), Monday to Friday; the scheduler is down from
    Monday 23 November 07:00Z. Each instant owes one morning: the latest whose 07:30 has passed."""
    olga = _user(service, tz="Europe/London", at=time(7, 30), joined=datetime(2026, 11, 2, tzinfo=UTC),
                 name="Olga", work_days=WEEKDAYS)
    # Joined on Thursday 26 at 05:00Z: nothing from before that day, Thursday's morning at its 07:30.
    newcomer = _user(service, tz="Europe/London", at=time(7, 30), joined=datetime(2026, 11, 26, 5, tzinfo=UTC),
                     name="Newt", work_days=WEEKDAYS)
    thursday_early = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    assert _plans_due(service, olga, thursday_early) == [date(2026, 11, 25)]  # Wednesday's: at most one
    assert _plans_due(service, newcomer, thursday_early) == []
    # Once Thursday's morning is due, Wednesday's is no longer owed.
    assert _plans_due(service, olga, datetime(2026, 11, 26, 7, 30, tzinfo=UTC)) == [date(2026, 11, 26)]
    assert _plans_due(service, newcomer, datetime(2026, 11, 26, 7, 30, tzinfo=UTC)) == [date(2026, 11, 26)]
    # Friday's morning, not sent, is owed over the weekend until Monday's comes due.
    for at in (datetime(2026, 11, 28, 12, 0, tzinfo=UTC), datetime(2026, 11, 30, 7, 29, tzinfo=UTC)):
        assert _plans_due(service, olga, at) == [date(2026, 11, 27)]
    assert _plans_due(service, olga, datetime(2026, 11, 30, 7, 30, tzinfo=UTC)) == [date(2026, 11, 30)]
    # A morning sent, or failed for good, is owed no more, and the one before it is not owed instead.
    for period, status in ((date(2026, 11, 27), DeliveryStatus.SENT), (date(2026, 11, 26), DeliveryStatus.FAILED)):
        service.add(Delivery(user_id=olga.id, kind=DeliveryKind.PLAN, channel=Channel.EMAIL, period=period,
                             status=status))
        service.flush()
    assert _plans_due(service, olga, datetime(2026, 11, 28, 12, 0, tzinfo=UTC)) == []
    assert _plans_due(service, olga, datetime(2026, 11, 27, 6, 0, tzinfo=UTC)) == []


def test_a_caught_up_morning_builds_and_shows_the_plan_of_its_own_day(
    service: Session, queue: Queue, outbox: Path
) -> None:
    """Caught up after Nell's local midnight, Tuesday's plan is Tuesday's: built for that date, from what
    was due by then, and it says so; Wednesday's is not built before its own morning."""
    nell = _user(service, tz="Europe/London", at=time(23, 45), joined=datetime(2026, 11, 24, 9, tzinfo=UTC),
                 name="Nell")
    bo = make_lead(service, nell, name="Bo Tuesday")
    make_action(service, nell, bo, action_type=ActionType.OUTREACH, due_date=date(2026, 11, 24),
                created_at=datetime(2026, 11, 24, 10, tzinfo=UTC))
    cy = make_lead(service, nell, name="Cy Wednesday")
    make_action(service, nell, cy, action_type=ActionType.OUTREACH, due_date=date(2026, 11, 25),
                created_at=datetime(2026, 11, 24, 10, tzinfo=UTC))
    service.flush()
    _tick_and_work(queue, datetime(2026, 11, 25, 1, 30, tzinfo=UTC))
    plans = service.scalars(select(DailyPlan).where(DailyPlan.user_id == nell.id)).all()
    assert [plan.date for plan in plans] == [date(2026, 11, 24)]
    ((subject, text),) = _plans_sent(outbox)
    assert subject == "Your next best moves for Tue 24 Nov"
    assert "Reach out to Bo Tuesday" in text and "Cy Wednesday" not in text


def test_a_caught_up_morning_says_of_today_only_what_is_true_of_the_readers_today(
    service: Session, queue: Queue, outbox: Path
) -> None:
    """Nell finished an action on Tuesday; Tuesday's morning, caught up after her midnight, said
    "You are on a 1-day streak, today included." and, its plan having nothing open, "Nothing is
    waiting on you today." on Wednesday, when nothing was done yet and Wednesday's plan is to come.
    The streak line speaks of her today, as `/nbm streak` would; the preheader names Tuesday."""
    nell = _user(service, tz="Europe/London", at=time(23, 45), joined=datetime(2026, 11, 24, 9, tzinfo=UTC),
                 name="Nell")
    make_streak(nell, [date(2026, 11, 24)])
    _tick_and_work(queue, datetime(2026, 11, 25, 1, 30, tzinfo=UTC))
    ((subject, text),) = _plans_sent(outbox)
    ((_, html),) = _plans_sent(outbox, "html")
    assert subject == "Your next best moves for Tue 24 Nov"
    assert "You are on a 1-day streak. One action done today keeps it going." in text
    assert "today included" not in text and "today included" not in html
    assert "Nothing is left to do in your plan for Tue 24 Nov." in html
    assert "Nothing is waiting on you today" not in html


def test_a_plan_delivered_after_noon_or_caught_up_at_night_greets_for_the_hour_it_arrives(
    service: Session, queue: Queue, outbox: Path
) -> None:
    """Delivery times are each user's choice, and a caught-up morning arrives at any hour: "Good
    morning" only in the morning of the reader's clock. Eve's 18:30 on Wednesday is missed (the
    scheduler is down) and caught up at 01:00 on her Thursday."""
    joined = datetime(2026, 11, 25, 6, tzinfo=UTC)
    _user(service, tz="Europe/London", at=time(7, 30), joined=joined, name="Mona")
    _user(service, tz="Europe/London", at=time(14, 0), joined=joined, name="Pia")
    _user(service, tz="America/New_York", at=time(18, 30), joined=joined, name="Eve")
    for at in (datetime(2026, 11, 25, 7, 30, tzinfo=UTC), datetime(2026, 11, 25, 14, 0, tzinfo=UTC),
               datetime(2026, 11, 26, 6, 0, tzinfo=UTC)):
        _tick_and_work(queue, at)
    greetings = sorted(text.splitlines()[0] for _, text in _plans_sent(outbox))
    assert greetings == ["Good afternoon, Pia.", "Good evening, Eve.", "Good morning, Mona."]
