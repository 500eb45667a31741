"""The RQ jobs. Each takes ids and strings (RQ pickles arguments), and is safe to run twice.

* :func:`prepare` builds a batch's plans (the planner's batch entry point: a fixed number of
  queries per batch) or weekly summaries, then enqueues its deliveries, :data:`DELIVERY_CHUNK` per
  :func:`deliver_many` job.
* :func:`deliver` sends one delivery. Its row in ``deliveries`` is written *before* sending
  (pending, attempts + 1, a lease) and *after* (sent, with the external id), so a retry after a
  crash sends what is missing and a finished delivery is never sent again (:mod:`core.jobs.attempts`
  says how). Channels fail independently: each
  delivery has its own retries with back-off, and ends in RQ's failed registry (under its own job
  id, ``deliver-KIND-CHANNEL-USER-PERIOD``) with the reason after the last try (the row says
  ``failed``, so the scheduler stops asking for it).
* :func:`deliver_many` makes the first try of several deliveries: it claims and composes them all
  in one unit of work, then sends them one after the other, each exactly as :func:`deliver` does.
  RQ's own bookkeeping of a job (some twenty round trips to Redis to take, start, heartbeat and
  finish it) cost more than a delivery; a chunk pays it once, and one unit of work. Only the first try
  is made here: a delivery whose try fails temporarily is handed to its own :func:`deliver` job,
  with the rest of the usual retries at the usual intervals (so the tries and their times are those
  of a job per delivery), and the channel is not tried again in this chunk (a mail server that
  refused one email is left alone; its other deliveries get their own jobs too, their claims given
  back untried). One that fails for
  good is recorded so in the ledger at once and reported under its own job id in RQ's failed
  registry (:func:`failed_for_good`). A delivery whose own job is waiting or running is left to it.
* :func:`housekeeping` runs the daily housekeeping for everyone.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from itertools import zip_longest
from typing import Any

from redis.exceptions import LockError
from rq import Queue, Retry, get_current_job
from rq.exceptions import DuplicateJobError, InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from rq.timeouts import BaseTimeoutException
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.billing.jobs import sweep_trials
from core.billing.status import NoService
from core.calendars.morning import free_minutes_for_users
from core.clock import local_today
from core.db import unit_of_work
from core.housekeeping import run_housekeeping
from core.jobs.attempts import Attempt, claim_and_compose
from core.jobs.calls import search_calls, users_searching
from core.jobs.channels import ChannelOff, PermanentDeliveryError
from core.jobs.schedule import Due
from core.models import Channel, DeliveryKind, User
from core.planner.batch import plan_users
from core.queue import BACKGROUND, get_queue
from core.summaries.service import build_weekly_summary

log = logging.getLogger(__name__)

#: Seconds between tries of a delivery (3 retries after the first try). Tests set zeros.
RETRY_INTERVALS = [60, 300, 1800]
BATCH_SIZE = 200
#: Deliveries per :func:`deliver_many` job: enough to spread RQ's cost of a job thin, few enough that a
#: morning's batches keep every worker busy to the end.
DELIVERY_CHUNK = 25
#: Seconds a chunk may run: its deliveries in turn, one of them possibly slow to fail (a mail server
#: that does not answer costs its timeout and the backend's own few retries).
CHUNK_TIMEOUT = 600
#: Within a batch, the Slack DM (instant, in the app) is queued before the email.
CHANNEL_ORDER = {Channel.SLACK: 0, Channel.EMAIL: 1, Channel.CLI: 2, Channel.SYSTEM: 3}
#: Within a tick, each batch of last week's summaries is queued just before the batch of plans of the
#: same users (both are sorted by user): a plan built after the summary of the week before takes its
#: focus (core.planner.batch), so Monday's plan names the focus the summary sent that morning does (one
#: built first gets it when the summary is made: build_weekly_summary), and no user's plan waits for
#: the summaries of everyone else.
KIND_ORDER = {DeliveryKind.WEEKLY_SUMMARY: 0, DeliveryKind.PLAN: 1}

_REPLACEABLE = {JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}
#: How long one enqueuer may hold a job id while it replaces that job (a clock that dies holding it
#: delays the replacement by this much, no more).
_REPLACE_LOCK_SECONDS = 30


def enqueue_once(
    queue: Queue, job_id: str, func: Callable[..., Any], *args: object, retry: Retry | None = None,
    rerun_finished: bool = False, delay: float = 0, timeout: int | None = None, at_front: bool = False,
) -> bool:
    """Enqueue under a deterministic id unless that job is already waiting, running or done; True if enqueued.

    ``delay`` (seconds) schedules it instead (RQ's scheduler, which workers run, enqueues it then);
    ``timeout`` is its job timeout (RQ's default otherwise); ``at_front`` puts it ahead of the jobs
    waiting.

    A job with that id that failed, was stopped or canceled is replaced (the database says whether
    its work still needs doing); a finished one too when ``rerun_finished``. Any other job with the
    id (queued, started, scheduled for a retry, deferred...) means "already enqueued".

    Safe with several schedulers at once and never raises for a job id taken: enqueueing is RQ's
    atomic check-and-save (``unique=True``); replacing (read the status, delete, enqueue) is done by
    one enqueuer at a time, under a Redis lock on the id, and an enqueuer that finds the lock taken
    leaves the job to its holder.
    """
    replaceable = _REPLACEABLE | {JobStatus.FINISHED} if rerun_finished else _REPLACEABLE

    def enqueue() -> bool:
        options: dict[str, Any] = {"job_id": job_id, "unique": True, "retry": retry, "failure_ttl": 7 * 86400}
        if timeout is not None:
            options["job_timeout"] = timeout
        try:
            if delay > 0:
                queue.enqueue_in(timedelta(seconds=delay), func, *args, **options)
            else:
                queue.enqueue(func, *args, at_front=at_front, **options)
        except DuplicateJobError:
            return False
        return True

    if enqueue():
        return True
    lock = queue.connection.lock(f"nbm:enqueue:{queue.name}:{job_id}", timeout=_REPLACE_LOCK_SECONDS)
    if not lock.acquire(blocking=False):
        return False  # another scheduler is replacing it right now
    try:
        try:
            existing = Job.fetch(job_id, connection=queue.connection)
            status: JobStatus | None = existing.get_status(refresh=True)
        except (NoSuchJobError, InvalidJobOperation):
            status = None  # gone since (its result expired): nothing to replace
        if status is not None:
            if status not in replaceable:
                return False
            existing.delete()
        return enqueue()
    finally:
        try:
            lock.release()
        except LockError:
            log.warning("enqueueing %s took over %d s; the lock on its id had expired", job_id, _REPLACE_LOCK_SECONDS)


def enqueue_due(due: list[Due], *, at: datetime, queue: Queue | None = None) -> int:
    """Hand due deliveries to :func:`prepare` jobs, in batches; returns how many batches were enqueued.

    A batch's id hashes its content, so two schedulers finding the same work enqueue it once. A
    finished batch whose deliveries are still due is run again (plans are never rebuilt, deliveries
    already waiting are not enqueued twice): that is how a delivery lost with a dead worker resumes.
    """
    queue = queue or get_queue()
    by_kind: dict[DeliveryKind, list[Due]] = defaultdict(list)
    for item in sorted(due, key=lambda d: (KIND_ORDER[d.kind], d.user_id, CHANNEL_ORDER[d.channel])):
        by_kind[item.kind].append(item)
    # A batch of summaries, then the batch of plans of the same users, and so on (KIND_ORDER).
    turns = zip_longest(*([(kind, batch) for batch in _batches(items)] for kind, items in by_kind.items()))
    enqueued = 0
    for kind, batch in (pair for turn in turns for pair in turn if pair is not None):
        digest = hashlib.sha1(repr(batch).encode()).hexdigest()[:16]
        enqueued += enqueue_once(queue, f"prepare-{kind.value}-{digest}", prepare, kind.value, at.isoformat(),
                                 batch, rerun_finished=True)
    return enqueued


def _batches(items: list[Due]) -> list[list[tuple[str, str, str]]]:
    """``items`` of one kind as :func:`prepare`'s targets (user, channel, period), :data:`BATCH_SIZE` a batch."""
    rows = [(str(d.user_id), d.channel.value, d.period.isoformat()) for d in items]
    return [rows[start:start + BATCH_SIZE] for start in range(0, len(rows), BATCH_SIZE)]


def prepare(kind: str, at: str, targets: list[tuple[str, str, str]]) -> None:
    """Build the plans (or summaries) of a batch, then enqueue one delivery per user and channel."""
    delivery_kind = DeliveryKind(kind)
    if delivery_kind == DeliveryKind.PLAN:
        instant = datetime.fromisoformat(at)
        with unit_of_work(service=True) as session:
            user_ids = _due_today(session, targets, at=instant)
        # Calendars first, many at once and within the budget: a slow provider means default capacity
        # for its user, never a late morning (core.calendars.morning).
        free = free_minutes_for_users(user_ids, at=instant)
        with unit_of_work(service=True) as session:  # what wakes today is planned today (plan_users)
            plan_users(session, user_ids=user_ids, at=instant, free_minutes=free)
    else:
        weeks = {uuid.UUID(user_id): date.fromisoformat(period) for user_id, _, period in targets}
        for owner_id, week_start in weeks.items():
            try:
                with unit_of_work(user_id=owner_id) as session:
                    user = session.get(User, owner_id)
                    if user is not None:
                        build_weekly_summary(session, user=user, week_start=week_start)
            except NoService:
                # Service ended since the tick: no summary is made, and this user's deliveries fail for
                # good when composed (core.jobs.attempts), alone; the batch's other users go on.
                continue
    # The batch's deliveries go ahead of the batches still waiting to be planned: each user's message
    # leaves once their own plan is built, not once everyone's is. Each is put at the front, so the
    # chunks are put there last first, to leave in their order (a user's Slack DM before their email).
    queue = get_queue()
    chunks = [[(channel, user_id, period) for user_id, channel, period in targets[start:start + DELIVERY_CHUNK]]
              for start in range(0, len(targets), DELIVERY_CHUNK)]
    for chunk in reversed(chunks):
        digest = hashlib.sha1(repr((kind, chunk)).encode()).hexdigest()[:16]
        enqueue_once(queue, f"deliver-many-{kind}-{digest}", deliver_many, kind, chunk, timeout=CHUNK_TIMEOUT,
                     at_front=True)


def _due_today(session: Session, targets: list[tuple[str, str, str]], *, at: datetime) -> list[uuid.UUID]:
    """The users of ``targets`` whose morning is today's, the plans :func:`prepare` builds. A morning
    caught up after the user's midnight is an earlier day's: its delivery builds that day's plan, for
    its own date (``plan_view_building_if_missing``), no calendar is read for it, and today's plan is left to
    today's morning."""
    periods = {uuid.UUID(user_id): date.fromisoformat(period) for user_id, _, period in targets}
    users = session.execute(select(User.id, User.timezone).where(User.id.in_(list(periods))))
    return sorted(user_id for user_id, tz in users if periods[user_id] == local_today(tz, at=at))


def deliver(kind: str, channel: str, user_id: str, period: str) -> str:
    """Send one delivery unless it was already sent; returns what happened, for RQ's result."""
    job = get_current_job()
    try:
        (attempt,) = claim_and_compose(DeliveryKind(kind), [(channel, user_id, period)])
        return _given_back_if_off(attempt) or attempt.run(last_try=job is None or not job.retries_left)
    except PermanentDeliveryError:
        if job is not None:
            job.retries_left = 0  # retrying cannot help: go straight to the failed registry
        raise


def deliver_many(kind: str, targets: list[tuple[str, str, str]]) -> str:
    """The first try of each of ``targets`` (channel, user, period), in order (module rules)."""
    queue = get_queue()
    waiting = _jobs_in_flight(queue, [delivery_job_id(kind, *target) for target in targets])
    attempts = {attempt.target: attempt for attempt in claim_and_compose(
        DeliveryKind(kind), [target for target in targets if delivery_job_id(kind, *target) not in waiting])}
    refused: set[str] = set()  # channels that failed temporarily in this chunk
    outcomes: Counter[str] = Counter()
    for channel, user_id, period in targets:
        job_id = delivery_job_id(kind, channel, user_id, period)
        if job_id in waiting:
            outcomes["left to their own job"] += 1
            continue
        attempt = attempts[(channel, user_id, period)]
        if _given_back_if_off(attempt):
            outcomes["not owed (channel turned off)"] += 1
            continue
        if channel in refused:
            attempt.release()
            _retry_later(queue, job_id, (kind, channel, user_id, period), tried=False)
            outcomes["handed to their own job untried"] += 1
            continue
        try:
            result = attempt.run(last_try=False)
        except BaseTimeoutException:
            raise  # the chunk's time is up: it fails, and the next tick's batch enqueues what is still owed
        except PermanentDeliveryError as exc:
            enqueue_once(queue, job_id, failed_for_good, kind, channel, user_id, period, f"{type(exc).__name__}: {exc}")
            outcomes["failed for good"] += 1
        except Exception as exc:  # temporary, or unforeseen: the delivery's own job retries it, as RQ would have
            log.warning("delivery %s failed, its own job will try again: %s", job_id, exc)
            _retry_later(queue, job_id, (kind, channel, user_id, period), tried=True)
            refused.add(channel)
            outcomes["retrying in their own job"] += 1
        else:
            outcomes[result.partition(" (")[0]] += 1  # sent, already sent, being sent by another job
    return ", ".join(f"{count} {what}" for what, count in outcomes.items()) or "nothing to do"


def _given_back_if_off(attempt: Attempt) -> str | None:
    """What became of a delivery whose channel the user turned off since the tick (its sender refused
    with ChannelOff): it is not owed, so its claim is given back untried (no attempt counted, no
    failure, no lease) and nothing else is recorded; the tick asks for it again only if the channel
    is back on while it is still owed. None for any other attempt.

    The job leaves no record of finishing (:func:`_forgotten_when_done`), so that next tick can
    enqueue the same job id at once."""
    refusal = attempt.error.__cause__ if attempt.error is not None else None
    if not isinstance(refusal, ChannelOff):
        return None
    attempt.release()
    _forgotten_when_done()
    return f"not owed: {refusal}"


def _forgotten_when_done() -> None:
    """Have RQ delete the running job as it finishes (a result TTL of 0) instead of keeping it for the
    result's TTL (500 s), during which :func:`enqueue_once` takes its id for work done.

    Called by a job that gave a claim back: its work is not done, and when the user turns the channel
    back on the next tick finds the delivery owed and enqueues it under the same id (the chunk's id
    hashes the same targets, a delivery's own id is fixed), which must not wait for RQ to forget.
    Nothing is sent twice for it: RQ's ids only keep a job from being queued while another with its
    id waits or runs; what is sent is decided by the deliveries ledger's claim, which never claims a
    delivery sent and claims one another job holds only once its lease lapses (core.jobs.attempts).
    Outside a job (a test calling the function), nothing to do."""
    job = get_current_job()
    if job is not None:
        job.result_ttl = 0


def delivery_job_id(kind: str, channel: str, user_id: str, period: str) -> str:
    """The id of one delivery's own job (its retries, its place in the failed registry)."""
    return f"deliver-{kind}-{channel}-{user_id}-{period}"


def failed_for_good(kind: str, channel: str, user_id: str, period: str, reason: str) -> None:
    """The failed-registry entry of a delivery that failed for good in a chunk (the ledger already says so)."""
    raise PermanentDeliveryError(reason)


def _retry_later(queue: Queue, job_id: str, target: tuple[str, str, str, str], *, tried: bool) -> None:
    """The delivery's own job, with the tries left after ``tried``, the next one at its usual interval."""
    intervals = RETRY_INTERVALS[1:] if tried else RETRY_INTERVALS
    enqueue_once(queue, job_id, deliver, *target, retry=Retry(max=len(intervals), interval=intervals) if intervals
                 else None, delay=RETRY_INTERVALS[0], rerun_finished=True)


_IN_FLIGHT = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def _jobs_in_flight(queue: Queue, job_ids: list[str]) -> set[str]:
    """Which of ``job_ids`` are waiting or running (one round trip to Redis for them all)."""
    pipeline = queue.connection.pipeline(transaction=False)
    for job_id in job_ids:
        pipeline.hget(Job.key_for(job_id), "status")
    return {job_id for job_id, status in zip(job_ids, pipeline.execute(), strict=True)
            if status is not None and status.decode() in _IN_FLIGHT}


def housekeeping(at: str) -> str:
    """Daily housekeeping for every user on their own local date (idempotent; run hourly), and this
    hour's searches for calls in calendars (core.jobs.calls)."""
    instant = datetime.fromisoformat(at)
    with unit_of_work(service=True) as session:
        report = run_housekeeping(session, at=instant)
        searching = users_searching(session)
    queue = get_queue(BACKGROUND)  # behind any morning due this hour (core.queue)
    searches = sum(enqueue_once(queue, f"calls-{user_id}-{instant:%Y%m%d%H}", search_calls, str(user_id))
                   for user_id in searching)
    sweep_trials()  # billing: queue the Stripe trials not started yet (core.billing.jobs; nothing when off)
    return f"{report!r}, {searches} call searches"
