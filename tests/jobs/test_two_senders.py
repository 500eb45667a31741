"""Two jobs carrying the same delivery at once (a chunk of one tick's batch, and a chunk of the next
tick's, which found the delivery still pending): the user gets one email. Against real PostgreSQL,
each job on its own connection as in two worker processes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import time_machine
from rq import Queue
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from core.db import unit_of_work
from core.jobs import tasks
from core.jobs.channels import register_sender, sender_for
from core.models import Channel, Delivery, DeliveryKind, DeliveryStatus, User

MORNING = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # Wed 25 Nov, 08:00 in London
#: How long the first sender waits for the second job to catch up with it, at most.
PATIENCE_SECONDS = 10.0




def test_two_chunks_carrying_the_same_delivery_at_once_send_one_email(
    queue: Queue, committed_user: User, outbox: Path, engine: Engine
) -> None:
    email = sender_for(DeliveryKind.PLAN, Channel.EMAIL)
    entered: list[dict[str, Any]] = []
    second_sender = threading.Event()
    results: list[str] = []  # what each job said, as it ends

    def sender(session: Session, **delivery: Any) -> Callable[[], str]:
        """The real email sender, whose first send holds on until the other job has caught up with it:
        it is sending too (an event), it has ended, or it waits for a lock in the database."""
        send = email(session, **delivery)

        def held_send() -> str:
            entered.append(delivery)
            if len(entered) > 1:
                second_sender.set()
            else:
                give_up = time.monotonic() + PATIENCE_SECONDS
                while (not second_sender.wait(timeout=0.01) and not results and not _someone_waits_for_a_lock(engine)
                       and time.monotonic() < give_up):
                    pass
            return send()

        return held_send

    register_sender(DeliveryKind.PLAN, Channel.EMAIL, sender)
    chunk = [("email", str(committed_user.id), "2026-11-25")]
    with time_machine.travel(MORNING, tick=False):
        jobs = [threading.Thread(target=lambda: results.append(tasks.deliver_many("plan", chunk))) for _ in range(2)]
        for job in jobs:
            job.start()
        for job in jobs:
            job.join()

    # The second job found the delivery sent (it waited for the first's row lock) or still leased to
    # the first (it came between the first's claim and its send): either way it sent nothing.
    assert sorted(results) in (["1 already sent", "1 sent"], ["1 being sent by another job", "1 sent"])
    assert len([p for p in outbox.glob("*.eml") if "Your next best moves" in p.read_text()]) == 1
    with unit_of_work(service=True) as session:
        delivery = session.scalars(select(Delivery).where(Delivery.user_id == committed_user.id)).one()
        # Its attempts say 1 or 2: the second job may have claimed it before the first held it.
        assert delivery.status == DeliveryStatus.SENT


def _someone_waits_for_a_lock(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(connection.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")))


def test_a_sender_whose_database_connection_is_cut_mid_send_is_not_joined_by_a_second(
    queue: Queue, committed_user: User, outbox: Path, engine: Engine
) -> None:
    """PostgreSQL ends the connection holding the delivery's row while its email goes out (a failover,
    an idle timeout): the lease committed with the claim still keeps the next tick's job off it, and
    the send is recorded afresh, so the user gets one email."""
    email = sender_for(DeliveryKind.PLAN, Channel.EMAIL)
    chunk = [("email", str(committed_user.id), "2026-11-25")]
    second: list[str] = []

    def sender(session: Session, **delivery: Any) -> Callable[[], str]:
        send = email(session, **delivery)

        def cut_send() -> str:
            with engine.connect() as connection:  # the holder's connection goes, with its row lock
                connection.execute(text(
                    "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = 'deliveries' AND l.mode = 'RowShareLock' AND l.pid <> pg_backend_pid()"))
            second.append(tasks.deliver_many("plan", chunk))  # the next tick's chunk, while this one sends
            return send()

        return cut_send

    register_sender(DeliveryKind.PLAN, Channel.EMAIL, sender)
    with time_machine.travel(MORNING, tick=False):
        first = tasks.deliver_many("plan", chunk)

    assert (first, second) == ("1 sent", ["1 being sent by another job"])
    assert len([p for p in outbox.glob("*.eml") if "Your next best moves" in p.read_text()]) == 1
    with unit_of_work(service=True) as session:
        delivery = session.scalars(select(Delivery).where(Delivery.user_id == committed_user.id)).one()
        assert (delivery.status, delivery.sending_since) == (DeliveryStatus.SENT, None)
