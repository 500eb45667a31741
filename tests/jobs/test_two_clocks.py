"""Two clocks (``nbm cron`` run twice) ticking the same minute, against a real Redis and RQ's own worker,
while a delivery waits in RQ's scheduled registry for its retry: neither clock raises, the delivery is
queued once, and the user gets one email when the retry succeeds."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from rq import Queue
from rq.job import Job, JobStatus
from sqlalchemy import select

from bot.channels import register_all
from core.db import unit_of_work
from core.jobs import tasks
from core.jobs.channels import register_sender
from core.jobs.tick import tick
from core.models import Channel, Delivery, DeliveryKind, DeliveryStatus, User
from tests.jobs.conftest import busy_mail_server, run_worker

MORNING = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # Wed 25 Nov, 08:00 in London
CLOCKS = 4
ROUNDS = 12




def _delivery(user: User) -> Delivery:
    with unit_of_work(service=True) as session:
        return session.scalars(select(Delivery).where(Delivery.user_id == user.id,
                                                      Delivery.kind == DeliveryKind.PLAN)).one()


def test_clocks_ticking_the_same_minute_while_a_delivery_waits_for_its_retry_never_raise_nor_repeat(
    queue: Queue, committed_user: User, outbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = committed_user
    monkeypatch.setattr(tasks, "RETRY_INTERVALS", [60, 300, 1800])

    register_sender(DeliveryKind.PLAN, Channel.EMAIL, busy_mail_server)
    with time_machine.travel(MORNING, tick=False):
        tick(at=MORNING, queue=queue)
        run_worker(queue)
        waiting = [j for j in queue.scheduled_job_registry.get_job_ids() if j.startswith("deliver-plan")]
    assert len(waiting) == 1  # the email's retry, in a minute
    assert (_delivery(user).status, _delivery(user).attempts) == (DeliveryStatus.PENDING, 1)

    failures: list[BaseException] = []
    for second in range(1, ROUNDS + 1):  # each round: the clocks tick at the same instant, then a worker runs
        at = MORNING + timedelta(seconds=second)
        start = threading.Barrier(CLOCKS)

        def clock(at: datetime = at, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                tick(at=at, queue=queue)
            except BaseException as exc:  # any escape is the failure under test
                failures.append(exc)

        with time_machine.travel(at, tick=False):
            clocks = [threading.Thread(target=clock) for _ in range(CLOCKS)]
            for thread in clocks:
                thread.start()
            for thread in clocks:
                thread.join()
            assert [job_id.split("-")[0] for job_id in queue.job_ids] == ["prepare"]  # the batch, queued once
            run_worker(queue)
    assert [f"{type(exc).__name__}: {exc}" for exc in failures] == []
    retry = Job.fetch(waiting[0], connection=queue.connection)
    assert retry.get_status() == JobStatus.SCHEDULED and queue.scheduled_job_registry.get_job_ids() == waiting
    assert _delivery(user).attempts == 1  # the delivery was never run again meanwhile

    register_all()  # the mail server is back
    later = MORNING + timedelta(minutes=2)  # the retry's minute has passed
    with time_machine.travel(later, tick=False):
        tick(at=later, queue=queue)
        run_worker(queue)
    delivery = _delivery(user)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 2)
    plans = [p for p in outbox.glob("*.eml") if "Your next best moves" in p.read_text()]
    assert len(plans) == 1
