"""What the run does about RQ besides the product's own processes: its maintenance, sooner, and
knowing when the workers are idle.

RQ's workers do their maintenance every ten minutes: finding the jobs of dead workers (once their
heartbeat lapses), failing jobs a dead worker took but never started, and, in a worker that does
not run RQ's scheduler, trying to take the scheduler over. On a clock that passes a day in seconds,
ten minutes is an age; :class:`Maintenance` does the same every few seconds.
"""

from __future__ import annotations

import logging
import time

from rq import Queue, Worker
from rq.registry import ScheduledJobRegistry, clean_registries
from rq.scheduler import RQScheduler
from rq.utils import current_timestamp

from bot.chaos.faults import current_job
from bot.chaos.processes import WorkerFleet
from core.queue import get_queue, get_redis

#: The queue the product's jobs go to in a chaos run (core.queue.QUEUE_NAMES: its users have no call
#: detection, so nothing goes to the background queue).
QUEUE = "default"
#: Real seconds between two rounds of maintenance.
MAINTENANCE_EVERY = 5.0


class Maintenance:
    """RQ's own maintenance, every :data:`MAINTENANCE_EVERY` seconds (module docstring): the registries
    (a dead worker's job is found once its heartbeat lapses), and the scheduler's work while no
    worker's scheduler holds the queue's lock.

    RQ's scheduler runs in one worker, which holds a lock (61 s) on the queue; a worker that did not
    get it tries again only at its next maintenance, ten minutes later. So once the worker holding it
    is killed, retries (and Slack redraws) wait for that. Here, when a scheduled job is due and no
    scheduler holds the lock, this process moves the due jobs to the queue itself, as the next
    worker to take the lock would, and counts each time it had to (a finding: in production those
    retries would have waited up to ten minutes)."""

    def __init__(self) -> None:
        self._last = 0.0
        self._scheduler = RQScheduler([QUEUE], connection=get_redis(), logging_level=logging.WARNING)
        #: Rounds in which jobs were due and no worker's scheduler held the lock; jobs moved then.
        self.scheduler_gaps = 0
        self.scheduler_moved = 0

    def maybe(self) -> None:
        if time.monotonic() - self._last < MAINTENANCE_EVERY:
            return
        self._last = time.monotonic()
        try:
            queue = get_queue(QUEUE)
            clean_registries(queue)
            queue.intermediate_queue.cleanup(Worker([queue], connection=queue.connection), queue)
            self._stand_in_for_the_scheduler(queue)
        except Exception:  # Redis down: the next round will do
            pass

    def _stand_in_for_the_scheduler(self, queue: Queue) -> None:
        if queue.connection.exists(RQScheduler.get_locking_key(queue.name)):
            return
        due = ScheduledJobRegistry(queue=queue).get_jobs_to_schedule(current_timestamp())
        if not due:
            return
        self.scheduler_gaps += 1
        if self._scheduler.acquire_locks():
            try:
                self._scheduler.enqueue_scheduled_jobs()
                self.scheduler_moved += len(due)
            finally:
                self._scheduler.release_locks()


class Idleness:
    """Whether the workers are done with what was enqueued: no job waiting, none just taken but not
    yet started (RQ's intermediate queue, for an instant), none running. A job that stays in the
    intermediate queue was taken by a worker that died (RQ's maintenance fails it after a minute):
    nobody is working on it, so after :data:`STUCK_AFTER` seconds it no longer counts."""

    STUCK_AFTER = 2.0

    def __init__(self, fleet: WorkerFleet) -> None:
        self._fleet = fleet
        self._taken: dict[str, float] = {}

    def __call__(self) -> bool:
        queue = get_queue(QUEUE)
        if queue.count:
            return False
        now = time.monotonic()
        taken = {job_id: self._taken.get(job_id, now) for job_id in queue.intermediate_queue.get_job_ids()}
        self._taken = taken
        if any(now - since < self.STUCK_AFTER for since in taken.values()):
            return False
        return busy_workers(self._fleet) == 0


def busy_workers(fleet: WorkerFleet) -> int:
    """How many of the run's worker processes are running a job."""
    return sum(1 for w in Worker.all(connection=get_redis()) if w.pid and fleet.owns(w.pid) and current_job(w))
