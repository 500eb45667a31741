"""An email that cannot be built is a permanent failure with its reason: a user whose name holds a
line break (stored before names were checked) gets one try from the morning job, not retries every
morning, and ``nbm digest send`` says why in a sentence instead of a traceback."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner
from rq import Queue
from rq.registry import FailedJobRegistry
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cli import main
from core.db import unit_of_work
from core.jobs.tick import tick
from core.models import Channel, Delivery, DeliveryStatus, User
from tests.factories import make_lead, make_user
from tests.jobs.conftest import JOINED_THAT_DAY, run_worker

MORNING = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # Wed 25 Nov, 08:00 in London
REASON = "cannot be built (Header values may not contain linefeed or carriage return characters)"


@pytest.fixture()
def unmailable(service: Session) -> User:
    """A user whose name would split the To: header, written as rows were before names were checked."""
    user = make_user(service, name="Ann\r\nBcc: everyone@example.com", timezone="Europe/London",
                     created_at=JOINED_THAT_DAY)
    make_lead(service, user)
    return user


def test_the_morning_job_fails_it_for_good_on_the_first_try(queue: Queue, outbox: Path, unmailable: User) -> None:
    with time_machine.travel(MORNING, tick=False):
        tick(at=MORNING, queue=queue)
        run_worker(queue)
        # Read under the worker's pinned clock: RQ purges failed jobs a week after they failed by it.
        failed = len(FailedJobRegistry(queue=queue))
    with unit_of_work(service=True) as session:
        delivery = session.scalars(select(Delivery).where(Delivery.user_id == unmailable.id,
                                                          Delivery.channel == Channel.EMAIL)).one()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert REASON in (delivery.last_error or "")
    assert failed == 1
    assert not list(outbox.glob("*.eml"))


def test_nbm_digest_send_says_why_nothing_was_sent(outbox: Path, unmailable: User) -> None:
    with time_machine.travel(MORNING, tick=False):
        result = CliRunner().invoke(main, ["digest", "send", "--user", unmailable.email])
    assert result.exit_code == 2, result.output
    assert f"the email to {unmailable.email} {REASON}; nothing was sent" in " ".join(result.output.split())
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert not list(outbox.glob("*.eml"))
