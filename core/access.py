"""Who has service (gets plans delivered): the one place that decides it.

With billing off (no Stripe keys configured) everybody has full service. With billing on, a user
has service when one of their subscriptions (Stripe's state, mirrored by ``core.billing.mirror``)
says so:

* **trialing**: until the trial's end, plus :data:`TRIAL_END_SLACK` (a day) for Stripe's webhook
  saying what happened at that end (a subscription that goes on turns ``active``; one without a
  payment method is cancelled by Stripe). A late webhook never costs a paying user a morning.
* **active**: yes (a cancellation at the period's end keeps it active until then).
* **past_due**: for a :data:`PAST_DUE_GRACE` of 7 days from when it was first seen past due (the user
  is told once, with a link to fix the payment); then no.
* **canceled**: no, unless another subscription of theirs gives service.
* **no subscription at all yet**: yes: their 14-day trial (:data:`TRIAL_DAYS`) is about to start,
  and its days are counted from when it does. The Stripe trial is started just after the user is
  created (core.billing.trial), outside the transaction that creates them, and the hourly sweep
  starts it for anyone it missed: a trial job that could not be queued or failed, and everyone who
  joined before billing was turned on. Counting those days from sign-up instead cut the older users
  off, and told them their trial had ended, until the sweep reached them (500 an hour), though the
  trial they are owed had not begun. Once recorded, a trial over without a subscription (Stripe
  cancels it) stops service by the rules above.

Without service, nothing is delivered (the scheduler's query calls :func:`has_service_sql`), Slack
and email offer to subscribe, and the user's data stays readable and exportable (nothing here
touches it). :func:`has_service` asks the same SQL for one user, so the rules exist once.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.config import get_settings

#: Every new user's trial.
TRIAL_DAYS = 14
#: How long a past-due subscription keeps service, from when it was first seen past due.
PAST_DUE_GRACE = timedelta(days=7)
#: How long a trialing subscription whose trial has ended keeps service while Stripe's word on it comes.
TRIAL_END_SLACK = timedelta(days=1)

_SUBSCRIPTIONS = """SELECT 1 FROM billing_customers bc
    JOIN billing_subscriptions bs ON bs.billing_customer_id = bc.id WHERE bc.user_id = {alias}.id"""

_BILLED_SERVICE = f"""(EXISTS ({_SUBSCRIPTIONS} AND (
      bs.status = 'active'
      OR (bs.status = 'trialing'
          AND (bs.trial_ends_at IS NULL OR bs.trial_ends_at > app.now() - interval '{TRIAL_END_SLACK.days} days'))
      OR (bs.status = 'past_due'
          AND coalesce(bs.past_due_since, bs.updated_at) > app.now() - interval '{PAST_DUE_GRACE.days} days')))
  OR NOT EXISTS ({_SUBSCRIPTIONS}))"""


def has_service_sql(alias: str = "u", /) -> str:
    """A SQL condition, true for the users with service, over the ``users`` row aliased ``alias``.

    It reads ``app.now()``, the unit of work's clock, and the billing tables (readable in the
    service context, and by each user for their own rows)."""
    if not alias.isidentifier():
        raise ValueError(f"{alias!r} is not a table alias")
    if not get_settings().billing_enabled:
        return "true"
    return _BILLED_SERVICE.format(alias=alias)


def has_service(session: Session, user_id: uuid.UUID) -> bool:
    """Whether ``user_id`` has service now (the unit of work's clock), by the same rule as the scheduler."""
    if not get_settings().billing_enabled:
        return True
    return bool(session.scalar(text(f"SELECT {has_service_sql('u')} FROM users u WHERE u.id = :user_id"),
                               {"user_id": user_id}))
