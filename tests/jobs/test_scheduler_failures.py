"""RQ's scheduler failing over and over, as ``nbm worker`` runs it (bot.scheduler.PatientScheduler, its
supervising loop) on the test's Redis: an error that comes back every time is logged in full once,
then in one short line with its count, each further apart than the last, up to a minute, and a line
says when the scheduler works again. Time is pinned: the scheduler's clock and its waits are the
test's (bot.scheduler's ``time``), so nothing sleeps."""

from __future__ import annotations

import logging
import re
import signal
from collections.abc import Callable, Iterator

import pytest
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue
from rq.job import JobStatus

from bot import scheduler as scheduler_module
from bot.scheduler import PatientScheduler
from tests.factories import machine_now
from tests.servers import free_port

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


class PinnedTime:
    """``time`` as bot.scheduler sees it: a monotonic clock that moves only when the scheduler waits; each
    wait is recorded, then ``after_wait(waits so far)`` runs (the world changing while it waits)."""

    def __init__(self, after_wait: Callable[[int], None]) -> None:
        self.now = 1000.0
        self.waits: list[float] = []
        self._after_wait = after_wait

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
        self._after_wait(len(self.waits))


@pytest.fixture(autouse=True)
def signal_handlers() -> Iterator[None]:
    """RQ's scheduler installs its own SIGINT and SIGTERM handlers (in its process: here, pytest's)."""
    kept = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    yield
    for number, handler in kept.items():
        signal.signal(number, handler)


def _records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "nbm.worker"]


def test_an_error_that_keeps_coming_back_is_logged_in_full_once_then_in_short_lines_further_apart_until_it_goes(
        redis: Redis, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The scheduled jobs' registry is a key of the wrong type (a stray ``SET`` by hand, say): every pass
    fails the same way for twelve tries, which logged twelve tracebacks 5 s apart, for ever had it
    lasted. Then someone deletes the key, and a job comes due."""
    caplog.set_level(logging.INFO, logger="nbm.worker")
    queue = Queue("default", connection=redis)
    scheduler = PatientScheduler([queue], connection=redis, interval=0)
    assert scheduler.acquire_locks()
    redis.set("rq:scheduled:default", "not a registry")
    due = []

    def fixed_after_twelve_tries(waits: int) -> None:
        if waits == 12:
            redis.delete("rq:scheduled:default")
            due.append(queue.enqueue_at(machine_now(), "os.getpid"))

    pinned = PinnedTime(fixed_after_twelve_tries)
    monkeypatch.setattr(scheduler_module, "time", pinned)
    one_good_pass = scheduler.enqueue_scheduled_jobs

    def then_stop() -> None:
        one_good_pass()
        scheduler.request_stop()

    monkeypatch.setattr(scheduler, "enqueue_scheduled_jobs", then_stop)

    scheduler.work()

    first, *repeats, recovered = _records(caplog)
    assert [record.exc_info is not None for record in (first, *repeats, recovered)] == [True] + [False] * 12
    assert (first.levelno, first.getMessage()) == (logging.ERROR,
                                                   "the scheduler stopped on an error; it starts again in 1 s")
    assert first.exc_info is not None and WRONGTYPE in str(first.exc_info[1])
    assert repeats[0].getMessage() == (
        f"the scheduler stopped on the same error again (ResponseError: {WRONGTYPE}), 2 times in 1 s; it starts "
        "again in 2 s (the wait doubles each time, up to 60 s)")
    assert repeats[-1].getMessage() == (
        f"the scheduler stopped on the same error again (ResponseError: {WRONGTYPE}), 12 times in 6 min; it "
        "starts again in 60 s (the wait doubles each time, up to 60 s)")
    assert pinned.waits == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60, 60]
    assert recovered.getMessage() == f"the scheduler works again, after failing 12 times in 7 min ({WRONGTYPE})"
    assert due[0].get_status(refresh=True) == JobStatus.QUEUED  # moved to its queue by the good pass


def test_a_long_outage_is_tried_every_5_s_and_said_further_and_further_apart(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Redis is down for 100 tries (about 8 minutes): the scheduler tries every 5 s at most, so jobs
    move again within seconds of its return, but it said so on every try."""
    caplog.set_level(logging.INFO, logger="nbm.worker")
    down = Redis(port=free_port(), retry=Retry(NoBackoff(), 0))  # refused at once, not retried in redis-py
    scheduler = PatientScheduler([Queue("default", connection=down)], connection=down, interval=0)

    def stop_after_100_tries(waits: int) -> None:
        if waits == 100:
            scheduler.request_stop()

    pinned = PinnedTime(stop_after_100_tries)
    monkeypatch.setattr(scheduler_module, "time", pinned)

    scheduler.work()

    assert pinned.waits == [1, 2, 4] + [5] * 97
    records = _records(caplog)
    assert records[0].getMessage().startswith("the scheduler cannot reach Redis (Error 111 connecting to ")
    tries = [int(count) for record in records[1:] for count in re.findall(r"\), (\d+) tries in ", record.getMessage())]
    assert tries == [2, 3, 4, 6, 10, 17, 29, 41, 53, 65, 77, 89]  # 1, 2, 4, 8, 16, 32, then 60 s apart
    assert records[-1].getMessage().endswith(
        "89 tries in 7 min; trying again in 5 s (it tries every 5 s at most, and says so less often, up to 60 s apart)")
    assert all(record.exc_info is None for record in records)
