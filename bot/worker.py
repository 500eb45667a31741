"""The worker process (``nbm worker``): RQ jobs run warm, in the worker's own process.

RQ's default ``Worker`` forks a fresh work horse for every job, so every job started cold: it
imported, connected to PostgreSQL, compiled the email templates and read the timezones it needed
all over again (1.4 s a delivery job here, against 0.27 s warm, most of the morning). A
:class:`WarmWorker` is RQ's ``SimpleWorker``: each job runs in the worker's own process, whose
engine (and its pooled connection), templates, signing keys, SMTP session and zone cache are built
once (:func:`warm_up`) and kept. ``nbm worker --processes N`` runs N of them under one supervisor
(RQ's ``WorkerPool``), which starts a fresh one whenever one exits; run several per machine (jobs
wait on the database and the mail server, so more processes than cores pays) and as many machines
as the morning needs.

**What the fork gave, and what stands in for it.**

* *A job that hangs.* RQ's job timeout is enforced in the process as it was in the horse: an alarm
  (SIGALRM, RQ's ``UnixSignalDeathPenalty``) raises ``JobTimeoutException`` inside the job, which
  fails it into RQ's retries and failed registry. The forking worker could also kill a horse stuck
  where no signal handler runs (in C code that never returns); here a :class:`Watchdog` thread
  ends the whole process :data:`WATCHDOG_GRACE` seconds after a job's timeout. The supervisor
  starts a fresh process; RQ marks the job abandoned (failed) once its heartbeat lapses, and the
  clock's next tick re-runs its batch, which enqueues what is still owed: the deliveries
  ledger decides, as after any crash.
* *A job that leaks.* A horse's leaks died with it. Here a process retires between jobs, and the
  supervisor replaces it, after :data:`RECYCLE_AFTER_JOBS` jobs, once its peak memory passes
  :data:`RECYCLE_ABOVE_MIB`, or when a job left a database connection checked out of the pool.
  Jobs keep no state of their own between runs (each opens and closes its units of work), which
  is what makes running them in one process safe; what is kept on purpose is listed above.
* *A crash* (a segfault, the kernel's OOM killer) takes the worker rather than a horse: the
  supervisor starts another, and the job is abandoned and picked up again as for a hang.

**Outages.** A worker process that starts while PostgreSQL or Redis cannot be reached waits for
them (:func:`wait_for_services`: one log line per try, saying what is unreachable and when it tries
again, the tries spaced out up to :data:`START_RETRY_CAP_SECONDS`) instead of failing at once: its
supervisor would replace it every second, each with a traceback. Whatever else ends a worker
process is logged as one record (:class:`LoggedProcess`), as every record is (core/logs.py).
RQ's scheduler (the process that enqueues retries and Slack redraws when due) is kept by the
supervisor, not by a worker, and outlives outages and errors: ``bot.scheduler``.
"""

from __future__ import annotations

import gc
import logging
import os
import resource
import threading
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.worker_pool import ForkProcess, WorkerPool
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bot.email.backends import get_backend
from bot.email.links import EmailLinks
from bot.email.render import compile_templates
from bot.scheduler import REDIS_DOWN, SchedulerKeeper, first_line, retry_delays
from core.db import get_engine
from core.queue import certificate_refused
from core.text import plural

log = logging.getLogger("nbm.worker")

#: A process retires (and the supervisor starts a fresh one) after this many jobs...
RECYCLE_AFTER_JOBS = 5000
#: ...or once its peak resident memory passes this many MiB.
RECYCLE_ABOVE_MIB = 768
#: Seconds past a job's own timeout after which the watchdog ends the process.
WATCHDOG_GRACE = 30.0
#: Longest wait between two tries to reach PostgreSQL and Redis at a worker's start.
START_RETRY_CAP_SECONDS = 30.0
def unreachable_services(redis: Redis) -> list[str]:
    """What this process cannot reach now, each as "PostgreSQL at HOST:PORT (why)" (empty: all is well)."""
    problems = []
    engine = get_engine()
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        cause = (exc.orig if isinstance(exc, DBAPIError) else None) or exc
        problems.append(f"PostgreSQL at {engine.url.host}:{engine.url.port or 5432} ({first_line(cause)})")
    try:
        redis.ping()
    except REDIS_DOWN as exc:
        where = redis.connection_pool.connection_kwargs
        host, port = where.get("host"), where.get("port")
        # A rediss:// server down at start, whose certificate is refused once it is up: say which setting.
        refused = certificate_refused(exc, host=host, port=port) if isinstance(exc, RedisConnectionError) else None
        problems.append(f"Redis at {host}:{port} ({refused or first_line(exc)})")
    return problems


def wait_for_services(redis: Redis, *, sleep: Callable[[float], object] = time.sleep) -> None:
    """Return once PostgreSQL and ``redis`` answer, logging one line per failed try."""
    for delay in retry_delays(START_RETRY_CAP_SECONDS):
        problems = unreachable_services(redis)
        if not problems:
            return
        log.warning("worker waiting to start: cannot reach %s; trying again in %.0f s", " nor ".join(problems), delay)
        sleep(delay)


def warm_up() -> None:
    """Build once, in this process, what every job uses: the database engine with a connection in its
    pool, the compiled email templates, the link signers, the email backend (and its TLS context)."""
    with get_engine().connect() as connection:
        connection.execute(text("SELECT 1"))
    compile_templates()
    EmailLinks.from_settings()
    get_backend()


class Watchdog:
    """Ends the process when the job it watches runs :data:`WATCHDOG_GRACE` seconds past its timeout."""

    def __init__(self, grace: float = WATCHDOG_GRACE, *, exit_process: Callable[[int], object] = os._exit) -> None:
        self._grace = grace
        self._exit = exit_process
        self._deadline: float | None = None
        self._job_id = ""
        self._wake = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._watch, name="nbm-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()

    def arm(self, job_id: str, timeout: float | None) -> None:
        """Watch a job that may run ``timeout`` seconds (None or negative: unlimited, so unwatched)."""
        self._job_id = job_id
        self._deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout + self._grace
        self._wake.set()

    def disarm(self) -> None:
        self._deadline = None

    def check(self, now: float) -> bool:
        """End the process if the watched job is overdue at ``now`` (monotonic seconds); whether it was."""
        if self._deadline is None or now <= self._deadline:
            return False
        log.critical("job %s ran %.0f s past its timeout and did not stop: ending this worker process so a fresh "
                     "one replaces it (the job is abandoned, then enqueued again by the schedule)",
                     self._job_id, self._grace)
        self._exit(70)
        return True

    def _watch(self) -> None:
        while not self._stopped:
            deadline = self._deadline
            self._wake.wait(timeout=None if deadline is None else max(deadline - time.monotonic(), 0.0) + 0.5)
            self._wake.clear()
            self.check(time.monotonic())


class WarmWorker(SimpleWorker):
    """RQ's ``SimpleWorker``, warmed up before its first job, watched, and (when ``supervised``, so that
    a fresh process takes its place) retired when it should be: module rules. It starts once
    PostgreSQL and Redis answer, and runs no scheduler of its own but for a burst's single pass (its
    supervisor keeps RQ's scheduler: bot.scheduler)."""

    supervised = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("prepare_for_work", True):
            wait_for_services(kwargs["connection"])  # RQ's own start talks to Redis at once
        super().__init__(*args, **kwargs)

    def _start_scheduler(self, burst: bool = False, logging_level: str | None = "INFO", *args: Any,
                         **kwargs: Any) -> None:
        """A burst's single pass over the due jobs (RQ's); otherwise nothing: the supervisor keeps RQ's
        scheduler (bot.scheduler), since one started here went down with this process and was taken
        over only at another worker's 10-minute maintenance."""
        if burst:
            super()._start_scheduler(burst, logging_level, *args, **kwargs)

    def work(self, *args: Any, **kwargs: Any) -> bool:
        if self.supervised:
            kwargs.setdefault("max_jobs", RECYCLE_AFTER_JOBS)
        warm_up()
        # What warming up built lives as long as the process: the garbage collector need not scan it
        # again at every full collection (the jobs' own short-lived objects are collected as ever).
        gc.collect()
        gc.freeze()
        self._watchdog = Watchdog()
        self._watchdog.start()
        try:
            return bool(super().work(*args, **kwargs))
        finally:
            self._watchdog.stop()
            gc.unfreeze()
            backend = get_backend()
            close = getattr(backend, "close", None)
            if close is not None:
                close()  # a kept SMTP session says goodbye

    def execute_job(self, job: Job, queue: Queue) -> None:
        watchdog: Watchdog | None = getattr(self, "_watchdog", None)
        if watchdog is not None:
            watchdog.arm(job.id, job.timeout or self.queue_class.DEFAULT_TIMEOUT)  # RQ's own default, as it applies
        try:
            super().execute_job(job, queue)
        finally:
            if watchdog is not None:
                watchdog.disarm()
        reason = retire_reason() if self.supervised else None
        if reason:
            log.warning("worker %s retires after job %s: %s; a fresh process takes its place", self.name, job.id,
                        reason)
            self._stop_requested = True


def retire_reason() -> str | None:
    """Why this process should stop taking jobs now, if it should."""
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    if peak_mib > RECYCLE_ABOVE_MIB:
        return f"its memory peaked at {peak_mib:.0f} MiB (limit {RECYCLE_ABOVE_MIB} MiB)"
    checked_out = getattr(get_engine().pool, "checkedout", lambda: 0)()
    if checked_out:
        return f"a job left {plural(checked_out, 'database connection')} checked out"
    return None


def run_workers(queues: list[Queue], *, processes: int, burst: bool,
                worker_class: type[SimpleWorker] = WarmWorker) -> None:
    """Work ``queues``: one warm worker in this process for a single burst (``nbm worker --burst``, and
    the tests, which need the jobs inside their own process), else ``processes`` warm workers under a
    supervisor that replaces each one that exits (until a burst empties the queues)."""
    if processes == 1 and burst:
        worker = worker_class(queues, connection=queues[0].connection)
        if isinstance(worker, WarmWorker):
            worker.supervised = False  # nothing would take its place: it runs the queue dry, then exits
        worker.work(burst=True, with_scheduler=True)
        return
    pool = LoggedPool(queues, connection=queues[0].connection, num_workers=processes, worker_class=worker_class)
    pool.start(burst=burst, logging_level=logging.getLevelName(logging.getLogger().getEffectiveLevel()))


class LoggedProcess(ForkProcess):  # type: ignore[misc,valid-type]
    """Runs what ``inner`` (a process not started) would run, in a forked process that reports an
    exception ending it as one log record, traceback indented (core/logs.py), where multiprocessing
    would print the bare traceback on stderr."""

    def __init__(self, inner: BaseProcess) -> None:
        super().__init__(name=inner.name)
        self._inner = inner

    def run(self) -> None:
        try:
            self._inner.run()
        except Exception:
            log.critical("%s stopped on an error; its supervisor starts another", self.name, exc_info=True)
            raise SystemExit(1) from None


class LoggedPool(WorkerPool):
    """RQ's ``WorkerPool``, whose worker processes are :class:`LoggedProcess` es, and which keeps RQ's
    scheduler itself, each turn of its loop (bot.scheduler.SchedulerKeeper), but for a burst."""

    _keeper: SchedulerKeeper | None = None

    def start(self, burst: bool = False, logging_level: str = "INFO") -> None:
        if not burst:
            self._keeper = SchedulerKeeper(self.queues, connection=self.connection, logging_level=logging_level)
        try:
            super().start(burst=burst, logging_level=logging_level)
        finally:
            if self._keeper is not None:
                self._keeper.stop()

    def check_workers(self, respawn: bool = True) -> None:
        super().check_workers(respawn=respawn)
        if self._keeper is not None:
            self._keeper.keep()

    def get_worker_process(self, name: str, burst: bool, _sleep: float = 0,
                           logging_level: str = "INFO") -> BaseProcess:
        return LoggedProcess(super().get_worker_process(name, burst, _sleep, logging_level))
