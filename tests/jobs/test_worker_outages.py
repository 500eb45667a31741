"""``nbm worker`` through outages, as a real process on a redis-server of the test's own (stopped and
started again by the test): a worker started while Redis is down waits for it, saying so on one line
per try, then works, on ``redis://`` and ``rediss://`` alike; after a Redis restart, or any other error
of the scheduler, the scheduler enqueues the jobs that come due within seconds, not at the worker's
10-minute maintenance. Nothing sleeps: every wait polls with a deadline."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue, Worker
from rq.job import Job, JobStatus
from rq.worker import WorkerStatus

from tests.factories import machine_now
from tests.servers import DEADLINE_SECONDS, RedisServer, wait_for

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads processes from Linux's /proc")

NBM = str(Path(sys.executable).with_name("nbm"))
#: A line of the project's log format (core/logs.py), or a line that continues one (indented), or
#: what ``nbm`` says on stderr before logging starts.
LOGGED_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \S+: |    |nbm: )")
#: What RQ's scheduler logs when it takes a queue's lock.
TOOK_THE_LOCK = "Acquired scheduler lock for default"

StartWorker = Callable[..., tuple[subprocess.Popen[bytes], Path]]


@pytest.fixture()
def redis_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RedisServer]:
    """The test's redis-server, not started; ``rediss`` as the (indirect) parameter makes it speak TLS."""
    server = RedisServer(tmp_path, tls=getattr(request, "param", "redis") == "rediss")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def start_worker(database_url: str, redis_server: RedisServer, tmp_path: Path) -> Iterator[StartWorker]:
    """``start(**settings)``: an ``nbm worker`` on the test database and the test's redis-server (the
    environment's ``settings`` added), in a session of its own (as on a machine of its own: the test may
    kill it whole) with a log of its own; every process it started is gone after the test."""
    started: list[subprocess.Popen[bytes]] = []

    def start(**settings: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = tmp_path / f"worker-{len(started) + 1}.log"
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_server.url, "REDIS_TLS_VERIFY": "false",
               "NBM_ENV": "test", "NBM_DATA_DIR": str(tmp_path), "EMAIL_BACKEND": "outbox", "LOG_LEVEL": "INFO",
               **settings}
        with log.open("wb") as output:
            started.append(subprocess.Popen([NBM, "worker"], env=env, stdout=output, stderr=subprocess.STDOUT,
                                            start_new_session=True))
        return started[-1], log

    yield start
    for worker in started:
        worker.terminate()
        try:
            worker.wait(timeout=DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        with contextlib.suppress(ProcessLookupError):  # whatever outlived it
            os.killpg(worker.pid, signal.SIGKILL)


def _children(pid: int) -> set[int]:
    return set(map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split()))


def _finished(job: Job) -> bool:
    return job.get_status(refresh=True) == JobStatus.FINISHED


def _scheduling(redis_server: RedisServer, worker: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until the worker's scheduler holds the lock and the worker waits for jobs, its first
    maintenance done: a Redis error in the middle of RQ's maintenance ends a worker process (its
    supervisor starts another), which is not what the test is about."""
    wait_for("the scheduler holding the lock", lambda: TOOK_THE_LOCK in log.read_text(), worker, log)
    redis = redis_server.client()
    wait_for("the worker waiting for jobs", lambda: [found.get_state() for found in Worker.all(connection=redis)]
             == [WorkerStatus.IDLE], worker, log)


def _due_now(redis_server: RedisServer) -> Job:
    """A job scheduled for now by the workers' clock: the machine's, not this process's (CI runs a pass
    400 days ahead). Only a scheduler moves it to the queue."""
    return Queue(connection=redis_server.client()).enqueue_at(machine_now(), "os.getpid")


@pytest.mark.parametrize("redis_server", ["redis", "rediss"], indirect=True)
def test_a_worker_started_while_redis_is_down_waits_saying_so_then_works(
        redis_server: RedisServer, start_worker: StartWorker) -> None:
    worker, log = start_worker()
    wait_for("a second try, or a traceback", lambda: "trying again in 2 s" in log.read_text()
              or "Traceback" in log.read_text(), worker, log)
    text = log.read_text()
    port = redis_server.port
    assert f"cannot reach Redis at 127.0.0.1:{port} (Error 111 connecting to 127.0.0.1:{port}. Connection refused.);" \
           " trying again in 1 s" in text, text
    assert "Traceback" not in text
    assert all(LOGGED_LINE.match(line) for line in text.splitlines()), text
    (waiting,) = _children(worker.pid)  # the one process that waits, never replaced

    redis_server.start()
    job = Queue(connection=redis_server.client()).enqueue("os.getpid")
    wait_for("the job run", lambda: _finished(job), worker, log)
    assert job.return_value() == waiting


@pytest.mark.parametrize("redis_server", ["rediss"], indirect=True)
def test_a_tls_server_down_at_start_whose_certificate_is_refused_once_up_is_said_naming_the_setting(
        redis_server: RedisServer, start_worker: StartWorker) -> None:
    """Checked at start, the self-signed certificate stops the process (tests/test_redis_tls.py); a
    worker that found the server down waits, and says what to set once the certificate is what stops it."""
    worker, log = start_worker(REDIS_TLS_VERIFY="true")
    wait_for("a first try", lambda: "trying again in 1 s" in log.read_text(), worker, log)
    redis_server.start()
    wait_for("the certificate refused", lambda: "set REDIS_TLS_VERIFY=false" in log.read_text(), worker, log)
    text = log.read_text()
    assert f"cannot reach Redis at 127.0.0.1:{redis_server.port} (REDIS_URL: the server at 127.0.0.1:" \
           f"{redis_server.port} presented a certificate that cannot be verified (self-signed certificate)." in text
    assert all(LOGGED_LINE.match(line) for line in text.splitlines()), text


def test_after_a_redis_restart_the_scheduler_enqueues_what_comes_due_within_seconds(
        redis_server: RedisServer, start_worker: StartWorker) -> None:
    redis_server.start()
    worker, log = start_worker()
    _scheduling(redis_server, worker, log)

    redis_server.stop()
    # Waiting it out (this module's scheduler), or dead of it (RQ's, which says so).
    wait_for("the scheduler meeting the outage", lambda: "the scheduler cannot reach Redis" in log.read_text()
              or "raised an exception" in log.read_text(), worker, log)
    redis_server.start()
    job = _due_now(redis_server)
    wait_for("the scheduled job enqueued and run", lambda: _finished(job), worker, log)
    text = log.read_text()
    assert all(LOGGED_LINE.match(line) for line in text.splitlines()), text
    assert "raised an exception" not in text


def test_another_error_of_the_scheduler_is_logged_as_one_record_and_the_scheduler_carries_on(
        redis_server: RedisServer, start_worker: StartWorker) -> None:
    """The scheduled jobs' registry is a key of the wrong type (a stray ``SET`` by hand, say): every read
    of it fails, which is no outage. RQ's scheduler died of it with a bare traceback, and nothing came
    due until the worker's 10-minute maintenance."""
    redis_server.start()
    worker, log = start_worker()
    _scheduling(redis_server, worker, log)
    redis = redis_server.client()
    redis.set("rq:scheduled:default", "not a registry")

    wait_for("the scheduler meeting the error", lambda: "the scheduler stopped on an error" in log.read_text()
              or "raised an exception" in log.read_text(), worker, log)
    text = log.read_text()
    assert all(LOGGED_LINE.match(line) for line in text.splitlines()), text
    assert "the scheduler stopped on an error; it starts again in 1 s" in text, text
    assert "WRONGTYPE" in text  # the error itself, in the record's traceback

    redis.delete("rq:scheduled:default")
    job = _due_now(redis_server)
    wait_for("the scheduled job enqueued and run", lambda: _finished(job), worker, log)
    assert "raised an exception" not in log.read_text()


def _schedulers(redis: Redis) -> list[int]:
    """The process ids of RQ's schedulers at work, as each registers itself (``rq:scheduler:<name>``)."""
    return [int(redis.hget(key, "pid") or 0) for key in redis.scan_iter("rq:scheduler:*")]


def test_a_scheduler_killed_is_started_again_at_once_not_at_the_workers_maintenance(
        redis_server: RedisServer, start_worker: StartWorker) -> None:
    """RQ's scheduler process SIGKILLed (the OOM killer's pick, say): its lock is still its own, so it
    is started again within a second or so; RQ's worker started it again only at its 10-minute
    maintenance, and retries and Slack redraws waited for that."""
    redis_server.start()
    worker, log = start_worker()
    _scheduling(redis_server, worker, log)
    redis = redis_server.client()
    wait_for("the scheduler registered", lambda: len(_schedulers(redis)) == 1, worker, log)
    (killed,) = _schedulers(redis)

    os.kill(killed, signal.SIGKILL)
    job = _due_now(redis_server)
    wait_for("the scheduled job enqueued and run", lambda: _finished(job), worker, log)
    assert _schedulers(redis) not in ([], [killed])


def test_a_worker_killed_whole_has_its_scheduler_taken_over_once_its_lock_lapses(
        redis_server: RedisServer, start_worker: StartWorker) -> None:
    """A whole ``nbm worker`` SIGKILLed (its machine lost) leaves RQ's lock on the queues until it lapses,
    61 s after its last heartbeat; another ``nbm worker`` takes the scheduler over within a second of
    that, where RQ's worker tried again only at its 10-minute maintenance. Redis's clock cannot be
    pinned, so the test does not wait the minute out: it removes the lock as its lapse would."""
    redis_server.start()
    first, first_log = start_worker()
    _scheduling(redis_server, first, first_log)
    second, second_log = start_worker()
    redis = redis_server.client()
    wait_for("both workers waiting for jobs", lambda: [found.get_state() for found in Worker.all(connection=redis)]
             == [WorkerStatus.IDLE] * 2, second, second_log)

    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    locks = list(redis.scan_iter("rq:scheduler-lock:*"))
    assert locks and all(0 < redis.ttl(lock) <= 61 for lock in locks)
    redis.delete(*locks)
    job = _due_now(redis_server)
    wait_for("the scheduled job enqueued and run by the other worker's scheduler", lambda: _finished(job), second,
             second_log)
    assert TOOK_THE_LOCK in second_log.read_text()
