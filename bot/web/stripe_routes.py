"""``POST /stripe/webhook``: Stripe's events, verified on the raw body, stored once and applied.

The body is read raw, before anything parses it (the signature covers its exact bytes). Answers:
400 for anything not signed by Stripe for this endpoint within five minutes, not JSON, or not an
event (nothing stored, nothing logged of the body); 200 for an event stored and applied, ignored
(a type we do not handle), or already received (a replay changes nothing); 503 when Stripe could
not be reached to re-read the subscription, so that Stripe delivers the event again later. With
billing off the endpoint does not exist (404).
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, jsonify, request
from flask.typing import ResponseReturnValue

from core.billing.stripe_api import BillingRefused, BillingUnavailable
from core.billing.webhooks import WebhookRejected, receive_event, verify_event
from core.config import get_settings

log = logging.getLogger(__name__)

bp = Blueprint("stripe_webhook", __name__)


@bp.post("/stripe/webhook")
def webhook() -> ResponseReturnValue:
    settings = get_settings()
    if not settings.billing_enabled or settings.stripe_webhook_secret is None:
        abort(404)
    raw = request.get_data(cache=False)
    try:
        event = verify_event(raw, request.headers.get("Stripe-Signature"), secret=settings.stripe_webhook_secret)
    except WebhookRejected as rejected:
        log.warning("Stripe webhook refused: %s", rejected)
        return jsonify(error=str(rejected)), 400
    try:
        outcome = receive_event(event)
    except (BillingUnavailable, BillingRefused):
        log.warning("Stripe event %s (%s) not applied: Stripe could not be read; it will be delivered again",
                    event["id"], event["type"])
        return jsonify(error="temporarily unavailable"), 503
    log.info("Stripe event %s (%s): %s", event["id"], event["type"], outcome.value)
    return jsonify(received=True, outcome=outcome.value), 200
