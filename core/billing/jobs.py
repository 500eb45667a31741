"""The billing jobs: start a user's trial, and the hourly sweep that catches every trial not started.

The sweep covers a trial whose job could not be queued (Redis down at sign-up) or failed for good
(Stripe down for its last retry), and the users who existed before billing was turned on: each of
them gets a 14-day trial from the sweep that finds them. The hourly housekeeping job calls it; it
does nothing while billing is off.
"""

from __future__ import annotations

import uuid

from sqlalchemy import exists, select

from core.billing.trial import enqueue_trial, start_trial
from core.config import get_settings
from core.db import unit_of_work
from core.models import BillingCustomer, BillingSubscription, User

#: Trials queued by one sweep at most (the next hour takes the rest).
SWEEP_LIMIT = 500


def start_trial_job(user_id: str) -> str:
    """RQ job: start the trial of ``user_id`` (idempotent; Stripe failures raise, and RQ retries)."""
    return "started" if start_trial(uuid.UUID(user_id)) else "already has a subscription"


def users_without_subscription(limit: int = SWEEP_LIMIT) -> list[uuid.UUID]:
    """Users with no subscription recorded, oldest first."""
    has_one = exists().where(BillingCustomer.user_id == User.id,
                             BillingSubscription.billing_customer_id == BillingCustomer.id)
    with unit_of_work(service=True) as session:
        return list(session.scalars(select(User.id).where(~has_one).order_by(User.created_at, User.id).limit(limit)))


def sweep_trials() -> int:
    """Queue the trial job of every user without a subscription; how many were queued."""
    if not get_settings().billing_enabled:
        return 0
    return sum(enqueue_trial(user_id, replace_failed=True) for user_id in users_without_subscription())
