"""A delivery on a channel the user has off is not owed: refusing it records nothing, so it is sent
if the channel is back on while it is still owed (``bot.email.delivery.require_email_on``,
``core.jobs.tasks``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
import time_machine
from rq import Queue
from rq.registry import FailedJobRegistry
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.jobs.tick import tick
from core.models import Delivery, DeliveryKind, DeliveryStatus, User
from tests.cli import nbm
from tests.factories import JOINED, make_lead, make_user
from tests.jobs.conftest import run_worker

#: Wed 25 Nov 2026, noon in London: today's morning (07:30) is due, and so is last week's summary.
NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture()
def kim(service: Session) -> Iterator[User]:
    """A London user who joined on 1 Oct, with a lead, on the pinned Wednesday."""
    with time_machine.travel(NOON, tick=False):
        user = make_user(service, email="k1@example.com", name="Kim Park", created_at=JOINED)
        make_lead(service, user)
        yield user


def set_email(service: Session, user: User, *, on: bool) -> None:
    user.settings.email_enabled = on
    service.flush()


def ledger(service: Session, user: User) -> list[tuple[DeliveryKind, DeliveryStatus, int, str | None]]:
    return [(d.kind, d.status, d.attempts, d.last_error) for d in service.scalars(
        select(Delivery).where(Delivery.user_id == user.id).order_by(Delivery.kind)).all()]


def subjects(outbox: Path) -> list[str]:
    parse = BytesParser(policy=policy.default).parsebytes
    return sorted(str(parse(p.read_bytes())["Subject"]) for p in outbox.glob("*.eml"))


def test_a_send_by_hand_refused_while_email_is_off_cancels_nothing_the_schedule_owes(
    service: Session, queue: Queue, outbox: Path, kim: User
) -> None:
    """`nbm digest send` and `nbm summary send` refused (email off) record nothing: once email is
    back on, the tick still finds today's digest and last week's summary owed, and sends both."""
    set_email(service, kim, on=False)
    for command in (["digest", "send"], ["summary", "send"]):
        refused = nbm(*command, "--user", kim.email)
        assert refused.exit_code == 2, refused.output
        assert "email is off for k1@example.com (turned off or unsubscribed); nothing was sent" in refused.output
    assert ledger(service, kim) == []

    set_email(service, kim, on=True)
    ticked = nbm("morning", "--user", kim.email)
    assert ticked.exit_code == 0, ticked.output
    assert "2 deliveries due" in ticked.output
    run_worker(queue)
    assert [subject[:28] for subject in subjects(outbox)] == [
        "Your next best moves for Wed", "Your week of 16–22 Nov — 0 a"]
    assert [(kind, status) for kind, status, _, _ in ledger(service, kim)] == [
        (DeliveryKind.PLAN, DeliveryStatus.SENT), (DeliveryKind.WEEKLY_SUMMARY, DeliveryStatus.SENT)]


def test_email_turned_off_after_the_tick_is_not_a_failure_and_goes_out_if_turned_back_on_that_day(
    service: Session, queue: Queue, outbox: Path, kim: User
) -> None:
    """Rule: a morning whose email is off when its job composes it is not owed then. The job gives its
    claim back (no attempt counted, no failure, nothing in RQ's failed registry); the tick does not
    ask for it while email stays off, and sends it once email is back on, while it is still owed."""
    morning = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    kim.settings.work_days = [1, 2, 3, 4, 5, 6, 7]
    with time_machine.travel(morning, tick=False):
        assert tick(at=morning, queue=queue, user_id=kim.id).due == 2
        set_email(service, kim, on=False)  # between the tick and the job
        run_worker(queue)
        assert len(FailedJobRegistry(queue=queue)) == 0  # read under the pinned clock RQ failed it by
    assert not outbox.exists() or subjects(outbox) == []
    assert ledger(service, kim) == [(DeliveryKind.PLAN, DeliveryStatus.PENDING, 0, None),
                                    (DeliveryKind.WEEKLY_SUMMARY, DeliveryStatus.PENDING, 0, None)]
    later = morning + timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        assert tick(at=later, queue=queue, user_id=kim.id).due == 0  # email still off: not owed

    set_email(service, kim, on=True)
    evening = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
    with time_machine.travel(evening, tick=False):
        assert tick(at=evening, queue=queue, user_id=kim.id).due == 2
        run_worker(queue)
    assert len(subjects(outbox)) == 2
    assert ledger(service, kim) == [(DeliveryKind.PLAN, DeliveryStatus.SENT, 1, None),
                                    (DeliveryKind.WEEKLY_SUMMARY, DeliveryStatus.SENT, 1, None)]


def test_email_back_on_a_minute_after_its_job_gave_the_morning_back_goes_out_at_the_next_tick(
    service: Session, queue: Queue, outbox: Path, kim: User
) -> None:
    """The jobs that gave their claims back (email off) leave no finished job under their ids, so the
    tick a minute later, email back on, enqueues the same batches, chunks and ids again and both
    deliveries go, once each. (RQ used to keep a finished job's id for 500 s, and the tick took it
    for work done: nothing went for eight minutes.)"""
    morning = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    kim.settings.work_days = [1, 2, 3, 4, 5, 6, 7]
    with time_machine.travel(morning, tick=False):
        assert "2 deliveries due, 2 batches enqueued" in nbm("morning", "--user", kim.email).output
        set_email(service, kim, on=False)  # between the tick and the job
        run_worker(queue)
    assert not outbox.exists() or subjects(outbox) == []

    set_email(service, kim, on=True)
    with time_machine.travel(morning + timedelta(minutes=1), tick=False):
        assert "2 deliveries due, 2 batches enqueued" in nbm("morning", "--user", kim.email).output
        run_worker(queue)
        assert "0 deliveries due" in nbm("morning", "--user", kim.email).output
        run_worker(queue)
    assert [subject[:28] for subject in subjects(outbox)] == [
        "Your next best moves for Wed", "Your week of 16–22 Nov — 0 a"]
    assert ledger(service, kim) == [(DeliveryKind.PLAN, DeliveryStatus.SENT, 1, None),
                                    (DeliveryKind.WEEKLY_SUMMARY, DeliveryStatus.SENT, 1, None)]
