"""The morning run end to end: tick, RQ worker, plan, delivery; exactly one per user, channel and morning."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rq import Queue
from rq.registry import FailedJobRegistry
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.email.backends import SendFailed
from core.config import get_settings
from core.jobs import attempts, tasks
from core.jobs.channels import registered_channels
from core.jobs.schedule import due_deliveries
from core.jobs.tasks import enqueue_due
from core.jobs.tick import tick
from core.models import Delivery, DeliveryKind, DeliveryStatus, User
from tests.factories import make_lead, make_user
from tests.jobs.conftest import run_worker

EVERY_DAY = [1, 2, 3, 4, 5, 6, 7]


def _emails(outbox: Path) -> list[dict[str, str]]:
    if not outbox.exists():
        return []
    messages = [BytesParser(policy=policy.default).parsebytes(p.read_bytes()) for p in sorted(outbox.glob("*.eml"))]
    return [{"to": str(m["To"]), "subject": str(m["Subject"]), "id": str(m["Message-ID"])} for m in messages]


def _user(service: Session, tz: str, name: str) -> User:
    user = make_user(service, timezone=tz, name=name, email=f"{name.lower()}@example.com",
                     created_at=datetime(2026, 11, 1, tzinfo=UTC))
    user.settings.work_days = EVERY_DAY
    make_lead(service, user, name=f"Lead of {name}")
    service.flush()
    return user


class Refusing:
    """A mail server that refuses every message for good."""

    name = "refusing"

    def send(self, message: object) -> None:
        raise SendFailed("554 5.7.1 recipient refused", temporary=False)


def _tick_and_work(queue: Queue, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        tick(at=at, queue=queue)
        run_worker(queue)


def test_three_timezones_across_a_day_each_get_one_digest_at_their_morning(
    service: Session, queue: Queue, outbox: Path
) -> None:
    users = [_user(service, "Pacific/Kiritimati", "Kiri"), _user(service, "America/Los_Angeles", "Lana"),
             _user(service, "Asia/Kolkata", "Kavya")]
    start = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
    for step in range(0, 24 * 4):  # every 15 minutes for a day
        _tick_and_work(queue, start + timedelta(minutes=15 * step))
    plans = [e for e in _emails(outbox) if e["subject"].startswith("Your next best moves")]
    sent = service.scalars(select(Delivery).where(Delivery.user_id.in_([u.id for u in users]),
                                                  Delivery.kind == DeliveryKind.PLAN)).all()
    assert all(d.status == DeliveryStatus.SENT for d in sent)
    assert len(plans) == len(sent) == len({e["id"] for e in plans})  # one email per delivery, none repeated
    when = {(u.timezone, d.period.day): d.sent_at.astimezone(ZoneInfo(u.timezone)).strftime("%d %H:%M")
            for u in users for d in sent if d.user_id == u.id}
    # Each morning whose 07:30 falls inside the day is sent at that 07:30, local; the morning most
    # recently owed when the ticks began (the users joined on 1 Nov) is caught up by the first tick:
    # today's where its 07:30 had passed, else the day before's (Kolkata's 05:30, README "catch-up").
    assert when == {
        ("Pacific/Kiritimati", 25): "25 14:00", ("Pacific/Kiritimati", 26): "26 07:30",
        ("America/Los_Angeles", 24): "24 16:00", ("America/Los_Angeles", 25): "25 07:30",
        ("Asia/Kolkata", 24): "25 05:30", ("Asia/Kolkata", 25): "25 07:30",
    }


def test_the_monday_summary_goes_only_to_users_who_lived_last_week(
    service: Session, queue: Queue, outbox: Path
) -> None:
    """Monday 23 Nov in London: Ann joined on Sunday evening, in last week (her first summary, of one
    evening); Bo this morning, after it ended: no summary for him all week, nor any record of one."""
    ann, bo = _user(service, "Europe/London", "Ann"), _user(service, "Europe/London", "Bo")
    ann.created_at, bo.created_at = datetime(2026, 11, 22, 20, tzinfo=UTC), datetime(2026, 11, 23, 6, tzinfo=UTC)
    service.flush()
    for at in (datetime(2026, 11, 23, 8, tzinfo=UTC), datetime(2026, 11, 25, 8, tzinfo=UTC)):
        _tick_and_work(queue, at)
    summaries = [(e["to"], e["subject"].split(" — ")[0]) for e in _emails(outbox)
                 if e["subject"].startswith("Your week")]
    assert summaries == [(f"Ann <{ann.email}>", "Your week of 16–22 Nov")]
    recorded = service.scalars(select(Delivery.user_id).where(Delivery.kind == DeliveryKind.WEEKLY_SUMMARY,
                                                              Delivery.user_id.in_([ann.id, bo.id])))
    assert recorded.all() == [ann.id]


def test_two_schedulers_ticking_at_once_send_one_morning(service: Session, queue: Queue, outbox: Path) -> None:
    """Both schedulers read the same due work (a read-only query) and race to enqueue it in Redis."""
    user = _user(service, "Europe/Paris", "Pierre")
    at = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # 08:00 in Paris
    with time_machine.travel(at, tick=False):
        due = due_deliveries(service, at=at, channels=registered_channels())
        racers = [threading.Thread(target=enqueue_due, args=(due,), kwargs={"at": at, "queue": queue})
                  for _ in range(2)]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join()
        tick(at=at + timedelta(minutes=1), queue=queue)  # and a third tick a minute later, before any worker
        assert queue.count == 3  # the plan batch, last week's summary batch, the hour's housekeeping
        run_worker(queue)
    _tick_and_work(queue, at + timedelta(minutes=2))
    emails = _emails(outbox)
    assert {e["to"] for e in emails} == {f"Pierre <{user.email}>"}
    assert sorted(e["subject"].split(" — ")[0] for e in emails) == [
        "Your next best moves for Wed 25 Nov", "Your week of 16–22 Nov"]


def test_a_crash_between_sending_and_recording_is_retried_with_the_same_message_id(
    service: Session, queue: Queue, outbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The row says pending until the send is recorded, and the dead job's lease keeps every other job
    off it until the lease lapses; then the retry sends what is missing, and the email carries the
    same Message-ID, so mail systems show it once."""
    user = _user(service, "UTC", "Uma")
    real_record = attempts._record_sent
    crashes = iter([True])

    def crash_once(session: Session, delivery_id: object, external_id: str) -> None:
        if next(crashes, False):
            raise SystemExit("the worker died here")
        real_record(session, delivery_id, external_id)

    monkeypatch.setattr(attempts, "_record_sent", crash_once)
    with time_machine.travel(datetime(2026, 11, 25, 8, 0, tzinfo=UTC), tick=False):
        with pytest.raises(SystemExit):
            tasks.deliver("plan", "email", str(user.id), "2026-11-25")
        pending = service.scalars(select(Delivery).where(Delivery.user_id == user.id)).one()
        assert (pending.status, pending.attempts) == (DeliveryStatus.PENDING, 1)
        assert tasks.deliver("plan", "email", str(user.id), "2026-11-25").startswith("being sent by another job")
    lapsed = datetime(2026, 11, 25, 8, 0, tzinfo=UTC) + timedelta(seconds=get_settings().send_lease_seconds + 1)
    with time_machine.travel(lapsed, tick=False):
        assert tasks.deliver("plan", "email", str(user.id), "2026-11-25").startswith("sent")
        assert tasks.deliver("plan", "email", str(user.id), "2026-11-25").startswith("already sent")
    service.refresh(pending)
    assert (pending.status, pending.attempts) == (DeliveryStatus.SENT, 2)
    emails = _emails(outbox)
    assert len(emails) == 2 and len({e["id"] for e in emails}) == 1


def test_a_permanent_failure_ends_in_the_failed_registry_with_its_reason(
    service: Session, queue: Queue, outbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = _user(service, "UTC", "Ursula")
    at = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    monkeypatch.setattr("bot.email.delivery.get_backend", lambda: Refusing())
    with time_machine.travel(at, tick=False):
        tick(at=at, queue=queue)
        run_worker(queue)
        # Read while the clock is still pinned: RQ keeps a failed job until a week after it failed
        # by the worker's (pinned) clock, and would purge it when read under the real date.
        failed = FailedJobRegistry(queue=queue)
        (job_id,) = [j for j in failed.get_job_ids() if j.startswith("deliver-plan")]
        assert "554 5.7.1 recipient refused" in (queue.fetch_job(job_id).latest_result().exc_string or "")
    plan = select(Delivery).where(Delivery.user_id == user.id, Delivery.kind == DeliveryKind.PLAN)
    delivery = service.scalars(plan).one()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)  # no retries: they cannot help
    _tick_and_work(queue, at + timedelta(minutes=5))  # and not asked for again
    assert service.scalars(plan).one().attempts == 1


def test_a_dst_weekend_with_a_real_worker_sends_each_morning_once_at_0730(
    service: Session, queue: Queue, outbox: Path
) -> None:
    """London leaves summer time at 02:00 on Sunday 25 October 2026. Lou joined as the ticks began."""
    user = _user(service, "Europe/London", "Lou")
    start = user.created_at = datetime(2026, 10, 24, 0, 0, tzinfo=UTC)
    service.flush()
    for step in range(0, 4 * 24 * 2):  # every 30 minutes, Saturday to Tuesday
        _tick_and_work(queue, start + timedelta(minutes=30 * step))
    sent = service.scalars(select(Delivery).where(Delivery.user_id == user.id, Delivery.kind == DeliveryKind.PLAN)
                           .order_by(Delivery.period)).all()
    london = ZoneInfo("Europe/London")
    assert [(d.period.day, d.sent_at.astimezone(london).strftime("%H:%M")) for d in sent] == [
        (24, "07:30"), (25, "07:30"), (26, "07:30"), (27, "07:30")]
    assert len([e for e in _emails(outbox) if e["subject"].startswith("Your next best moves")]) == 4
