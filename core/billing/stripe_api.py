"""The few Stripe calls NextBestMove makes, behind one small class that speaks plain dicts.

Everything else in ``core.billing`` works on dicts shaped like Stripe's JSON, whether they came in
a webhook event or from the API, so one function mirrors a subscription whichever way it arrived.

* ``STRIPE_API_BASE`` is the API's address (tests run a fake Stripe on 127.0.0.1 there).
* Calls time out after :data:`TIMEOUT` seconds and are retried by stripe-python
  :data:`NETWORK_RETRIES` times (with idempotency keys, so a retried create creates once); tests set 0.
* Creates that must happen once per user carry an idempotency key derived from the user's id, and
  are preceded by a look-up (a customer by email and our id in its metadata, a customer's
  subscriptions), because Stripe forgets idempotency keys after 24 hours.
* A Stripe failure worth retrying later (network, 5xx, 429) is :class:`BillingUnavailable`, whose
  message is fit for a person; the secret key is never in a message or a log.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, cast

import stripe

from core.config import Settings, get_settings
from core.errors import NbmError

log = logging.getLogger(__name__)

TIMEOUT = 10
NETWORK_RETRIES = 2
#: Metadata key, on customers and subscriptions, naming our user.
USER_KEY = "nbm_user_id"

Obj = dict[str, Any]


class BillingUnavailable(NbmError):
    """Stripe could not be reached or failed; trying again later may work."""


class BillingRefused(NbmError):
    """Stripe refused the request itself (a wrong price id, a deleted customer): retrying will not help."""


def _plain(value: Any) -> Obj:
    return cast(Obj, value.to_dict())


class StripeApi:
    """Stripe's API for one deployment (its key, its price, its API address)."""

    def __init__(self, settings: Settings | None = None) -> None:
        settings = settings or get_settings()
        if not settings.billing_enabled:
            raise BillingRefused("billing is off on this server (STRIPE_SECRET_KEY is not set)")
        assert settings.stripe_secret_key is not None and settings.stripe_price_id is not None
        self.price_id = settings.stripe_price_id
        self._client = stripe.StripeClient(
            settings.stripe_secret_key,
            base_addresses={"api": settings.stripe_api_base},
            max_network_retries=NETWORK_RETRIES,
            http_client=stripe.new_default_http_client(timeout=TIMEOUT),
        )

    # Customers ----------------------------------------------------------------------------
    def find_customer(self, *, user_id: uuid.UUID, email: str) -> Obj | None:
        """The customer made for ``user_id`` before (found by email, confirmed by our metadata)."""
        found = self._call(lambda: self._client.v1.customers.list(params={"email": email, "limit": 100}))
        for customer in found.get("data", []):
            if (customer.get("metadata") or {}).get(USER_KEY) == str(user_id) and not customer.get("deleted"):
                return cast(Obj, customer)
        return None

    def create_customer(self, *, user_id: uuid.UUID, email: str, name: str) -> Obj:
        return self._call(lambda: self._client.v1.customers.create(
            params={"email": email, "name": name, "metadata": {USER_KEY: str(user_id)}},
            options={"idempotency_key": f"nbm-customer-{user_id}"}))

    def retrieve_customer(self, customer_id: str) -> Obj | None:
        return self._maybe(lambda: self._client.v1.customers.retrieve(customer_id))

    # Subscriptions ------------------------------------------------------------------------
    def list_subscriptions(self, customer_id: str) -> list[Obj]:
        found = self._call(lambda: self._client.v1.subscriptions.list(
            params={"customer": customer_id, "status": "all", "limit": 100}))
        return list(found.get("data", []))

    def retrieve_subscription(self, subscription_id: str) -> Obj | None:
        """The subscription as Stripe has it now; None when Stripe no longer knows it."""
        return self._maybe(lambda: self._client.v1.subscriptions.retrieve(subscription_id))

    def create_trial(self, *, customer_id: str, user_id: uuid.UUID, days: int) -> Obj:
        """A trial of the price without a payment method, which Stripe cancels at its end unless one is added."""
        return self._call(lambda: self._client.v1.subscriptions.create(
            params={
                "customer": customer_id,
                "items": [{"price": self.price_id}],
                "trial_period_days": days,
                "trial_settings": {"end_behavior": {"missing_payment_method": "cancel"}},
                "payment_settings": {"save_default_payment_method": "on_subscription"},
                "metadata": {USER_KEY: str(user_id)},
            },
            options={"idempotency_key": f"nbm-trial-{user_id}"}))

    def cancel_subscription(self, subscription_id: str) -> Obj:
        return self._call(lambda: self._client.v1.subscriptions.cancel(subscription_id))

    # Sessions -----------------------------------------------------------------------------
    def create_checkout_session(self, params: dict[str, Any]) -> Obj:
        return self._call(lambda: self._client.v1.checkout.sessions.create(params=cast(Any, params)))

    def expire_open_checkouts(self, customer_id: str) -> int:
        """Expire the customer's Checkout sessions still open (a session stays open 24 hours); how many.

        One that was completed meanwhile cannot be expired: Stripe refuses, and so does this
        (:class:`BillingRefused`), rather than let a second subscription be made beside it."""
        found = self._call(lambda: self._client.v1.checkout.sessions.list(
            params={"customer": customer_id, "status": "open", "limit": 100}))
        for session in found.get("data", []):
            self._call(lambda session_id=session["id"]: self._client.v1.checkout.sessions.expire(session_id))
        return len(found.get("data", []))

    def create_portal_session(self, *, customer_id: str, return_url: str) -> Obj:
        return self._call(lambda: self._client.v1.billing_portal.sessions.create(
            params={"customer": customer_id, "return_url": return_url}))

    # ----------------------------------------------------------------------------------------
    def _maybe(self, call: Any) -> Obj | None:
        """``call``'s object, or None when Stripe answers that it does not exist (404)."""
        return self._call(call, missing_ok=True)

    def _call(self, call: Any, *, missing_ok: bool = False) -> Any:
        try:
            return _plain(call())
        except stripe.InvalidRequestError as error:
            if missing_ok and error.http_status == 404:
                return None
            log.warning("Stripe refused a request: %s (%s)", error.user_message or error, error.code)
            raise BillingRefused(f"Stripe refused the request: {error.user_message or error.code or 'invalid'}") \
                from None
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as error:
            log.warning("Stripe is unavailable: %s", type(error).__name__)
            raise BillingUnavailable("Stripe could not be reached just now; try again in a minute") from None
        except stripe.StripeError as error:  # authentication, permission: the configuration is wrong
            log.error("Stripe refused this server's key or request: %s", type(error).__name__)
            raise BillingRefused("billing is misconfigured on this server; the operator has been told") from None
