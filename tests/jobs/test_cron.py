"""``nbm cron``, the clock process: a tick that fails is logged and the next one runs a minute later;
the clock stops on SIGTERM, even mid-tick. Driven through the CLI with the one clock pinned: the test moves it a
minute per tick, so the loop never waits, and stops it with the signal a deployment sends."""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from click.testing import CliRunner
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry
from rq import Queue
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.cli import jobs as jobs_cli
from bot.cli import main
from core import db
from core import queue as queue_module
from core.clock import utcnow
from tests.factories import make_lead, make_user
from tests.jobs.conftest import JOINED_THAT_DAY, run_worker
from tests.servers import silent_server

START = datetime(2026, 11, 25, 7, 59, tzinfo=UTC)  # Wed 25 Nov: 07:59 in London, the 07:30 morning is due


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens there once the probe is closed


def test_a_tick_that_fails_is_logged_and_the_clock_ticks_again_the_next_minute(
    service: Session, queue: Queue, outbox: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    user = make_user(service, timezone="Europe/London", created_at=JOINED_THAT_DAY)
    make_lead(service, user)
    service.flush()
    # Refused at once, without redis-py's retries and their back-off (which would sleep).
    unreachable = Redis(host="127.0.0.1", port=_closed_port(), socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    redis_answers = iter([unreachable])  # the first tick finds Redis down; it is back for the next
    monkeypatch.setattr(queue_module, "get_redis", lambda: next(redis_answers, queue.connection))
    ticked: list[datetime] = []
    real_tick = jobs_cli.tick
    with time_machine.travel(START, tick=False) as clock:
        def tick_for_a_minute(**kwargs: Any) -> object:
            ticked.append(utcnow())
            if len(ticked) == 3:
                if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
                    raise SystemExit("nbm cron does not handle SIGTERM: it would die, not stop")
                os.kill(os.getpid(), signal.SIGTERM)  # as `heroku ps:restart` stops the clock
            try:
                return real_tick(**kwargs)
            finally:
                clock.shift(timedelta(minutes=1))

        monkeypatch.setattr(jobs_cli, "tick", tick_for_a_minute)
        with caplog.at_level(logging.ERROR):
            result = CliRunner().invoke(main, ["cron"])
        assert result.exit_code == 0, result.output
        assert ticked == [START, START + timedelta(minutes=1), START + timedelta(minutes=2)]  # stopped on SIGTERM
        (failure,) = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert "2026-11-25T07:59:00+00:00" in failure.getMessage() and failure.exc_info is not None
        assert failure.exc_info[0] is RedisConnectionError
        assert "2026-11-25 08:00:00 UTC: 1 delivery due, 1 batch enqueued" in result.output
        run_worker(queue)
    plans = [p for p in outbox.glob("*.eml") if "Your next best moves for Wed 25 Nov" in p.read_text()]
    assert len(plans) == 1


def test_sigterm_stops_the_clock_at_once_while_its_tick_waits_on_a_database_that_never_answers(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # SIGTERM as `heroku ps:restart` sends it, once the tick's connection is waiting on the database.
    with silent_server(on_connect=lambda: os.kill(os.getpid(), signal.SIGTERM)) as port:
        monkeypatch.setattr(db, "_engine", db.make_engine(f"postgresql+psycopg://nbm@127.0.0.1:{port}/nbm"))
        started = time.monotonic()
        with time_machine.travel(START, tick=False), caplog.at_level(logging.WARNING):
            result = CliRunner().invoke(main, ["cron"])
        waited = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert waited < db.CONNECT_TIMEOUT_SECONDS  # stopped by the signal, not when connecting gave up
    (stopped,) = [r.getMessage() for r in caplog.records if r.name == "nbm.cron"]
    assert stopped.startswith("stopped during the tick of 2026-11-25T07:59:00+00:00")
