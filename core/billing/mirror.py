"""Our copy of Stripe's customers and subscriptions, written from Stripe's own state.

Stripe is the source of truth; ``billing_customers`` and ``billing_subscriptions`` mirror it so
that the scheduler's one query (core.access) can decide service for everyone at once. Rules:

* **Current state, whatever the order.** A webhook event's snapshot may be older than one already
  applied (events arrive at least once, in any order, and several share one second). So the
  subscription is re-fetched from Stripe for every event and the fetched state is written, under
  a per-subscription lock held to the end of the transaction: two deliveries for one subscription
  are applied one after the other, the later one fetching the later state. Only when Stripe no longer
  has the object is an event's snapshot used, and then only if it is not older than the newest
  event already applied (``last_event_at``).
* **Statuses.** Stripe's statuses map to the schema's four: ``unpaid`` and ``incomplete`` count as
  past due (the grace period runs, then service stops); ``incomplete_expired`` and ``paused`` as
  cancelled. Stripe's own status is kept in ``metadata`` for anyone looking.
* ``past_due_since`` is when the mirror first saw the subscription past due (the event's time), and
  is cleared when it is paid; so is the record of the payment-failed notice, so a later spell is
  told again.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.billing.stripe_api import USER_KEY, Obj
from core.clock import utcnow
from core.db import hold_lock
from core.models import BillingCustomer, BillingSubscription, SubscriptionStatus

log = logging.getLogger(__name__)

STATUSES = {
    "trialing": SubscriptionStatus.TRIALING,
    "active": SubscriptionStatus.ACTIVE,
    "past_due": SubscriptionStatus.PAST_DUE,
    "unpaid": SubscriptionStatus.PAST_DUE,
    "incomplete": SubscriptionStatus.PAST_DUE,
    "canceled": SubscriptionStatus.CANCELED,
    "incomplete_expired": SubscriptionStatus.CANCELED,
    "paused": SubscriptionStatus.CANCELED,
}
LIVE = (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)


@dataclass(frozen=True)
class Mirrored:
    """A subscription row after a write, and its status before (None: first seen)."""

    row: BillingSubscription
    before: SubscriptionStatus | None

    @property
    def status(self) -> SubscriptionStatus:
        return self.row.status


def at(value: Any) -> datetime | None:
    """A Stripe timestamp (Unix seconds) as an aware UTC datetime; None for none, or for a number no
    date has (past the year 9999)."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not value:
        return None
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (OverflowError, OSError, ValueError):
        return None


#: Stripe's ids are short (``sub_1Nq…``); a longer string is no id (the unique indexes on them would
#: refuse it, an index entry having a size limit).
MAX_ID = 255


def id_of(value: Any) -> str | None:
    """An object's id whether Stripe sent the id or the expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and 0 < len(value) <= MAX_ID else None


def part(obj: Any, key: str) -> Obj:
    """The object under ``key`` of ``obj``, or an empty one when either is not an object: an event's
    snapshot is read as it came, and a field of another shape is read as absent."""
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, dict) else {}


def user_named_in(obj: Obj) -> uuid.UUID | None:
    """Our user named in an object's metadata (customers and subscriptions we create carry it)."""
    raw = part(obj, "metadata").get(USER_KEY)
    try:
        return uuid.UUID(str(raw)) if raw else None
    except ValueError:
        return None


def lock(session: Session, key: str) -> None:
    """Serialise writers of one Stripe object until the end of this transaction."""
    hold_lock(session, f"billing:{key}")


def customer_of_user(session: Session, user_id: uuid.UUID) -> BillingCustomer | None:
    return session.scalar(select(BillingCustomer).where(BillingCustomer.user_id == user_id))


def customer_by_stripe_id(session: Session, stripe_customer_id: str) -> BillingCustomer | None:
    return session.scalar(select(BillingCustomer).where(BillingCustomer.stripe_customer_id == stripe_customer_id))


def record_customer(session: Session, *, user_id: uuid.UUID, customer: Obj | str) -> BillingCustomer | None:
    """The user's customer row for Stripe's ``customer``, created if new; None when the user already
    has another Stripe customer (logged: one customer per user, and we always hand Stripe ours)."""
    stripe_id = id_of(customer)
    assert stripe_id is not None
    lock(session, f"user:{user_id}")
    session.execute(insert(BillingCustomer).values(id=uuid.uuid4(), user_id=user_id, stripe_customer_id=stripe_id)
                    .on_conflict_do_nothing())
    row = customer_of_user(session, user_id)
    if row is None or row.stripe_customer_id != stripe_id:
        log.warning("Stripe customer %s names user %s, who has customer %s already: ignored", stripe_id, user_id,
                    row.stripe_customer_id if row else None)
        return None
    if isinstance(customer, dict) and "invoice_settings" in customer:
        row.default_payment_method = id_of(part(customer, "invoice_settings").get("default_payment_method"))
        currency = customer.get("currency")
        row.currency = currency if isinstance(currency, str) and currency else row.currency
    session.flush()
    return row


def record_subscription(
    session: Session, *, customer: BillingCustomer, subscription: Obj, seen_at: datetime,
    event_created: datetime | None = None,
) -> Mirrored:
    """Write Stripe's ``subscription`` into its row (created if new). ``seen_at`` dates a first
    sighting of "past due"; ``event_created`` is the time of the event that brought it, if any.
    The caller holds the subscription's :func:`lock`."""
    stripe_id = subscription["id"]
    row = session.scalar(select(BillingSubscription)
                         .where(BillingSubscription.stripe_subscription_id == stripe_id).with_for_update()
                         .execution_options(populate_existing=True))
    before = row.status if row is not None else None
    if row is None:
        row = BillingSubscription(id=uuid.uuid4(), billing_customer_id=customer.id, stripe_subscription_id=stripe_id)
        session.add(row)
    status = STATUSES.get(str(subscription.get("status")), SubscriptionStatus.CANCELED)
    row.status = status
    row.stripe_price_id = _price_id(subscription) or row.stripe_price_id or ""
    row.current_period_end = _period_end(subscription)
    row.cancel_at_period_end = bool(subscription.get("cancel_at_period_end"))
    row.trial_ends_at = at(subscription.get("trial_end"))
    row.default_payment_method = id_of(subscription.get("default_payment_method"))
    row.metadata_ = {"stripe_status": subscription.get("status"), **part(subscription, "metadata")}
    if status == SubscriptionStatus.PAST_DUE:
        if before != SubscriptionStatus.PAST_DUE or row.past_due_since is None:
            row.past_due_since = seen_at
    else:
        row.past_due_since = row.past_due_notified_at = None
    if event_created is not None and (row.last_event_at is None or event_created > row.last_event_at):
        row.last_event_at = event_created
    session.flush()
    return Mirrored(row, before)


def is_stale(session: Session, *, subscription_id: str, event_created: datetime) -> bool:
    """Whether an event is older than the newest one applied to its subscription (used only when
    Stripe no longer has the subscription and the event's snapshot is all there is)."""
    newest = session.scalar(select(BillingSubscription.last_event_at)
                            .where(BillingSubscription.stripe_subscription_id == subscription_id))
    return newest is not None and event_created < newest


def subscriptions_of(session: Session, customer: BillingCustomer) -> list[BillingSubscription]:
    return list(session.scalars(select(BillingSubscription)
                                .where(BillingSubscription.billing_customer_id == customer.id)
                                .order_by(BillingSubscription.created_at, BillingSubscription.id)))


def _items(subscription: Obj) -> list[Obj]:
    data = part(subscription, "items").get("data")
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _price_id(subscription: Obj) -> str | None:
    items = _items(subscription)
    return id_of(items[0].get("price")) if items else None


def _period_end(subscription: Obj) -> datetime:
    """Since API version 2025-03-31 the period lives on the items; older versions had it on the subscription."""
    items = _items(subscription)
    for candidate in (*(item.get("current_period_end") for item in items), subscription.get("current_period_end"),
                      subscription.get("trial_end"), subscription.get("created")):
        moment = at(candidate)
        if moment is not None:
            return moment
    return utcnow()  # pragma: no cover - Stripe always sends one of the above
