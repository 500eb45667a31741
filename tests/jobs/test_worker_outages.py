"""``nbm worker`` through outages, as a real process on a redis-server of the test's own (stopped and
started again by the test): a worker started while Redis is down waits for it, saying so on one line
per try, then works; after a Redis restart the scheduler enqueues the jobs that come due within
seconds, not at the worker's 10-minute maintenance. Nothing sleeps: every wait polls with a deadline."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job, JobStatus

from tests.factories import machine_now
from tests.servers import DEADLINE_SECONDS, free_port, wait_for, wait_until_redis_ready, without_libfaketime

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads processes from Linux's /proc")

NBM = str(Path(sys.executable).with_name("nbm"))
#: A line of the project's log format (core/logs.py), or a line that continues one (indented), or
#: what ``nbm`` says on stderr before logging starts.
LOGGED_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \S+: |    |nbm: )")


class RedisServer:
    """A redis-server on a port of its own, without persistence, that the test stops and starts again."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("needs Debian's redis-server (apt-get install redis-server)")
        self.command = [binary, "--port", str(free_port()), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                        "--dir", str(folder)]
        self.url = f"redis://127.0.0.1:{self.command[2]}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        env=without_libfaketime())
        wait_until_redis_ready(self.process)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=DEADLINE_SECONDS)
            assert self.process.stdout is not None
            self.process.stdout.close()
            self.process = None


@pytest.fixture()
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def start_worker(database_url: str, redis_server: RedisServer, tmp_path: Path
                 ) -> Iterator[Callable[[], tuple[subprocess.Popen[bytes], Path]]]:
    """Start ``nbm worker`` on the test database and the test's redis-server; always stopped after."""
    started: list[subprocess.Popen[bytes]] = []

    def start() -> tuple[subprocess.Popen[bytes], Path]:
        log = tmp_path / "worker.log"
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_server.url, "NBM_ENV": "test",
               "NBM_DATA_DIR": str(tmp_path), "EMAIL_BACKEND": "outbox", "LOG_LEVEL": "INFO"}
        with log.open("wb") as output:
            started.append(subprocess.Popen([NBM, "worker"], env=env, stdout=output, stderr=subprocess.STDOUT))
        return started[-1], log

    yield start
    for worker in started:
        worker.terminate()
        try:
            worker.wait(timeout=DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def _children(pid: int) -> set[int]:
    return set(map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split()))


def _finished(job: Job) -> bool:
    return job.get_status(refresh=True) == JobStatus.FINISHED


def test_a_worker_started_while_redis_is_down_waits_saying_so_then_works(
        redis_server: RedisServer, start_worker: Callable[[], tuple[subprocess.Popen[bytes], Path]]) -> None:
    worker, log = start_worker()
    wait_for("a second try, or a traceback", lambda: "trying again in 2 s" in log.read_text()
              or "Traceback" in log.read_text(), worker, log)
    text = log.read_text()
    port = redis_server.command[2]
    assert f"cannot reach Redis at 127.0.0.1:{port} (Error 111 connecting to 127.0.0.1:{port}. Connection refused.);" \
           " trying again in 1 s" in text, text
    assert "Traceback" not in text
    assert all(LOGGED_LINE.match(line) for line in text.splitlines()), text
    (waiting,) = _children(worker.pid)  # the one process that waits, never replaced

    redis_server.start()
    job = Queue(connection=Redis.from_url(redis_server.url)).enqueue("os.getpid")
    wait_for("the job run", lambda: _finished(job), worker, log)
    assert job.return_value() == waiting


def test_after_a_redis_restart_the_scheduler_enqueues_what_comes_due_within_seconds(
        redis_server: RedisServer, start_worker: Callable[[], tuple[subprocess.Popen[bytes], Path]]) -> None:
    redis_server.start()
    worker, log = start_worker()
    wait_for("the scheduler started", lambda: "Scheduler for " in log.read_text(), worker, log)

    redis_server.stop()
    # Waiting it out (this module's scheduler), or dead of it (RQ's, which says so).
    wait_for("the scheduler meeting the outage", lambda: "the scheduler cannot reach Redis" in log.read_text()
              or "raised an exception" in log.read_text(), worker, log)
    redis_server.start()
    # Due now by the worker's clock: the machine's, not this process's (CI runs a pass 400 days ahead).
    job = Queue(connection=Redis.from_url(redis_server.url)).enqueue_at(machine_now(), "os.getpid")
    wait_for("the scheduled job enqueued and run", lambda: _finished(job), worker, log)
    text = log.read_text()
    assert all(LOGGED_LINE.match(line) for line in text.splitlines()), text
    assert "raised an exception" not in text
