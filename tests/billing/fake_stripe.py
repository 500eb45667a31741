"""A fake Stripe API on 127.0.0.1: a real HTTP server in a thread, stateful, answering the calls
NextBestMove makes as Stripe does (form-encoded requests, JSON objects, 404 ``resource_missing``,
idempotency keys honoured), at the address ``STRIPE_API_BASE`` points to.

Tests drive Stripe's side through it: complete a Checkout session, fail or pay an invoice, end a
trial; and build webhook events from its objects as Stripe snapshots them (``event``). Every request
is kept in ``requests``; ``fail_next`` answers the next matching request with a 500.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SECRET_KEY = "sk_test_fake_secret_key"
PRICE = "price_monthly"
DAY = 86400

Obj = dict[str, Any]


@dataclass
class Request:
    method: str
    path: str
    params: Obj
    idempotency_key: str | None


@dataclass
class Reply:
    status: int
    body: Obj
    headers: dict[str, str] = field(default_factory=dict)


def _nest(pairs: list[tuple[str, str]]) -> Obj:
    """``items[0][price]=p`` → ``{"items": [{"price": "p"}]}``, as Stripe reads form bodies."""
    root: Obj = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        if node and all(key.isdigit() for key in node):
            return [_lists(node[key]) for key in sorted(node, key=int)]
        return {key: _lists(value) for key, value in node.items()}
    return node


def _missing(kind: str, object_id: str) -> Reply:
    return Reply(404, {"error": {"type": "invalid_request_error", "code": "resource_missing", "param": "id",
                                 "message": f"No such {kind}: '{object_id}'"}})


class FakeStripe:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.reset()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def reset(self) -> None:
        with self._lock:
            self.customers: dict[str, Obj] = {}
            self.subscriptions: dict[str, Obj] = {}
            self.checkouts: dict[str, Obj] = {}
            self.portals: dict[str, Obj] = {}
            self.invoices: dict[str, Obj] = {}
            self.requests: list[Request] = []
            self.failures: list[tuple[str, str]] = []
            self._idempotent: dict[str, Reply] = {}
            self._ids = itertools.count(1)
            self._events = itertools.count(1)

    # -- what tests look at and do on Stripe's side ----------------------------------------------

    def calls(self, method: str, prefix: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    def fail_next(self, method: str, prefix: str) -> None:
        """The next ``method`` request under ``prefix`` gets a 500 (stripe-python: APIError)."""
        self.failures.append((method, prefix))

    def complete_checkout(self, checkout_id: str, *, payment_method: str = "pm_card_visa") -> tuple[Obj, Obj]:
        """The customer pays (or starts the honoured trial) in Checkout: (session, subscription)."""
        with self._lock:
            session = self.checkouts[checkout_id]
            if session["status"] != "open":  # Stripe's page of an expired session takes no payment
                raise ValueError(f"checkout session {checkout_id} is {session['status']}: it cannot be paid")
            params = session["_params"]
            data = params.get("subscription_data") or {}
            trial_end = int(data["trial_end"]) if data.get("trial_end") else None
            subscription = self._new_subscription(
                customer=session["customer"], price=params["line_items"][0]["price"], metadata=data.get("metadata"),
                trial_end=trial_end, payment_method=payment_method)
            session.update(status="complete", subscription=subscription["id"],
                           payment_status="no_payment_required" if trial_end else "paid")
            return self.public(session), copy.deepcopy(subscription)

    def update(self, subscription_id: str, **changes: Any) -> Obj:
        with self._lock:
            self.subscriptions[subscription_id].update(changes)
            return copy.deepcopy(self.subscriptions[subscription_id])

    def save_card(self, customer_id: str, *, payment_method: str = "pm_card_visa") -> Obj:
        """The customer saves a card in the Billing Portal: it becomes their default payment method
        (``invoice_settings.default_payment_method``); the customer as it is now, for its
        ``customer.updated`` event."""
        with self._lock:
            self.customers[customer_id]["invoice_settings"]["default_payment_method"] = payment_method
            return copy.deepcopy(self.customers[customer_id])

    def end_trial_without_payment_method(self, subscription_id: str) -> Obj:
        """What Stripe does at the end of a trial whose subscription has no payment method: cancel it."""
        now = int(time.time())
        return self.update(subscription_id, status="canceled", canceled_at=now, ended_at=now)

    def invoice(self, subscription_id: str, *, paid: bool) -> Obj:
        """An invoice of the subscription's price, paid or failed; the subscription follows it."""
        with self._lock:
            subscription = self.subscriptions[subscription_id]
            invoice_id = f"in_{next(self._ids)}"
            invoice = {"id": invoice_id, "object": "invoice", "customer": subscription["customer"],
                       "status": "paid" if paid else "open", "amount_due": 1500, "created": int(time.time()),
                       "hosted_invoice_url": f"https://invoice.stripe.test/i/{invoice_id}",
                       "parent": {"type": "subscription_details",
                                  "subscription_details": {"subscription": subscription_id}}}
            self.invoices[invoice_id] = invoice
            subscription["latest_invoice"] = invoice_id
            subscription["status"] = "active" if paid else "past_due"
            return copy.deepcopy(invoice)

    def event(self, kind: str, obj: Obj, *, created: int | None = None) -> Obj:
        """A webhook event carrying a snapshot of ``obj`` as it is now."""
        return {"id": f"evt_{next(self._events):04d}", "object": "event", "api_version": "2026-10-28.endive",
                "type": kind, "created": created if created is not None else int(time.time()), "livemode": False,
                "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
                "data": {"object": self.public(obj)}}

    @staticmethod
    def public(obj: Obj) -> Obj:
        return {key: copy.deepcopy(value) for key, value in obj.items() if not key.startswith("_")}

    # -- Stripe's objects ---------------------------------------------------------------------

    def _new_subscription(self, *, customer: str, price: str, metadata: Obj | None, trial_end: int | None,
                          payment_method: str | None) -> Obj:
        now = int(time.time())
        period_end = trial_end or now + 30 * DAY
        subscription_id = f"sub_{next(self._ids)}"
        subscription = {
            "id": subscription_id, "object": "subscription", "customer": customer, "created": now,
            "status": "trialing" if trial_end else "active", "trial_start": now if trial_end else None,
            "trial_end": trial_end, "cancel_at_period_end": False, "canceled_at": None, "ended_at": None,
            "default_payment_method": payment_method, "latest_invoice": None, "metadata": dict(metadata or {}),
            "items": {"object": "list", "data": [{
                "id": f"si_{next(self._ids)}", "object": "subscription_item", "quantity": 1,
                "price": {"id": price, "object": "price", "recurring": {"interval": "month"}},
                "current_period_start": now, "current_period_end": period_end}]},
        }
        self.subscriptions[subscription_id] = subscription
        return subscription

    # -- the API ----------------------------------------------------------------------------

    def answer(self, method: str, path: str, params: Obj, idempotency_key: str | None) -> Reply:
        with self._lock:
            self.requests.append(Request(method, path, params, idempotency_key))
            for failure in list(self.failures):
                if failure[0] == method and path.startswith(failure[1]):
                    self.failures.remove(failure)
                    return Reply(500, {"error": {"type": "api_error", "message": "An unknown error occurred"}})
            key = f"{method} {path} {idempotency_key}"
            if idempotency_key and key in self._idempotent:
                return self._idempotent[key]
            reply = self._route(method, path, params)
            if idempotency_key and reply.status < 500:
                self._idempotent[key] = reply
            return reply

    def _route(self, method: str, path: str, params: Obj) -> Reply:
        parts = path.strip("/").split("/")[1:]  # drop "v1"
        if parts == ["customers"]:
            return self._list_customers(params) if method == "GET" else self._create_customer(params)
        if len(parts) == 2 and parts[0] == "customers" and method == "GET":
            found = self.customers.get(parts[1])
            return Reply(200, copy.deepcopy(found)) if found else _missing("customer", parts[1])
        if parts == ["subscriptions"]:
            return self._list_subscriptions(params) if method == "GET" else self._create_subscription(params)
        if len(parts) == 2 and parts[0] == "subscriptions":
            found = self.subscriptions.get(parts[1])
            if found is None:
                return _missing("subscription", parts[1])
            if method == "DELETE":
                now = int(time.time())
                found.update(status="canceled", canceled_at=now, ended_at=now)
            return Reply(200, copy.deepcopy(found))
        if parts == ["checkout", "sessions"]:
            return self._create_checkout(params) if method == "POST" else self._list_checkouts(params)
        if len(parts) == 4 and parts[:2] == ["checkout", "sessions"] and parts[3] == "expire" and method == "POST":
            return self._expire_checkout(parts[2])
        if parts == ["billing_portal", "sessions"] and method == "POST":
            return self._create_portal(params)
        return Reply(404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL {path}"}})

    def _list_customers(self, params: Obj) -> Reply:
        found = [copy.deepcopy(c) for c in self.customers.values()
                 if not params.get("email") or c["email"] == params["email"]]
        return Reply(200, {"object": "list", "data": found, "has_more": False, "url": "/v1/customers"})

    def _create_customer(self, params: Obj) -> Reply:
        customer_id = f"cus_{next(self._ids)}"
        self.customers[customer_id] = {
            "id": customer_id, "object": "customer", "email": params.get("email"), "name": params.get("name"),
            "metadata": params.get("metadata") or {}, "created": int(time.time()), "currency": None,
            "invoice_settings": {"default_payment_method": None}}
        return Reply(200, copy.deepcopy(self.customers[customer_id]))

    def _list_subscriptions(self, params: Obj) -> Reply:
        found = [copy.deepcopy(s) for s in self.subscriptions.values() if s["customer"] == params.get("customer")]
        return Reply(200, {"object": "list", "data": found, "has_more": False, "url": "/v1/subscriptions"})

    def _create_subscription(self, params: Obj) -> Reply:
        if params.get("customer") not in self.customers:
            return _missing("customer", str(params.get("customer")))
        days = int(params.get("trial_period_days") or 0)
        subscription = self._new_subscription(
            customer=params["customer"], price=params["items"][0]["price"], metadata=params.get("metadata"),
            trial_end=int(time.time()) + days * DAY if days else None, payment_method=None)
        subscription["trial_settings"] = params.get("trial_settings")
        return Reply(200, copy.deepcopy(subscription))

    def _create_checkout(self, params: Obj) -> Reply:
        checkout_id = f"cs_test_{next(self._ids)}"
        session = {"id": checkout_id, "object": "checkout.session", "mode": params.get("mode"),
                   "customer": params.get("customer"), "client_reference_id": params.get("client_reference_id"),
                   "url": f"https://checkout.stripe.test/c/pay/{checkout_id}", "status": "open",
                   "payment_status": "unpaid", "subscription": None, "_params": params}
        self.checkouts[checkout_id] = session
        return Reply(200, self.public(session))

    def _list_checkouts(self, params: Obj) -> Reply:
        found = [self.public(c) for c in self.checkouts.values()
                 if c["customer"] == params.get("customer") and c["status"] == params.get("status", c["status"])]
        return Reply(200, {"object": "list", "data": found, "has_more": False, "url": "/v1/checkout/sessions"})

    def _expire_checkout(self, checkout_id: str) -> Reply:
        session = self.checkouts.get(checkout_id)
        if session is None:
            return _missing("checkout.session", checkout_id)
        if session["status"] != "open":
            return Reply(400, {"error": {"type": "invalid_request_error", "message":
                                         f"Only Checkout Sessions with a status of `open` can be expired. This "
                                         f"Checkout Session has a status of `{session['status']}`."}})
        session.update(status="expired")
        return Reply(200, self.public(session))

    def _create_portal(self, params: Obj) -> Reply:
        if params.get("customer") not in self.customers:
            return _missing("customer", str(params.get("customer")))
        portal_id = f"bps_{next(self._ids)}"
        self.portals[portal_id] = {"id": portal_id, "object": "billing_portal.session",
                                   "customer": params["customer"], "return_url": params.get("return_url"),
                                   "url": f"https://billing.stripe.test/p/session/{portal_id}"}
        return Reply(200, copy.deepcopy(self.portals[portal_id]))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                self._serve("GET", parse_qsl(urlsplit(self.path).query))

            def do_DELETE(self) -> None:
                self._serve("DELETE", parse_qsl(urlsplit(self.path).query))

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                self._serve("POST", parse_qsl(raw))

            def _serve(self, method: str, pairs: list[tuple[str, str]]) -> None:
                if self.headers.get("Authorization") != f"Bearer {SECRET_KEY}":
                    reply = Reply(401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}})
                else:
                    reply = fake.answer(method, urlsplit(self.path).path, _nest(pairs),
                                        self.headers.get("Idempotency-Key"))
                payload = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Request-Id", f"req_{time.monotonic_ns()}")
                self.end_headers()
                self.wfile.write(payload)

        return Handler
