"""The warm worker (``bot.worker``): jobs run in its own process, it is watched, and it retires when it
should so that its supervisor replaces it. No test sleeps: the watchdog is checked at given instants."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from rq import Queue

from bot import worker as worker_module
from bot.worker import WarmWorker, Watchdog, retire_reason
from core.jobs import tasks


def test_the_watchdog_ends_the_process_only_once_a_job_overruns_its_timeout_by_the_grace() -> None:
    exits: list[int] = []
    watchdog = Watchdog(grace=30, exit_process=exits.append)
    now = time.monotonic()
    watchdog.arm("deliver-many-plan-x", 60)
    assert not watchdog.check(now + 89) and exits == []  # past the timeout, within the grace: RQ's alarm's turn
    assert watchdog.check(now + 91) and exits == [70]
    watchdog.disarm()
    assert not watchdog.check(now + 10_000)  # between jobs nothing is watched


def test_a_job_without_a_timeout_is_not_watched() -> None:
    exits: list[int] = []
    watchdog = Watchdog(grace=0, exit_process=exits.append)
    watchdog.arm("housekeeping", -1)
    assert not watchdog.check(time.monotonic() + 10**6) and exits == []


def test_a_process_past_its_memory_limit_retires(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_module, "RECYCLE_ABOVE_MIB", 0)
    assert "memory peaked" in (retire_reason() or "")


def _noop(value: str) -> str:
    return value


def test_a_supervised_worker_stops_taking_jobs_once_it_should_retire(
    queue: Queue, outbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It finishes the job in hand, then leaves the rest for the fresh process its supervisor starts."""
    monkeypatch.setattr(worker_module, "RECYCLE_ABOVE_MIB", 0)
    for n in range(3):
        tasks.enqueue_once(queue, f"noop-{n}", _noop, str(n))
    WarmWorker([queue], connection=queue.connection).work(burst=True)
    assert queue.count == 2


def test_a_burst_worker_alone_runs_the_queue_dry_whatever_its_memory(
    queue: Queue, outbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker_module, "RECYCLE_ABOVE_MIB", 0)
    for n in range(3):
        tasks.enqueue_once(queue, f"noop-{n}", _noop, str(n))
    worker_module.run_workers([queue], processes=1, burst=True)
    assert queue.count == 0


def test_every_job_is_watched_with_its_own_timeout(queue: Queue, outbox: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    armed: list[tuple[str, float | None]] = []

    class Recording(Watchdog):
        def arm(self, job_id: str, timeout: float | None) -> None:
            armed.append((job_id, timeout))
            super().arm(job_id, timeout)

    monkeypatch.setattr(worker_module, "Watchdog", Recording)
    queue.enqueue(_noop, "a", job_id="short", job_timeout=42)
    queue.enqueue(_noop, "b", job_id="default")
    worker = WarmWorker([queue], connection=queue.connection)
    worker.supervised = False
    worker.work(burst=True)
    assert armed == [("short", 42), ("default", Queue.DEFAULT_TIMEOUT)]
