"""Billing: what the webhooks and the gate need beyond Stripe's mirror of Schema v1.0.

* ``billing_subscriptions.default_payment_method`` — the subscription's own payment method (Checkout
  sets it): whether it will go on after its trial, and whether Checkout would make a second one.
* ``billing_subscriptions.past_due_since`` — when our mirror first saw the subscription past due;
  the 7-day grace period of ``core.access`` counts from it. Cleared when it is paid.
* ``billing_subscriptions.past_due_notified_at`` / ``ended_notified_at`` — the user was told that a
  payment failed (once per past-due spell) or that their service ended (once per subscription). Set
  in the transaction that stores the webhook event, so a replayed or concurrent event tells no one twice.
* ``billing_customers.trial_reminded_at`` — the one reminder 3 days before the trial ends (one trial
  per customer, whichever of its subscriptions Stripe announces it for).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SUBSCRIPTION_COLUMNS = ("past_due_since", "past_due_notified_at", "ended_notified_at")


def upgrade() -> None:
    op.add_column("billing_subscriptions", sa.Column("default_payment_method", sa.Text(), nullable=True))
    for name in _SUBSCRIPTION_COLUMNS:
        op.add_column("billing_subscriptions", sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    op.add_column("billing_customers", sa.Column("trial_reminded_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("billing_customers", "trial_reminded_at")
    for name in reversed(_SUBSCRIPTION_COLUMNS):
        op.drop_column("billing_subscriptions", name)
    op.drop_column("billing_subscriptions", "default_payment_method")
