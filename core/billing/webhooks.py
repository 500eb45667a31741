"""Stripe's webhook events: verified, stored once, and applied in the same transaction.

* **Verified** on the raw body with ``STRIPE_WEBHOOK_SECRET`` (stripe-python's
  ``WebhookSignature.verify_header``, which also refuses a timestamp older than :data:`TOLERANCE`
  seconds): a bad or missing signature, an old timestamp, a body that is not JSON or not shaped
  like an event, or one PostgreSQL cannot store (a NUL, half a character, absurdly deep) is
  :class:`WebhookRejected` (400), and nothing is stored.
* **Stored once**: the event id is inserted into ``billing_events`` under its unique constraint in
  the transaction that applies it. A replay (Stripe delivers at least once) finds the id taken and
  changes nothing; two deliveries at once wait on the constraint, and the second finds it taken.
  If applying fails (Stripe unreachable while re-fetching), nothing is stored and Stripe's retry
  finds the event new.
* **Applied** by bringing the subscription it concerns to Stripe's current state
  (core.billing.mirror), so the order of delivery does not matter. Types handled: :data:`HANDLED`;
  any other type is stored and ignored (``processed_at`` stays empty), as are events about
  customers that are not ours (a Stripe account shared with another product).
* After ``checkout.session.completed``, the trial subscription it replaces (no payment method) is
  cancelled at Stripe, after the commit. If that fails, Stripe cancels it at the trial's end anyway.
* ``customer.updated`` (Stripe sends it whenever a customer's properties change, such as the
  ``invoice_settings.default_payment_method`` a card saved in the Billing Portal becomes) brings our
  customer row to the customer as Stripe has it now, re-read like a subscription: a card added
  after sign-up is then seen (the status, the trial reminder). A customer not ours is ignored.
"""

from __future__ import annotations

import enum
import json
import logging
import re
import uuid
from functools import partial
from typing import Any

import stripe
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.billing.mirror import (
    Mirrored,
    at,
    customer_by_stripe_id,
    id_of,
    is_stale,
    lock,
    part,
    record_customer,
    record_subscription,
    subscriptions_of,
    user_named_in,
)
from core.billing.notices import after_change, remind_trial_end
from core.billing.stripe_api import Obj, StripeApi
from core.clock import utcnow
from core.db import after_commit, unit_of_work
from core.errors import NbmError
from core.models import BillingCustomer, BillingEvent, SubscriptionStatus, User

log = logging.getLogger(__name__)

#: Seconds an event's signature stays acceptable (Stripe's own default).
TOLERANCE = 300

CHECKOUT_COMPLETED = "checkout.session.completed"
CUSTOMER_UPDATED = "customer.updated"
TRIAL_WILL_END = "customer.subscription.trial_will_end"
SUBSCRIPTION_EVENTS = frozenset({"customer.subscription.created", "customer.subscription.updated",
                                 "customer.subscription.deleted", TRIAL_WILL_END})
INVOICE_EVENTS = frozenset({"invoice.paid", "invoice.payment_failed"})
HANDLED = frozenset({CHECKOUT_COMPLETED, CUSTOMER_UPDATED, *SUBSCRIPTION_EVENTS, *INVOICE_EVENTS})


class WebhookRejected(NbmError):
    """Not an event Stripe signed for this endpoint; the message says why (never the secret)."""


class Outcome(enum.StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # a replay: nothing changed
    IGNORED = "ignored"  # stored, but of a type we do not handle or about someone not ours


def verify_event(raw_body: bytes, signature: str | None, *, secret: str) -> Obj:
    """The event in ``raw_body``, once its ``Stripe-Signature`` is checked; or :class:`WebhookRejected`.

    The signature is checked over the raw text, then the body is read here, not by stripe-python
    (whose reader trips on JSON that is not an object): an event must be an object with an id, a
    type, a creation time and a data object, fit to be stored (:func:`_storable`)."""
    if not signature:
        raise WebhookRejected("no Stripe-Signature header")
    try:
        text = raw_body.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, signature, secret, tolerance=TOLERANCE)
    except stripe.SignatureVerificationError:
        raise WebhookRejected("the signature does not match, or its timestamp is too old") from None
    except ValueError:  # not UTF-8, so not JSON
        raise WebhookRejected("the body is not JSON") from None
    try:
        event = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise WebhookRejected("the body is not JSON") from None
    data = event.get("data") if isinstance(event, dict) else None
    valid = (isinstance(event, dict) and _is_key(event.get("id")) and _is_key(event.get("type"))
             and isinstance(event.get("created"), int) and not isinstance(event["created"], bool)
             and isinstance(data, dict) and isinstance(data.get("object"), dict))
    if not valid:
        raise WebhookRejected("the body is not a Stripe event")
    if not _storable(event):
        raise WebhookRejected("the event cannot be stored: it holds a NUL or half a character, or is nested too deep")
    return event


#: An event's id and type are short words (``evt_1Nq…``, ``invoice.paid``); both are indexed, and an
#: index entry has a size limit, so a long one is not an event.
MAX_KEY = 255
#: How deep an event may nest: Stripe's nest a handful of levels.
MAX_DEPTH = 32
#: What PostgreSQL cannot store in a JSON value: NUL, and lone surrogates (which are not characters).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _is_key(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_KEY


def _no_constant(name: str) -> Any:
    """JSON has no NaN or Infinity (Python's reader takes them; PostgreSQL does not)."""
    raise ValueError(f"{name} is not JSON")


def _storable(value: Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return _UNSTORABLE.search(value) is None
    if depth >= MAX_DEPTH and isinstance(value, dict | list):
        return False
    if isinstance(value, dict):
        return all(_storable(key) and _storable(item, depth + 1) for key, item in value.items())
    if isinstance(value, list):
        return all(_storable(item, depth + 1) for item in value)
    return True


def receive_event(event: Obj, *, api: StripeApi | None = None) -> Outcome:
    """Store ``event`` once and apply it, in one unit of work; notices go out after the commit."""
    api = api or StripeApi()
    with unit_of_work(service=True) as session:
        stored = session.scalar(
            insert(BillingEvent)
            .values(id=uuid.uuid4(), stripe_event_id=event["id"], type=event["type"], payload=event)
            .on_conflict_do_nothing(index_elements=["stripe_event_id"])
            .returning(BillingEvent.id)
        )
        if stored is None:
            return Outcome.DUPLICATE
        if event["type"] not in HANDLED:
            log.info("Stripe event %s of type %s stored and ignored", event["id"], event["type"])
            return Outcome.IGNORED
        if not _apply(session, event, api):
            return Outcome.IGNORED
        session.execute(update(BillingEvent).where(BillingEvent.id == stored).values(processed_at=utcnow()))
        return Outcome.APPLIED


def _apply(session: Session, event: Obj, api: StripeApi) -> bool:
    kind, obj = event["type"], event["data"]["object"]
    created = at(event["created"]) or utcnow()
    if kind == CHECKOUT_COMPLETED:
        return _checkout_completed(session, obj, api, created)
    if kind == CUSTOMER_UPDATED:
        return _customer_updated(session, obj, api)
    if kind in SUBSCRIPTION_EVENTS:
        subscription_id, snapshot, invoice = id_of(obj.get("id")), obj, None
    else:
        subscription_id, snapshot, invoice = _invoice_subscription(obj), None, obj
    customer = _customer_for(session, api, obj)
    if customer is None or not isinstance(subscription_id, str):
        log.info("Stripe event %s is about no subscription of ours: ignored", event["id"])
        return False
    mirrored = _sync(session, api, customer=customer, subscription_id=subscription_id, snapshot=snapshot,
                     created=created, invoice=invoice)
    if mirrored is None:
        return False
    if kind == TRIAL_WILL_END:
        remind_trial_end(session, customer=customer, row=mirrored.row)
    return True


def _checkout_completed(session: Session, checkout: Obj, api: StripeApi, created: Any) -> bool:
    """Checkout made a subscription for ``client_reference_id`` (our user id, which we set)."""
    subscription_id = id_of(checkout.get("subscription"))
    user_id = _uuid(checkout.get("client_reference_id"))
    if checkout.get("mode") != "subscription" or subscription_id is None or user_id is None \
            or session.get(User, user_id) is None or id_of(checkout.get("customer")) is None:
        log.info("a Checkout session without a subscription for one of our users: ignored")
        return False
    customer = record_customer(session, user_id=user_id, customer=checkout["customer"])
    if customer is None:
        return False
    mirrored = _sync(session, api, customer=customer, subscription_id=subscription_id, snapshot=None,
                     created=created, invoice=None)
    if mirrored is None:
        return False
    for row in subscriptions_of(session, customer):
        if (row.stripe_subscription_id != subscription_id and row.status == SubscriptionStatus.TRIALING
                and row.default_payment_method is None):
            after_commit(session, partial(_cancel_replaced_trial, api, row.stripe_subscription_id))
    return True


def _customer_updated(session: Session, customer: Obj, api: StripeApi) -> bool:
    """One of our customers changed at Stripe: write it as Stripe has it now (its default payment
    method, its currency), whatever order its events came in; one Stripe no longer has is left as is."""
    stripe_id = id_of(customer.get("id"))
    known = customer_by_stripe_id(session, stripe_id) if stripe_id is not None else None
    if known is None:
        return False
    current = api.retrieve_customer(known.stripe_customer_id)
    if current is None or current.get("deleted"):
        return False
    return record_customer(session, user_id=known.user_id, customer=current) is not None


def _sync(
    session: Session, api: StripeApi, *, customer: BillingCustomer, subscription_id: str, snapshot: Obj | None,
    created: Any, invoice: Obj | None,
) -> Mirrored | None:
    """Write the subscription's current state (re-fetched under its lock), then the notices it calls for."""
    lock(session, subscription_id)
    current = api.retrieve_subscription(subscription_id)
    if current is None:  # Stripe no longer has it: the event's snapshot, unless a newer event was applied
        if snapshot is None or is_stale(session, subscription_id=subscription_id, event_created=created):
            return None
        current = snapshot
    if id_of(current.get("customer")) != customer.stripe_customer_id:
        log.warning("subscription %s does not belong to customer %s: ignored", subscription_id,
                    customer.stripe_customer_id)
        return None
    mirrored = record_subscription(session, customer=customer, subscription=current, seen_at=created,
                                   event_created=created)
    if invoice is not None and id_of(current.get("latest_invoice")) == invoice.get("id"):
        url = invoice.get("hosted_invoice_url")
        mirrored.row.latest_invoice_url = url if isinstance(url, str) and url else mirrored.row.latest_invoice_url
    after_change(session, user_id=customer.user_id, mirrored=mirrored, ended_at=at(current.get("ended_at")))
    return mirrored


def _customer_for(session: Session, api: StripeApi, obj: Obj) -> BillingCustomer | None:
    """Our customer row for the object's customer: known already, or named ours by the object's or the
    customer's metadata (an event may come before the row its trial or Checkout writes)."""
    stripe_id = id_of(obj.get("customer"))
    if stripe_id is None:
        return None
    known = customer_by_stripe_id(session, stripe_id)
    if known is not None:
        return known
    user_id, customer = user_named_in(obj), None
    if user_id is None:
        customer = api.retrieve_customer(stripe_id)
        user_id = user_named_in(customer) if customer else None
    if user_id is None or session.get(User, user_id) is None:
        return None
    return record_customer(session, user_id=user_id, customer=customer or stripe_id)


def _invoice_subscription(invoice: Obj) -> str | None:
    """The invoice's subscription: under ``parent`` since API version 2025-03-31, at the top level before."""
    details = part(part(invoice, "parent"), "subscription_details")
    return id_of(details.get("subscription")) or id_of(invoice.get("subscription"))


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _cancel_replaced_trial(api: StripeApi, subscription_id: str) -> None:
    try:
        api.cancel_subscription(subscription_id)
    except NbmError as error:  # harmless: Stripe cancels a trial without a payment method at its end
        log.warning("could not cancel the trial %s replaced by a subscription: %s", subscription_id, error)

