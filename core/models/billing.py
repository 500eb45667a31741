"""Stripe customers, subscriptions and the webhook events received."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, created_at, pg_enum, updated_at, uuid_pk
from core.models.enums import SubscriptionStatus


class BillingCustomer(Base):
    """The Stripe customer of a user (one each; the unique user_id serves lookups by user)."""

    __tablename__ = "billing_customers"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    stripe_customer_id: Mapped[str] = mapped_column(Text, unique=True)
    default_payment_method: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(Text, server_default="usd", default="usd")
    #: The one reminder before the trial ends was sent (migration 0011).
    trial_reminded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class BillingSubscription(Base):
    """Mirror of a Stripe subscription, written from Stripe's current state (re-fetched for every
    event, core.billing.mirror). ``last_event_at`` is the ``created`` time of the newest Stripe event
    applied: when Stripe no longer has the object, an event older than that is not applied."""

    __tablename__ = "billing_subscriptions"
    __table_args__ = (
        Index("idx_billing_subscriptions_customer", "billing_customer_id"),
        Index("idx_billing_subscriptions_status", "status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    billing_customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("billing_customers.id", ondelete="CASCADE")
    )
    stripe_subscription_id: Mapped[str] = mapped_column(Text, unique=True)
    stripe_price_id: Mapped[str] = mapped_column(Text)
    status: Mapped[SubscriptionStatus] = mapped_column(
        pg_enum(SubscriptionStatus, "subscription_status"),
        server_default=SubscriptionStatus.TRIALING.value,
        default=SubscriptionStatus.TRIALING,
    )
    current_period_end: Mapped[datetime]
    cancel_at_period_end: Mapped[bool] = mapped_column(server_default=text("false"), default=False)
    trial_ends_at: Mapped[datetime | None]
    latest_invoice_url: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata")
    last_event_at: Mapped[datetime | None]
    # Migration 0011: the subscription's own payment method; when it was first seen past due (the grace
    # period counts from it); and the once-only notices (payment failed per past-due spell, service ended).
    default_payment_method: Mapped[str | None] = mapped_column(Text)
    past_due_since: Mapped[datetime | None]
    past_due_notified_at: Mapped[datetime | None]
    ended_notified_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class BillingEvent(Base):
    """A verified Stripe webhook event, stored once: a replay hits the unique event id."""

    __tablename__ = "billing_events"
    __table_args__ = (
        Index("idx_billing_events_type", "type"),
        Index("idx_billing_events_created_at", text("created_at DESC")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    stripe_event_id: Mapped[str] = mapped_column(Text, unique=True)
    type: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]]
    processed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
