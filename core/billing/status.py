"""A user's billing, as every interface shows it: status, trial end, period end, service.

The subscription shown is the one that matters most: one that is paid for or will be (active,
past due, a trial with a payment method), then a bare trial, then the newest ended one. Whether
the user has service is never decided here: it is core.access's answer for them.

:func:`require_service` is the guard every plan and weekly summary made on demand goes through
(core.planner.service.build_plan, core.summaries.service.build_weekly_summary): without service it
raises :class:`NoService`, whose message is :func:`describe`'s sentence, so every channel says the
same thing and offers its way to subscribe.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core.access import PAST_DUE_GRACE, TRIAL_DAYS, has_service
from core.billing.mirror import customer_of_user, subscriptions_of
from core.clock import utcnow, zone
from core.config import get_settings
from core.errors import NbmError
from core.models import BillingSubscription, SubscriptionStatus, User
from core.text import short_date


class Shown(enum.StrEnum):
    """The status shown: Stripe's four, plus ``off`` (billing off) and ``none`` (no subscription yet)."""

    OFF = "off"
    NONE = "none"
    TRIALING = SubscriptionStatus.TRIALING.value
    ACTIVE = SubscriptionStatus.ACTIVE.value
    PAST_DUE = SubscriptionStatus.PAST_DUE.value
    CANCELED = SubscriptionStatus.CANCELED.value


@dataclass(frozen=True)
class BillingStatus:
    status: Shown
    has_service: bool
    trial_ends_at: datetime | None = None
    current_period_end: datetime | None = None
    grace_ends_at: datetime | None = None
    cancel_at_period_end: bool = False
    has_payment_method: bool = False

    @property
    def enabled(self) -> bool:
        return self.status != Shown.OFF

    @property
    def can_subscribe(self) -> bool:
        """Checkout is offered: nothing is paid for yet (a bare trial, nothing, or an ended subscription)."""
        return self.enabled and not self.paying

    @property
    def paying(self) -> bool:
        return self.status in (Shown.ACTIVE, Shown.PAST_DUE) or (
            self.status == Shown.TRIALING and self.has_payment_method)

    def as_json(self) -> dict[str, object]:
        return {"status": self.status.value, "has_service": self.has_service,
                "trial_ends_at": _iso(self.trial_ends_at), "current_period_end": _iso(self.current_period_end),
                "grace_ends_at": _iso(self.grace_ends_at), "cancel_at_period_end": self.cancel_at_period_end,
                "has_payment_method": self.has_payment_method}


def billing_status(session: Session, *, user: User) -> BillingStatus:
    if not get_settings().billing_enabled:
        return BillingStatus(Shown.OFF, has_service=True)
    service = has_service(session, user.id)
    customer = customer_of_user(session, user.id)
    rows = subscriptions_of(session, customer) if customer is not None else []
    if not rows:  # the trial about to start (core.access): it ends 14 days after it does, shown from now
        return BillingStatus(Shown.NONE, service, trial_ends_at=utcnow() + timedelta(days=TRIAL_DAYS))
    row = max(rows, key=_weight)
    paid_by = row.default_payment_method or (customer.default_payment_method if customer else None)
    grace = (row.past_due_since or row.updated_at) + PAST_DUE_GRACE if row.status == SubscriptionStatus.PAST_DUE \
        else None
    return BillingStatus(Shown(row.status.value), service, trial_ends_at=row.trial_ends_at,
                         current_period_end=row.current_period_end, grace_ends_at=grace,
                         cancel_at_period_end=row.cancel_at_period_end, has_payment_method=bool(paid_by))


def _weight(row: BillingSubscription) -> tuple[int, datetime]:
    rank = {SubscriptionStatus.ACTIVE: 4, SubscriptionStatus.PAST_DUE: 3, SubscriptionStatus.TRIALING: 1,
            SubscriptionStatus.CANCELED: 0}[row.status]
    if row.status == SubscriptionStatus.TRIALING and row.default_payment_method:
        rank = 2
    return rank, row.created_at


def describe(status: BillingStatus, *, timezone: str) -> str:
    """One or two sentences for the person: where they stand and what they can do."""
    def day(moment: datetime | None) -> str:
        return short_date(moment.astimezone(zone(timezone)).date()) if moment else "soon"

    if status.status == Shown.OFF:
        return "Billing is not set up on this server: you have full service."
    if status.status in (Shown.TRIALING, Shown.NONE) and status.has_service:
        if status.has_payment_method:
            return f"Your trial runs until {day(status.trial_ends_at)}; your subscription starts then."
        return f"Your free trial runs until {day(status.trial_ends_at)}. Subscribe to keep your morning plan after it."
    if status.status == Shown.ACTIVE:
        if status.cancel_at_period_end:
            return f"You are subscribed until {day(status.current_period_end)}; it will not renew."
        return f"You are subscribed; it renews on {day(status.current_period_end)}."
    if status.status == Shown.PAST_DUE and status.has_service:
        return (f"Your last payment failed. Your plans keep coming until {day(status.grace_ends_at)}: "
                "update your payment method to keep them.")
    if status.status == Shown.PAST_DUE:
        return "Your payment failed and your morning plans are paused: update your payment method to resume them."
    was_trial = status.status in (Shown.NONE, Shown.TRIALING) or (
        status.trial_ends_at is not None and not status.has_payment_method)
    ended = "trial has" if was_trial else "subscription has"
    return (f"Your {ended} ended, so your morning plans are paused. Subscribe to get them again; "
            "your leads and history are all still here.")


class NoService(NbmError):
    """A plan or a weekly summary was asked for (``/nbm today``, App Home, ``nbm plan``, ``/nbm summary``…)
    by a user without service, so none is made. The message is :func:`describe`'s sentence for them;
    ``status`` and ``user_id`` let each channel add its way to subscribe (Slack's button, the billing
    page's link)."""

    def __init__(self, status: BillingStatus, *, user: User) -> None:
        super().__init__(describe(status, timezone=user.timezone))
        self.status = status
        self.user_id = user.id


def require_service(session: Session, *, user: User) -> None:
    """Raise :class:`NoService` unless ``user`` has service now (core.access's rule, the scheduler's).

    The morning and the Monday summary are already gated by the scheduler's query; this gate is for
    plans and summaries made on demand, so a user whose service ended gets neither from any channel."""
    if not has_service(session, user.id):
        raise NoService(billing_status(session, user=user), user=user)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
