"""Fixtures of the job tests: a real Redis (``NBM_TEST_REDIS_URL``, or the embedded one), RQ's queue
on it, retries without waiting, and email to an outbox of the test's own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import delete

from bot.channels import register_all
from core import config, embedded
from core import queue as queue_module
from core.db import unit_of_work
from core.jobs import channels, tasks
from core.jobs.channels import TemporaryDeliveryError
from core.models import User
from tests.factories import make_lead, make_user

#: When the users of most job tests joined: Wed 25 Nov 2026 at 00:00 UTC, before that day's 07:30 in
#: London, Paris or Kolkata. That morning is owed to them, and no earlier one nor last week's summary
#: (core.jobs.schedule: nobody is owed anything from before they joined).
JOINED_THAT_DAY = datetime(2026, 11, 25, tzinfo=UTC)


@pytest.fixture(scope="session")
def redis_url() -> str:
    explicit = os.environ.get("NBM_TEST_REDIS_URL")
    if explicit:
        return explicit
    data_dir = Path(os.environ["NBM_DATA_DIR"]) / "test-redis"
    return embedded.redis_url(config.Settings(data_dir=data_dir))


@pytest.fixture()
def redis(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Redis]:
    connection = Redis.from_url(redis_url)
    connection.flushdb()
    monkeypatch.setattr(queue_module, "get_redis", lambda: connection)
    yield connection
    connection.flushdb()
    connection.close()  # an embedded Redis stops at exit only once no client is left


@pytest.fixture()
def queue(redis: Redis) -> Queue:
    return queue_module.get_queue()


@pytest.fixture()
def outbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Email goes to an outbox folder of this test; senders are registered as a worker does."""
    monkeypatch.setenv("NBM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EMAIL_BACKEND", "outbox")
    monkeypatch.setenv("EMAIL_FROM", "NextBestMove <plan@nbm.example.com>")
    monkeypatch.setattr(tasks, "RETRY_INTERVALS", [0, 0, 0])
    monkeypatch.setattr(channels, "_SENDERS", {})
    config.get_settings.cache_clear()
    register_all()
    yield tmp_path / "outbox"
    config.get_settings.cache_clear()


@pytest.fixture()
def committed_user(engine: object, outbox: Path) -> Iterator[User]:
    """A London user with a lead, committed for real (and deleted after the test): each job or clock
    reads it on a connection of its own, as separate processes do."""
    with unit_of_work(service=True) as session:
        user = make_user(session, timezone="Europe/London", email=f"committed-{uuid.uuid4().hex[:8]}@example.com",
                         created_at=JOINED_THAT_DAY)
        make_lead(session, user)
    yield user
    with unit_of_work(service=True) as session:
        session.execute(delete(User).where(User.id == user.id))


def run_worker(queue: Queue) -> None:
    """RQ's own worker on every queue a worker listens on, most urgent first, in this process (the
    test's transaction stays visible), until they are empty."""
    queues = [queue_module.get_queue(name) for name in queue_module.QUEUE_NAMES]
    SimpleWorker(queues, connection=queue.connection).work(burst=True, with_scheduler=True)


def busy_mail_server(session: object, **delivery: object) -> Callable[[], str]:
    """An email sender (``core.jobs.channels.Sender``) that composes, then meets a mail server that
    refuses for now."""
    def send() -> str:
        raise TemporaryDeliveryError("421 4.7.0 Too busy, try later")

    return send
