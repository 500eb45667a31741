"""RQ's scheduler as ``nbm worker`` runs it: kept by the supervisor, and patient with failures.

The product depends on RQ's scheduler for every job due later: a delivery's retries (1, 5 and 30
minutes, ``core.jobs.tasks``), a trial's retries (``core.billing.trial``), the Slack redraws, each
scheduled for the end of its second, and their retries (``bot.slack.redraws``). One scheduler per
queue works at a time, the one holding RQ's lock on the queue (a Redis key that lapses 61 s after
its holder's last heartbeat, one a second).

**Kept by the supervisor.** RQ starts the scheduler from a worker, in a process of its own, only
if that worker takes the lock at its start; a worker that did not, or whose scheduler died, tries
again only at its maintenance, every 10 minutes (and idle, only once its wait for a job ends,
every 405 s). So when the process holding the lock was SIGKILLed (the OOM killer, a machine lost),
retries and redraws waited for the first maintenance after the lock lapsed: up to about 15
minutes. Here the supervisor of ``nbm worker`` keeps the scheduler (:class:`SchedulerKeeper`, each
second of its loop), and its worker processes run none of their own: a scheduler process of its
own that died is started again at once (the lock is still its own), and a lock another ``nbm
worker`` held is taken over within a second of its lapse, so jobs due wait at most the lock's 61 s
when a whole ``nbm worker`` dies, and about a second when its scheduler alone does. A burst runs
no scheduler: each worker makes RQ's single pass over the due jobs.

**Patient with failures.** RQ's scheduler died of the first error, a Redis outage or any other,
printing a bare traceback: a :class:`PatientScheduler` waits out an outage (one log line), trying
again every few seconds at most (:data:`SCHEDULER_RETRY_CAP_SECONDS`), so scheduled jobs move again
within seconds of Redis's return; and it starts again after any other error (one log record, its
traceback indented, as ``bot.worker.LoggedProcess`` reports a process's end), waiting 1, 2, 4... s
up to :data:`SCHEDULER_QUIET_CAP_SECONDS`: an error that comes back every time (Redis refusing
writes, a wrong setting) seldom goes by itself. A failure that repeats itself, the same error with
the same message, is logged in full only the first time; then in one short line with how many times
in how long, each line further apart than the one before (1, 2, 4... s, up to
:data:`SCHEDULER_QUIET_CAP_SECONDS`), and its end in a line saying the scheduler works again.
Once-only guarantees are untouched: job ids and the deliveries ledger decide, as ever.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from redis import ConnectionPool, Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry
from rq import Queue
from rq.scheduler import RQScheduler

from core.text import plural

log = logging.getLogger("nbm.worker")

#: Seconds the supervisor waits for its scheduler to stop (it releases its locks), before ending it.
SCHEDULER_STOP_SECONDS = 10.0
#: Seconds a Redis command of the scheduler (the supervisor's tries for the lock included) may take,
#: tried once: a Redis that does not answer (a network cut) must not hold up the supervisor, which
#: also replaces worker processes that exit (redis-py's own retries held it a minute); the scheduler
#: meets it as an outage, and tries again itself.
SCHEDULER_REDIS_TIMEOUT_SECONDS = 2.0

#: Longest wait between two tries of the scheduler to reach Redis again: scheduled jobs (Slack
#: redraws, delivery retries) are late by at most this much after Redis is back.
SCHEDULER_RETRY_CAP_SECONDS = 5.0
#: Longest wait between two tries of the scheduler after an error that is no outage (a registry key of
#: the wrong type, Redis refusing writes, a setting that is wrong): one that comes back every time
#: seldom goes by itself, so it is tried, and logged, ever more rarely, up to this far apart; and the
#: longest time between two log lines about a failure that keeps coming back, an outage too.
SCHEDULER_QUIET_CAP_SECONDS = 60.0
#: What a Redis outage raises.
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)


def retry_delays(cap: float) -> Iterator[float]:
    """Seconds to wait before each next try: 1, 2, 4, ... up to ``cap``, then ``cap`` for ever."""
    delay = 1.0
    while True:
        yield min(delay, cap)
        delay *= 2


def first_line(exc: BaseException) -> str:
    """The first line of what ``exc`` says (its type's name when it says nothing), for a one-line log."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class PatientScheduler(RQScheduler):
    """RQ's scheduler, which outlives a Redis outage or any other error (module docstring) instead of
    dying of it, and says a failure that keeps coming back without filling the log with it."""

    _failing: _Failing | None = None

    def work(self) -> None:
        while True:
            try:
                super().work()
                return
            except Exception as exc:
                if self._stop_requested:
                    return  # stopping anyway: the locks lapse by themselves
                time.sleep(self._failed(exc))

    def enqueue_scheduled_jobs(self) -> None:
        """RQ's pass over the due jobs, its last step of a turn: one that goes through after failures says so."""
        super().enqueue_scheduled_jobs()
        failing, self._failing = self._failing, None
        if failing is not None:
            log.info("the scheduler works again, after failing %s in %s (%s)", plural(failing.count, "time"),
                     _duration(time.monotonic() - failing.since), failing.kind[1])

    def _failed(self, exc: Exception) -> float:
        """Count and log ``exc`` (module docstring: the first of its kind in full, its repeats in a short
        line, ever more rarely); the seconds to wait before starting again."""
        now = time.monotonic()
        outage = isinstance(exc, REDIS_DOWN)
        kind = (type(exc).__qualname__, first_line(exc))
        failing = self._failing
        if failing is None or failing.kind != kind:
            cap = SCHEDULER_RETRY_CAP_SECONDS if outage else SCHEDULER_QUIET_CAP_SECONDS
            failing = self._failing = _Failing(kind, since=now, next_line=now, delays=retry_delays(cap))
        failing.count += 1
        delay = next(failing.delays)
        if now < failing.next_line:
            return delay
        failing.next_line, failing.line_gap = now + failing.line_gap, min(failing.line_gap * 2,
                                                                         SCHEDULER_QUIET_CAP_SECONDS)
        if failing.count == 1 and outage:
            log.warning("the scheduler cannot reach Redis (%s); trying again in %.0f s", kind[1], delay)
        elif failing.count == 1:
            log.error("the scheduler stopped on an error; it starts again in %.0f s", delay, exc_info=True)
        elif outage:
            log.warning("the scheduler still cannot reach Redis (%s), %d tries in %s; trying again in %.0f s (it "
                        "tries every %.0f s at most, and says so less often, up to %.0f s apart)", kind[1],
                        failing.count, _duration(now - failing.since), delay, SCHEDULER_RETRY_CAP_SECONDS,
                        SCHEDULER_QUIET_CAP_SECONDS)
        else:
            log.error("the scheduler stopped on the same error again (%s: %s), %d times in %s; it starts again in "
                      "%.0f s (the wait doubles each time, up to %.0f s)", *kind, failing.count,
                      _duration(now - failing.since), delay, SCHEDULER_QUIET_CAP_SECONDS)
        return delay


@dataclass
class _Failing:
    """The scheduler failing over and over in the same way (``kind``: the error's type and first line),
    since ``since`` (monotonic seconds): how many times, the waits before each next try, and when a
    repeat is said next (``next_line``, then ``line_gap`` later)."""

    kind: tuple[str, str]
    since: float
    next_line: float
    delays: Iterator[float]
    line_gap: float = 1.0
    count: int = 0


def _duration(seconds: float) -> str:
    """``seconds`` as a person reads a duration: "45 s", "3 min", "2.5 h"."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


class SchedulerKeeper:
    """RQ's scheduler kept running by the supervisor of ``nbm worker`` (module docstring): each
    :meth:`keep`, when its scheduler process is not running, it takes the queues' locks that are free
    or still its own, and starts one."""

    def __init__(self, queues: Sequence[Queue], *, connection: Redis, logging_level: str) -> None:
        pool = connection.connection_pool
        bounded = Redis(connection_pool=ConnectionPool(
            connection_class=pool.connection_class, **{**pool.connection_kwargs,
                                                        "socket_connect_timeout": SCHEDULER_REDIS_TIMEOUT_SECONDS,
                                                        "socket_timeout": SCHEDULER_REDIS_TIMEOUT_SECONDS,
                                                        "retry": Retry(NoBackoff(), 0)}))
        self._scheduler = PatientScheduler(queues, connection=bounded, logging_level=logging_level)
        self._unreachable = False

    def keep(self) -> None:
        """Start the scheduler if it is not running and a lock can be had; a Redis outage is said once."""
        process = self._scheduler._process
        if process is not None and process.is_alive():
            return
        try:
            self._scheduler.acquire_locks(auto_start=True)
        except REDIS_DOWN as exc:
            if not self._unreachable:
                log.warning("cannot reach Redis to start RQ's scheduler (%s); trying again every second",
                            first_line(exc))
            self._unreachable = True
            return
        self._unreachable = False

    def stop(self) -> None:
        """Stop the scheduler process, which releases its locks as it goes, and wait for it (at most
        :data:`SCHEDULER_STOP_SECONDS`, then end it: its locks lapse by themselves)."""
        process = self._scheduler._process
        if process is None or not process.is_alive():
            return
        process.terminate()
        process.join(SCHEDULER_STOP_SECONDS)
        if process.is_alive():
            process.kill()
            process.join()
