"""Every new user's 14-day trial, kept in Stripe: a customer and a trialing subscription of the
price without a payment method, which Stripe cancels at the trial's end unless one was added.

Why in Stripe rather than a date in our database: Stripe stays the one source of truth for every
billing fact (the trial's end, its reminder 3 days before, what happens at its end, and a
subscription that simply goes on when the user adds a card in the Billing Portal), the webhooks
keep a single path into our tables, and nothing of ours has to expire a trial on a timer.

Creating a user must not call Stripe inside the transaction that creates them (a rollback could
not take a Stripe customer back). So :func:`on_user_created` only asks for the trial once that
transaction has committed, as an RQ job with a deterministic id (``core.billing.jobs``); the job is
idempotent: it looks for the customer and subscriptions it may have made before (by email and our
id in the metadata, and by the customer's subscriptions), creates what is missing with idempotency
keys derived from the user's id, and records the result. If the job cannot be queued or keeps
failing, the hourly sweep queues it again for every user without a subscription. Meanwhile the user
has service (core.access): the 14 days are counted from when the trial starts.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from functools import partial

from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from rq.job import Job, JobStatus
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access import TRIAL_DAYS
from core.billing.mirror import customer_of_user, lock, record_customer, record_subscription, subscriptions_of
from core.billing.stripe_api import Obj, StripeApi
from core.clock import utcnow
from core.config import get_settings
from core.db import after_commit, unit_of_work
from core.errors import NotFound
from core.models import BillingSubscription, User
from core.queue import get_queue

log = logging.getLogger(__name__)

#: The job, by dotted name: core.users (which calls :func:`on_user_created`) is imported by the jobs.
TRIAL_JOB = "core.billing.jobs.start_trial_job"
TRIAL_RETRIES = [60, 300, 1800]
_REPLACEABLE = {JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}


def trial_job_id(user_id: uuid.UUID) -> str:
    return f"billing-trial-{user_id}"


def on_user_created(session: Session, *, user_id: uuid.UUID) -> None:
    """With billing on, start the new user's trial once ``session``'s unit of work has committed."""
    if get_settings().billing_enabled:
        after_commit(session, partial(_queue_after_sign_up, user_id))


def _queue_after_sign_up(user_id: uuid.UUID) -> None:
    enqueue_trial(user_id)


def enqueue_trial(user_id: uuid.UUID, *, replace_failed: bool = False) -> bool:
    """Queue the trial job (True if queued). A job already waiting, running or done is left alone; a
    failed one is replaced when ``replace_failed`` (the sweep). Redis unreachable is logged and left
    to the hourly sweep: the user was created all the same."""
    try:
        queue = get_queue()
        try:
            _enqueue(queue, user_id)
            return True
        except DuplicateJobError:
            existing = Job.fetch(trial_job_id(user_id), connection=queue.connection)
            if not replace_failed or existing.get_status(refresh=True) not in _REPLACEABLE:
                return False
            existing.delete()
            _enqueue(queue, user_id)
            return True
    except Exception:
        log.exception("could not queue the trial of user %s; the hourly sweep will", user_id)
        return False


def _enqueue(queue: Queue, user_id: uuid.UUID) -> None:
    queue.enqueue(TRIAL_JOB, str(user_id), job_id=trial_job_id(user_id), unique=True,
                  retry=Retry(max=len(TRIAL_RETRIES), interval=TRIAL_RETRIES), failure_ttl=7 * 86400)


@dataclass(frozen=True)
class Account:
    """What Stripe needs to know of a user, read in one short unit of work."""

    user_id: uuid.UUID
    email: str
    name: str
    stripe_customer_id: str | None
    has_subscription: bool


def read_account(user_id: uuid.UUID) -> Account:
    with unit_of_work(service=True) as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("that user does not exist")
        customer = customer_of_user(session, user_id)
        return Account(user_id, user.email, user.name, customer.stripe_customer_id if customer else None,
                       customer is not None and bool(subscriptions_of(session, customer)))


def stripe_customer(api: StripeApi, account: Account) -> Obj:
    """The user's Stripe customer: the one recorded, else the one made before, else a new one."""
    if account.stripe_customer_id is not None:
        return {"id": account.stripe_customer_id}
    return (api.find_customer(user_id=account.user_id, email=account.email)
            or api.create_customer(user_id=account.user_id, email=account.email, name=account.name))


def ensure_customer(user_id: uuid.UUID, *, api: StripeApi | None = None) -> str:
    """The user's Stripe customer id, made and recorded if they have none yet (Checkout and the Portal
    need one, even before the trial job has run)."""
    account = read_account(user_id)
    if account.stripe_customer_id is not None:
        return account.stripe_customer_id
    customer = stripe_customer(api or StripeApi(), account)
    with unit_of_work(service=True) as session:
        row = record_customer(session, user_id=user_id, customer=customer)
        return row.stripe_customer_id if row is not None else str(customer["id"])


def start_trial(user_id: uuid.UUID, *, api: StripeApi | None = None) -> bool:
    """Start ``user_id``'s trial in Stripe and record it; True if a trial was created now, False when
    the user already had a subscription (recorded, or found at Stripe and recorded now)."""
    try:
        account = read_account(user_id)
    except NotFound:
        return False  # deleted since: nothing to bill
    if account.has_subscription:
        return False
    api = api or StripeApi()
    customer = stripe_customer(api, account)
    subscriptions = api.list_subscriptions(customer["id"])
    created = not subscriptions
    if created:
        subscriptions = [api.create_trial(customer_id=customer["id"], user_id=user_id, days=TRIAL_DAYS)]
    with unit_of_work(service=True) as session:
        row = record_customer(session, user_id=user_id, customer=customer)
        if row is None:
            return False
        for subscription in subscriptions:
            lock(session, subscription["id"])
            # A row already there was written by a webhook, from a fresher read than ours: keep it.
            if session.scalar(select(BillingSubscription.id).where(
                    BillingSubscription.stripe_subscription_id == subscription["id"])) is None:
                record_subscription(session, customer=row, subscription=subscription, seen_at=utcnow())
    if created:
        log.info("started the %d-day trial of user %s", TRIAL_DAYS, user_id)
    return created
