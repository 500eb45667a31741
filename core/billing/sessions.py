"""Stripe Checkout (to subscribe) and the Billing Portal (to manage), for one user.

Rules chosen:

* **Checkout** is in subscription mode for ``STRIPE_PRICE_ID``, for the user's own Stripe customer
  (made first if the trial job has not run yet), with ``client_reference_id`` = our user id and the
  id in the subscription's metadata, so the webhook knows whose it is.
* **The trial is honoured**: subscribing during the trial starts billing when the trial ends, by
  giving the new subscription the trial's end. Stripe requires that end to be at least 48 hours
  away (:data:`MIN_TRIAL_LEFT`); with less left, billing starts at once. The bare trial it replaces
  is cancelled when Checkout completes (core.billing.webhooks).
* **One subscription**: someone who pays already (active, past due, or a trial with a payment
  method) is sent to the Portal instead of a second subscription (a ValidationError saying so).
* Both sessions return to ``BASE_URL/billing/return``, a page that says what happened; what
  changed arrives by webhook. Session addresses are made when asked for, never stored or logged:
  a Checkout session lasts 24 hours, a Portal session minutes.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from core.billing.status import billing_status
from core.billing.stripe_api import USER_KEY, StripeApi
from core.billing.trial import ensure_customer
from core.clock import utcnow
from core.config import get_settings
from core.db import unit_of_work
from core.errors import ValidationError
from core.users import get_user

#: Stripe refuses a Checkout trial that ends sooner than this.
MIN_TRIAL_LEFT = timedelta(hours=48)


def return_url(outcome: str) -> str:
    return f"{get_settings().base_url}/billing/return?outcome={outcome}"


def checkout_url(user_id: uuid.UUID, *, api: StripeApi | None = None) -> str:
    """The address of a new Checkout session for ``user_id``.

    The customer's Checkout sessions still open are expired first: a session stays payable for 24
    hours, and one left open in a tab (Subscribe pressed in the email, then again in Slack), paid
    after another, would start a second subscription billed beside the first. Only the newest
    address works."""
    with unit_of_work(user_id=user_id) as session:
        status = billing_status(session, user=get_user(session, user_id))
    if not status.enabled:
        raise ValidationError("billing is not set up on this server: everyone has full service")
    if not status.can_subscribe:
        raise ValidationError("you already have a subscription; manage it (payment method, invoices, "
                              "cancelling) in the billing portal")
    api = api or StripeApi()
    customer_id = ensure_customer(user_id, api=api)
    api.expire_open_checkouts(customer_id)
    subscription: dict[str, object] = {"metadata": {USER_KEY: str(user_id)}}
    trial_end = status.trial_ends_at if status.has_service else None
    if trial_end is not None and trial_end - utcnow() >= MIN_TRIAL_LEFT:
        subscription["trial_end"] = _unix(trial_end)
    checkout = api.create_checkout_session({
        "mode": "subscription",
        "customer": customer_id,
        "client_reference_id": str(user_id),
        "line_items": [{"price": api.price_id, "quantity": 1}],
        "subscription_data": subscription,
        "success_url": return_url("subscribed"),
        "cancel_url": return_url("cancelled"),
    })
    return str(checkout["url"])


def portal_url(user_id: uuid.UUID, *, api: StripeApi | None = None) -> str:
    """The address of a new Billing Portal session for ``user_id`` (payment method, invoices, cancel)."""
    if not get_settings().billing_enabled:
        raise ValidationError("billing is not set up on this server: everyone has full service")
    api = api or StripeApi()
    customer_id = ensure_customer(user_id, api=api)
    return str(api.create_portal_session(customer_id=customer_id, return_url=return_url("managed"))["url"])


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())
