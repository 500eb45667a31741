"""A morning's deliveries go out in chunks (``core.jobs.tasks.deliver_many``): the first try of each, in
one job; a delivery whose try fails gets its own job with the rest of the usual retries at the usual
times, and the channel that failed is not tried again in that chunk."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bot.channels import register_all
from core.jobs import tasks
from core.jobs.channels import register_sender, sender_for
from core.jobs.tick import tick
from core.models import Channel, DailyPlan, Delivery, DeliveryKind, DeliveryStatus, User
from tests.factories import make_lead, make_user
from tests.jobs.conftest import JOINED_THAT_DAY, busy_mail_server

MORNING = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
PERIOD = "2026-11-25"


def _users(service: Session, count: int) -> list[User]:
    users = []
    for _ in range(count):
        user = make_user(service, timezone="Europe/London", created_at=JOINED_THAT_DAY)
        make_lead(service, user)
        users.append(user)
    return users


def _chunk(users: list[User]) -> list[tuple[str, str, str]]:
    return [("email", str(user.id), PERIOD) for user in users]


def _row(service: Session, user: User) -> Delivery | None:
    return service.scalars(select(Delivery).where(Delivery.user_id == user.id,
                                                  Delivery.kind == DeliveryKind.PLAN)).one_or_none()


def test_a_chunk_sends_each_delivery_once_and_says_what_it_did(service: Session, queue: Queue, outbox: Path) -> None:
    users = _users(service, 3)
    with time_machine.travel(MORNING, tick=False):
        assert tasks.deliver_many("plan", _chunk(users)) == "3 sent"
        assert tasks.deliver_many("plan", _chunk(users)) == "3 already sent"
    assert len(list(outbox.glob("*.eml"))) == 3
    assert all((_row(service, u).status, _row(service, u).attempts) == (DeliveryStatus.SENT, 1) for u in users)


def test_a_temporary_failure_hands_the_delivery_and_the_rest_of_its_channel_to_their_own_jobs(
    service: Session, queue: Queue, outbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first try counts: its own job comes at the first retry's time with the two retries left; the
    deliveries after it on that channel were not tried, so theirs keep every try."""
    monkeypatch.setattr(tasks, "RETRY_INTERVALS", [60, 300, 1800])
    first, second = _users(service, 2)

    register_sender(DeliveryKind.PLAN, Channel.EMAIL, busy_mail_server)
    with time_machine.travel(MORNING, tick=False):
        outcome = tasks.deliver_many("plan", _chunk([first, second]))
        scheduled = queue.scheduled_job_registry.get_job_ids()
    assert outcome == "1 retrying in their own job, 1 handed to their own job untried"
    tried, untried = (Job.fetch(tasks.delivery_job_id("plan", "email", str(u.id), PERIOD),
                                connection=queue.connection) for u in (first, second))
    assert sorted(scheduled) == sorted([tried.id, untried.id])
    assert (tried.get_status(), tried.retries_left, tried.retry_intervals) == (JobStatus.SCHEDULED, 2, [300, 1800])
    assert (untried.retries_left, untried.retry_intervals) == (3, [60, 300, 1800])
    assert (_row(service, first).status, _row(service, first).attempts) == (DeliveryStatus.PENDING, 1)
    # Its claim was given back untried: no try counted, no lease keeping its own job waiting.
    assert (_row(service, second).attempts, _row(service, second).sending_since) == (0, None)
    assert not list(outbox.glob("*.eml"))

    register_all()  # the mail server is back: the untried delivery's own job sends it at once
    with time_machine.travel(MORNING, tick=False):
        assert tasks.deliver("plan", "email", str(second.id), PERIOD).startswith("sent (")
    assert len(list(outbox.glob("*.eml"))) == 1


def test_a_delivery_waiting_for_its_own_retry_is_left_to_it(
    service: Session, queue: Queue, outbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch run again (the tick re-runs a finished batch whose deliveries are still due) does not try a
    delivery again while its own job waits for its retry."""
    monkeypatch.setattr(tasks, "RETRY_INTERVALS", [60, 300, 1800])
    (user,) = _users(service, 1)
    job_id = tasks.delivery_job_id("plan", "email", str(user.id), PERIOD)
    with time_machine.travel(MORNING, tick=False):
        tasks.enqueue_once(queue, job_id, tasks.deliver, "plan", "email", str(user.id), PERIOD, delay=60)
        assert tasks.deliver_many("plan", _chunk([user])) == "1 left to their own job"
    assert _row(service, user) is None and not list(outbox.glob("*.eml"))


def test_a_planned_batchs_emails_go_before_the_next_batch_is_planned(
    service: Session, queue: Queue, outbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Everyone due at 08:00 gets their email once their own batch is planned, not once every batch is."""
    monkeypatch.setattr(tasks, "BATCH_SIZE", 1)
    users = _users(service, 3)
    with time_machine.travel(MORNING, tick=False):
        tick(at=MORNING, queue=queue)
        while not list(outbox.glob("*.eml")):
            assert SimpleWorker([queue], connection=queue.connection).work(burst=True, max_jobs=1)
        planned = service.scalar(select(func.count()).select_from(DailyPlan).where(
            DailyPlan.user_id.in_([user.id for user in users])))
    assert planned == 1


def test_the_chunks_of_a_batch_have_ids_of_their_content(service: Session, queue: Queue, outbox: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers preparing the same batch enqueue its chunks once."""
    monkeypatch.setattr(tasks, "DELIVERY_CHUNK", 2)
    users = _users(service, 5)
    targets = [(str(u.id), "email", PERIOD) for u in users]
    with time_machine.travel(MORNING, tick=False):
        for _ in range(2):
            tasks.prepare("plan", MORNING.isoformat(), targets)
    chunks = [job_id for job_id in queue.job_ids if job_id.startswith("deliver-many-plan-")]
    assert len(chunks) == 3
    targets_of = [Job.fetch(j, connection=queue.connection).args[1] for j in chunks]
    assert sorted(uuid.UUID(t[1]) for chunk in targets_of for t in chunk) == sorted(u.id for u in users)


def test_a_chunk_whose_shared_unit_of_work_fails_tries_each_delivery_alone(
    service: Session, queue: Queue, outbox: Path
) -> None:
    """A chunk's deliveries are claimed and composed in one unit of work; when that unit fails (here,
    one user's composition meets a database error), each is claimed and composed alone: the others go
    out, and the broken one gets its own job."""
    users = _users(service, 3)
    email = sender_for(DeliveryKind.PLAN, Channel.EMAIL)

    def broken_for_the_last(session: Session, **delivery: Any) -> Callable[[], str]:
        if delivery["user_id"] == users[-1].id:
            session.execute(text("SELECT 1 / 0"))
        return email(session, **delivery)

    register_sender(DeliveryKind.PLAN, Channel.EMAIL, broken_for_the_last)
    with time_machine.travel(MORNING, tick=False):
        assert tasks.deliver_many("plan", _chunk(users)) == "2 sent, 1 retrying in their own job"
    assert len(list(outbox.glob("*.eml"))) == 2
    assert [_row(service, u).status for u in users[:2]] == [DeliveryStatus.SENT] * 2
    assert _row(service, users[-1]) is None  # its claim went with its unit of work: its own job claims afresh
    own_job = Job.fetch(tasks.delivery_job_id("plan", "email", str(users[-1].id), PERIOD), connection=queue.connection)
    assert own_job.get_status() == JobStatus.QUEUED


def test_a_delivery_handed_untried_to_its_own_job_gives_its_claim_back_even_when_it_could_not_be_composed(
    service: Session, queue: Queue, outbox: Path
) -> None:
    """The mail server refuses the first email of the chunk; the second user's email could not be
    composed (a name stored before names were checked would split its To: header). The second is
    handed to its own job without its claim, so that job is not kept waiting by a lease nobody is
    using."""
    first, second = _users(service, 2)
    second.name = "Bea\r\nBcc: everyone@example.com"
    service.flush()
    email = sender_for(DeliveryKind.PLAN, Channel.EMAIL)

    def busy_for_the_first(session: Session, **delivery: Any) -> Callable[[], str]:
        if delivery["user_id"] == first.id:
            return busy_mail_server(session, **delivery)
        return email(session, **delivery)

    register_sender(DeliveryKind.PLAN, Channel.EMAIL, busy_for_the_first)
    with time_machine.travel(MORNING, tick=False):
        assert tasks.deliver_many("plan", _chunk([first, second])) == \
            "1 retrying in their own job, 1 handed to their own job untried"
    assert (_row(service, second).attempts, _row(service, second).sending_since) == (0, None)
