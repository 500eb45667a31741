"""Telling a user, once, what billing changed for them: a trial about to end, a failed payment,
the end of their service.

Each notice is recorded in the transaction that stores the webhook event which caused it (a column
on the customer or subscription row), and sent after the commit by the channels ``bot/``
registers (a Slack DM with a button, else an email), as calendar-expiry notices are
(core.calendars.notices). So a replayed or concurrent event, or a second subscription announcing the
same trial end, tells no one twice. The price of that is "at most once": a send that fails after
the commit is logged, not retried, and App Home, ``/nbm billing`` and the email footer still say it.

* **Trial ending** (Stripe's ``trial_will_end``, 3 days before): once per customer.
* **Payment failed** (the subscription turns past due): once per past-due spell, with the end of
  the grace period.
* **Service ended** (a subscription cancelled — the trial's end without a payment method included
  — while no other subscription gives service): once per subscription, and only for an end that
  is recent, so a re-read of old history tells no one.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from core.access import PAST_DUE_GRACE, has_service
from core.billing.mirror import LIVE, Mirrored
from core.clock import utcnow, zone
from core.db import after_commit
from core.models import BillingCustomer, BillingSubscription, SubscriptionStatus
from core.text import short_date

log = logging.getLogger(__name__)

#: An end older than this is history, not news.
RECENT_END = timedelta(days=3)


class NoticeKind(enum.StrEnum):
    TRIAL_ENDING = "trial_ending"
    PAYMENT_FAILED = "payment_failed"
    SERVICE_ENDED = "service_ended"


@dataclass(frozen=True)
class BillingNotice:
    """What to tell ``user_id``. ``until``: the trial's end, or the end of the grace period.
    ``has_payment_method``: a trial that will go on by itself (the notice then says so)."""

    kind: NoticeKind
    user_id: uuid.UUID
    until: datetime | None = None
    has_payment_method: bool = False
    was_trial: bool = False


@dataclass(frozen=True)
class NoticeWords:
    """What a notice says, the same in Slack and email: a title, a sentence or two, the button's label."""

    title: str
    message: str
    button: str


def words_for(notice: BillingNotice, *, timezone: str) -> NoticeWords:
    """The notice's words, dates in the user's own timezone."""
    day = short_date(notice.until.astimezone(zone(timezone)).date()) if notice.until else "soon"
    if notice.kind == NoticeKind.TRIAL_ENDING and notice.has_payment_method:
        return NoticeWords(f"Your NextBestMove trial ends on {day}",
                           "Your subscription starts then: there is nothing for you to do. You can change or "
                           "cancel it whenever you like.", "Manage billing")
    if notice.kind == NoticeKind.TRIAL_ENDING:
        return NoticeWords(f"Your NextBestMove trial ends on {day}",
                           "Subscribe to keep getting your morning plan after it. Your leads and history stay "
                           "yours either way.", "Subscribe")
    if notice.kind == NoticeKind.PAYMENT_FAILED and notice.until is not None and notice.until <= utcnow():
        return NoticeWords("Your NextBestMove payment failed",  # told late: the grace period is already over
                           "We could not take your last payment, and your morning plans are paused. Update your "
                           "payment method to get them again.", "Update payment method")
    if notice.kind == NoticeKind.PAYMENT_FAILED:
        return NoticeWords("Your NextBestMove payment failed",
                           f"We could not take your last payment. Your morning plans keep coming until {day}; "
                           "update your payment method to keep them.", "Update payment method")
    ended = "trial" if notice.was_trial else "subscription"
    return NoticeWords(f"Your NextBestMove {ended} has ended",
                       "Your morning plans are paused. Your leads, actions and history are all still here, "
                       "and you can still read and export them. Subscribe to get your plans again.", "Subscribe")


#: ``listener(notice)`` returns True when it reached the user (the next one is then not tried).
Listener = Callable[[BillingNotice], bool]

_LISTENERS: list[Listener] = []


def on_billing_notice(listener: Listener) -> None:
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def after_change(session: Session, *, user_id: uuid.UUID, mirrored: Mirrored, ended_at: datetime | None) -> None:
    """The notices a subscription's new state calls for: payment failed, or service ended."""
    row, now = mirrored.row, utcnow()
    if row.status == SubscriptionStatus.PAST_DUE and row.past_due_notified_at is None:
        row.past_due_notified_at = now
        since = row.past_due_since or now
        _tell_after_commit(session, BillingNotice(NoticeKind.PAYMENT_FAILED, user_id, until=since + PAST_DUE_GRACE))
    elif (row.status == SubscriptionStatus.CANCELED and mirrored.before != SubscriptionStatus.CANCELED
          and row.ended_notified_at is None and (ended_at is None or now - ended_at <= RECENT_END)):
        session.flush()
        if not has_service(session, user_id):
            row.ended_notified_at = now
            was_trial = row.trial_ends_at is not None and row.default_payment_method is None
            _tell_after_commit(session, BillingNotice(NoticeKind.SERVICE_ENDED, user_id, was_trial=was_trial))
    session.flush()


def remind_trial_end(session: Session, *, customer: BillingCustomer, row: BillingSubscription) -> None:
    """Stripe's ``trial_will_end``: one reminder per customer, while the trial is still running.

    The customer row is re-read under a row lock: two subscriptions announcing the same trial end at
    once (a bare trial and the Checkout subscription that replaces it) wait for each other."""
    session.refresh(customer, with_for_update=True)
    now = utcnow()
    if (customer.trial_reminded_at is not None or row.status != SubscriptionStatus.TRIALING
            or row.trial_ends_at is None or row.trial_ends_at <= now):
        return
    customer.trial_reminded_at = now
    paying = bool(customer.default_payment_method) or bool(session.scalar(select(exists().where(
        BillingSubscription.billing_customer_id == customer.id, BillingSubscription.status.in_(LIVE),
        BillingSubscription.default_payment_method.is_not(None)))))
    session.flush()
    _tell_after_commit(session, BillingNotice(NoticeKind.TRIAL_ENDING, customer.user_id, until=row.trial_ends_at,
                                              has_payment_method=paying))


def _tell_after_commit(session: Session, notice: BillingNotice) -> None:
    after_commit(session, partial(_tell, notice))


def _tell(notice: BillingNotice) -> None:
    for listener in list(_LISTENERS):
        try:
            if listener(notice):
                return
        except Exception:
            log.exception("telling user %s about billing (%s) failed", notice.user_id, notice.kind.value)
    log.warning("user %s could not be told about billing (%s): no channel reached them", notice.user_id,
                notice.kind.value)
