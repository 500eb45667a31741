"""The RQ jobs. Each takes ids and strings (RQ pickles arguments), and is safe to run twice.

* :func:`prepare` builds a batch's plans (the planner's batch entry point: a fixed number of
  queries per batch) or weekly summaries, then enqueues one :func:`deliver` per user and channel.
* :func:`deliver` sends one delivery. Its row in ``deliveries`` is written *before* sending
  (pending, attempts + 1) and *after* (sent, with the external id), so a retry after a crash sends
  what is missing and a finished delivery is never sent again. Channels fail independently: each
  has its own job, its own retries with back-off, and ends in RQ's failed registry with the reason
  after the last try (the row says ``failed``, so the scheduler stops asking for it).
* :func:`housekeeping` runs the daily housekeeping for everyone.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from redis.exceptions import LockError
from rq import Queue, Retry, get_current_job
from rq.exceptions import DuplicateJobError, InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.billing.jobs import sweep_trials
from core.calendars.service import free_minutes_for_users
from core.clock import local_today, utcnow
from core.db import unit_of_work
from core.housekeeping import run_housekeeping, unsnooze_due
from core.jobs.calls import search_calls, users_searching
from core.jobs.channels import PermanentDeliveryError, sender_for
from core.jobs.schedule import Due
from core.models import Channel, Delivery, DeliveryKind, DeliveryStatus, User
from core.planner.batch import plan_users
from core.queue import get_queue
from core.summaries.service import build_weekly_summary

log = logging.getLogger(__name__)

#: Seconds between tries of a delivery (3 retries after the first try). Tests set zeros.
RETRY_INTERVALS = [60, 300, 1800]
BATCH_SIZE = 200
#: Within a batch, the Slack DM (instant, in the app) is queued before the email.
CHANNEL_ORDER = {Channel.SLACK: 0, Channel.EMAIL: 1, Channel.CLI: 2, Channel.SYSTEM: 3}

_REPLACEABLE = {JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}
#: How long one enqueuer may hold a job id while it replaces that job (a clock that dies holding it
#: delays the replacement by this much, no more).
_REPLACE_LOCK_SECONDS = 30


def enqueue_once(
    queue: Queue, job_id: str, func: Callable[..., Any], *args: object, retry: Retry | None = None,
    rerun_finished: bool = False,
) -> bool:
    """Enqueue under a deterministic id unless that job is already waiting, running or done; True if enqueued.

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
        try:
            queue.enqueue(func, *args, job_id=job_id, unique=True, retry=retry, failure_ttl=7 * 86400)
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
    for item in sorted(due, key=lambda d: (d.kind, d.user_id, CHANNEL_ORDER[d.channel])):
        by_kind[item.kind].append(item)
    enqueued = 0
    for kind, items in by_kind.items():
        for start in range(0, len(items), BATCH_SIZE):
            batch = [(str(d.user_id), d.channel.value, d.period.isoformat()) for d in items[start:start + BATCH_SIZE]]
            digest = hashlib.sha1(repr(batch).encode()).hexdigest()[:16]
            enqueued += enqueue_once(queue, f"prepare-{kind.value}-{digest}", prepare, kind.value, at.isoformat(),
                                     batch, rerun_finished=True)
    return enqueued


def prepare(kind: str, at: str, targets: list[tuple[str, str, str]]) -> None:
    """Build the plans (or summaries) of a batch, then enqueue one delivery per user and channel."""
    delivery_kind = DeliveryKind(kind)
    if delivery_kind == DeliveryKind.PLAN:
        instant = datetime.fromisoformat(at)
        with unit_of_work(service=True) as session:
            user_ids = _due_today(session, targets, at=instant)
        # Calendars first, each in its own unit of work and within the budget: a slow provider means
        # default capacity for its user, never a late morning (core.calendars.service).
        free = free_minutes_for_users(user_ids, at=instant)
        with unit_of_work(service=True) as session:
            unsnooze_due(session, at=instant)  # what wakes today is planned today
            plan_users(session, user_ids=user_ids, at=instant, free_minutes=free)
    else:
        weeks = {uuid.UUID(user_id): date.fromisoformat(period) for user_id, _, period in targets}
        for owner_id, week_start in weeks.items():
            with unit_of_work(user_id=owner_id) as session:
                user = session.get(User, owner_id)
                if user is not None:
                    build_weekly_summary(session, user=user, week_start=week_start)
    queue = get_queue()
    for user_id, channel, period in targets:
        enqueue_once(queue, f"deliver-{kind}-{channel}-{user_id}-{period}", deliver, kind, channel, user_id, period,
                     retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS))


def _due_today(session: Session, targets: list[tuple[str, str, str]], *, at: datetime) -> list[uuid.UUID]:
    """The users of ``targets`` whose morning is today's, the plans :func:`prepare` builds. A morning
    caught up after the user's midnight is an earlier day's: its delivery builds that day's plan, for
    its own date (``build_plan_view``), no calendar is read for it, and today's plan is left to
    today's morning."""
    periods = {uuid.UUID(user_id): date.fromisoformat(period) for user_id, _, period in targets}
    users = session.execute(select(User.id, User.timezone).where(User.id.in_(list(periods))))
    return sorted(user_id for user_id, tz in users if periods[user_id] == local_today(tz, at=at))


def deliver(kind: str, channel: str, user_id: str, period: str) -> str:
    """Send one delivery unless it was already sent; returns what happened, for RQ's result."""
    key = (DeliveryKind(kind), Channel(channel), uuid.UUID(user_id), date.fromisoformat(period))
    with unit_of_work(service=True) as session:
        delivery = _claim(session, *key)
        if delivery.status == DeliveryStatus.SENT:
            return f"already sent ({delivery.external_id})"
        delivery_id = delivery.id
    try:
        external_id = sender_for(key[0], key[1])(user_id=key[2], period=key[3], delivery_id=delivery_id)
    except Exception as exc:
        permanent = isinstance(exc, PermanentDeliveryError)
        job = get_current_job()
        if permanent and job is not None:
            job.retries_left = 0  # retrying cannot help: go straight to the failed registry
        last_try = permanent or job is None or not job.retries_left
        _record_failure(delivery_id, f"{type(exc).__name__}: {exc}", final=last_try)
        raise
    _record_sent(delivery_id, external_id)
    return f"sent ({external_id})"


def _record_sent(delivery_id: uuid.UUID, external_id: str) -> None:
    with unit_of_work(service=True) as session:
        delivery = session.get(Delivery, delivery_id, with_for_update=True)
        assert delivery is not None
        delivery.status, delivery.external_id, delivery.sent_at = DeliveryStatus.SENT, external_id, utcnow()
        delivery.last_error = None


def _claim(session: Session, kind: DeliveryKind, channel: Channel, user_id: uuid.UUID, period: date) -> Delivery:
    """The delivery's row, created pending if new, with this attempt counted (before sending)."""
    session.execute(
        insert(Delivery)
        .values(id=uuid.uuid4(), user_id=user_id, kind=kind, channel=channel, period=period)
        .on_conflict_do_nothing(index_elements=["user_id", "kind", "channel", "period"])
    )
    delivery = session.scalars(
        select(Delivery).where(Delivery.user_id == user_id, Delivery.kind == kind, Delivery.channel == channel,
                               Delivery.period == period).with_for_update()
    ).one()
    if delivery.status != DeliveryStatus.SENT:
        delivery.attempts += 1
        delivery.status = DeliveryStatus.PENDING
    return delivery


def _record_failure(delivery_id: uuid.UUID, reason: str, *, final: bool) -> None:
    with unit_of_work(service=True) as session:
        delivery = session.get(Delivery, delivery_id, with_for_update=True)
        if delivery is not None and delivery.status != DeliveryStatus.SENT:
            delivery.last_error = reason[:2000]
            if final:
                delivery.status = DeliveryStatus.FAILED
    log.warning("delivery %s failed%s: %s", delivery_id, " for good" if final else ", will retry", reason)


def housekeeping(at: str) -> str:
    """Daily housekeeping for every user on their own local date (idempotent; run hourly), and this
    hour's searches for calls in calendars (core.jobs.calls)."""
    instant = datetime.fromisoformat(at)
    with unit_of_work(service=True) as session:
        report = run_housekeeping(session, at=instant)
        searching = users_searching(session)
    queue = get_queue()
    searches = sum(enqueue_once(queue, f"calls-{user_id}-{instant:%Y%m%d%H}", search_calls, str(user_id))
                   for user_id in searching)
    sweep_trials()  # billing: queue the Stripe trials not started yet (core.billing.jobs; nothing when off)
    return f"{report!r}, {searches} call searches"
