"""The faults that hit the product's processes and servers, planned from the seed in simulated time.

:func:`plan_faults` draws each kind's moments as a Poisson process over the faulty part of the
window (at least one of each kind that is on); the clock hands each simulated instant to
:meth:`FaultInjector.step`, which makes every fault planned up to then.

* **A worker process SIGKILLed mid-job.** One of the run's worker processes that RQ says is running
  a job is stopped (SIGSTOP), asked which job that is, then SIGKILLed; its ``nbm worker`` starts a
  fresh one. The job is remembered with the deliveries it carried (one for ``deliver``, a batch for
  ``prepare``): RQ finds it abandoned only once its heartbeat lapses, and if the morning has been
  superseded by then, this kill is why.
* **A whole ``nbm worker`` SIGKILLed** (its supervisor and processes), and a new one started.
* **Redis restarted**: killed, down for a moment, back empty (the queue, the scheduled retries and
  the registries are gone). The deliveries carried by the jobs it held are remembered, as for a kill.
* **PostgreSQL connections cut**: ``pg_terminate_backend`` on every backend of the run's database
  (workers, web app, this process's own). The deliveries carried by the jobs running then are
  remembered: the cut may fail them.

Only processes in the process groups the run started are ever signalled, by pid.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from redis import Redis
from rq import Queue, Worker
from rq.job import Job
from rq.registry import DeferredJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.worker.base import BaseWorker

from bot.chaos.database import ThrowawayDatabase
from bot.chaos.options import FaultRates
from bot.chaos.processes import WorkerFleet
from bot.chaos.redis_server import RedisServer

log = logging.getLogger("nbm.chaos.faults")

#: (kind, user id, channel, period), as RQ's job arguments carry them.
Key = tuple[str, str, str, str]


class FaultKind(StrEnum):
    KILL_WORKER = "worker process SIGKILLed"
    KILL_SUPERVISOR = "nbm worker SIGKILLed and replaced"
    RESTART_REDIS = "Redis restarted empty"
    CUT_POSTGRES = "PostgreSQL connections terminated"


#: Faults that kill a process running jobs.
KILLS = frozenset({FaultKind.KILL_WORKER, FaultKind.KILL_SUPERVISOR})


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    real: float  # time.monotonic()
    sim: datetime
    detail: str = ""
    #: Deliveries carried by the jobs a killed process was running, that a restart of Redis wiped, or
    #: that were running when PostgreSQL was cut.
    keys: frozenset[Key] = field(default_factory=frozenset)


def current_job(worker: BaseWorker) -> str | None:
    """The job ``worker`` is running now, read afresh from Redis."""
    executions = worker.get_current_executions(refresh=True)
    return executions[0].job_id if executions else None


def job_keys(job_id: str, connection: Redis) -> frozenset[Key]:
    """The deliveries a job of ``core.jobs.tasks`` carries, read from its arguments (empty for any
    other job, or one whose shape is not known here: ``deliver``, ``deliver_many``, ``prepare``)."""
    try:
        job = Job.fetch(job_id, connection=connection)
        name, args = (job.func_name or "").rpartition(".")[2], job.args
        if name == "deliver":
            kind, channel, user_id, period = args
            return frozenset({(kind, user_id, channel, period)})
        if name == "deliver_many":
            kind, chunk = args
            return frozenset((kind, user_id, channel, period) for channel, user_id, period in chunk)
        if name == "prepare":
            kind, _at, targets = args
            return frozenset((kind, user_id, channel, period) for user_id, channel, period in targets)
    except Exception:  # gone since, or not the shape expected
        pass
    return frozenset()


def jobs_in_redis(connection: Redis, queue_name: str = "default", *, running_only: bool = False
                  ) -> frozenset[Key]:
    """The deliveries carried by every job waiting, taken, scheduled, deferred or started in RQ (or,
    with ``running_only``, only by those started)."""
    queue = Queue(queue_name, connection=connection)
    ids = set(StartedJobRegistry(queue=queue).get_job_ids())
    if not running_only:
        ids |= set(queue.get_job_ids()) | set(queue.intermediate_queue.get_job_ids())
        for registry in (ScheduledJobRegistry, DeferredJobRegistry):
            ids |= set(registry(queue=queue).get_job_ids())
    return frozenset().union(*(job_keys(job_id, connection) for job_id in ids))


def plan_faults(rates: FaultRates, rng: random.Random, *, start: datetime, until: datetime
                ) -> list[tuple[datetime, FaultKind]]:
    """When each fault happens, in simulated time: ``per_day`` on average over ``[start, until)``, and
    at least once for each kind that is on."""
    per_day = {FaultKind.KILL_WORKER: rates.kill_worker_per_day,
               FaultKind.KILL_SUPERVISOR: rates.kill_supervisor_per_day,
               FaultKind.RESTART_REDIS: rates.restart_redis_per_day,
               FaultKind.CUT_POSTGRES: rates.cut_postgres_per_day}
    span = (until - start) / timedelta(days=1)
    plan: list[tuple[datetime, FaultKind]] = []
    for kind, rate in per_day.items():
        if rate <= 0 or span <= 0:
            continue
        moments, at = [], rng.expovariate(rate)
        while at < span:
            moments.append(at)
            at += rng.expovariate(rate)
        plan += [(start + timedelta(days=m), kind) for m in moments or [rng.uniform(0, span)]]
    return sorted(plan)


class FaultInjector:
    def __init__(self, *, rates: FaultRates, seed: int, start: datetime, until: datetime, fleet: WorkerFleet,
                 redis_server: RedisServer, database: ThrowawayDatabase, redis: Redis) -> None:
        self._rates, self._fleet, self._redis_server, self._database = rates, fleet, redis_server, database
        self._redis = redis
        self._rng = random.Random(seed)
        self.planned = plan_faults(rates, self._rng, start=start, until=until)
        self._next = 0
        self.faults: list[Fault] = []

    def step(self, sim: datetime) -> None:
        """Make every fault planned up to simulated ``sim``."""
        while self._next < len(self.planned) and self.planned[self._next][0] <= sim:
            kind = self.planned[self._next][1]
            self._next += 1
            try:
                fault = self._inject(kind, sim)
            except Exception as error:  # a fault that could not be made (Redis down to read workers...)
                log.debug("could not inject %s: %s", kind, error)
                fault = None
            if fault is not None:
                self.faults.append(fault)

    def _inject(self, kind: FaultKind, sim: datetime) -> Fault | None:
        if kind is FaultKind.KILL_WORKER:
            return self._kill_worker(sim)
        if kind is FaultKind.KILL_SUPERVISOR:
            return self._kill_supervisor(sim)
        if kind is FaultKind.RESTART_REDIS:
            downtime = self._rng.uniform(*self._rates.redis_downtime)
            try:
                lost = jobs_in_redis(self._redis)  # what the restart is about to wipe
            except Exception:
                lost = frozenset()
            started = time.monotonic()
            self._redis_server.restart(downtime)
            return Fault(kind, started, sim, f"down {downtime:.1f} s", lost)
        try:
            running = jobs_in_redis(self._redis, running_only=True)  # what the cut may fail
        except Exception:
            running = frozenset()
        cut = self._database.cut_connections()
        return Fault(kind, time.monotonic(), sim, f"{cut} connections", running)

    def _our_workers(self) -> list[BaseWorker]:
        return [w for w in Worker.all(connection=self._redis) if w.pid and self._fleet.owns(w.pid)]

    def _kill_worker(self, sim: datetime) -> Fault | None:
        workers = self._our_workers()
        busy = [w for w in workers if current_job(w)]
        if not (busy or workers):
            return None
        target = self._rng.choice(busy or workers)
        pid = int(target.pid)  # type: ignore[arg-type]
        os.kill(pid, signal.SIGSTOP)  # hold it still while asking what it is doing
        try:
            job_id = current_job(target)
            keys = job_keys(job_id, self._redis) if job_id else frozenset()
        finally:
            os.kill(pid, signal.SIGKILL)
        return Fault(FaultKind.KILL_WORKER, time.monotonic(), sim, f"pid {pid}, job {job_id or 'none'}", keys)

    def _kill_supervisor(self, sim: datetime) -> Fault | None:
        alive = [s for s in self._fleet.supervisors if s.alive()]
        if not alive:
            return None
        supervisor = self._rng.choice(alive)
        supervisor.signal_group(signal.SIGSTOP)
        try:
            jobs = [current_job(w) for w in self._our_workers()
                    if self._fleet.supervisor_of(int(w.pid)) is supervisor]  # type: ignore[arg-type]
            keys = frozenset().union(*(job_keys(j, self._redis) for j in jobs if j))
        finally:
            self._fleet.replace(supervisor)  # SIGKILL to the group, then a new nbm worker
        running = ", ".join(j for j in jobs if j) or "none"
        return Fault(FaultKind.KILL_SUPERVISOR, time.monotonic(), sim, f"{supervisor.name}, jobs {running}", keys)
