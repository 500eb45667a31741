"""``POST /stripe/webhook`` fuzzed: any JSON signed with the endpoint's secret, events of every type
(handled or not) around objects that are Stripe's own snapshots with fields changed, removed or
replaced by anything, and bodies whose signature is wrong. Never a 500; a badly signed body is a
400; whatever is refused (400) or put off (503) changes nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from core.billing.stripe_api import USER_KEY
from core.billing.trial import start_trial
from core.billing.webhooks import HANDLED
from tests.billing.conftest import WEBHOOK_SECRET, signature
from tests.billing.fake_stripe import FakeStripe
from tests.factories import make_user
from tests.fuzz.conftest import Book, changed, snapshot, stripe_as_now
from tests.fuzz.strategies import huge_text, json_objects, json_values, unicode_text, word

TYPES = [*sorted(HANDLED), "customer.created", "invoice.finalized", "payment_intent.succeeded", ""]


@pytest.fixture()
def client(billing: Path, connection: Connection) -> FlaskClient:
    from bot.web import create_app

    return create_app().test_client()


@pytest.fixture()
def accounts(billing: Path, service: Session, stripe: FakeStripe) -> Book:
    """Ann, whose trial is running at Stripe (a customer and a trialing subscription, both recorded),
    and Bob, who has no Stripe customer yet."""
    ann = make_user(service, name="Ann Lee", email="ann@example.com")
    bob = make_user(service, name="Bob Lee", email="bob@example.com")
    assert start_trial(ann.id)
    (subscription_id,) = stripe.subscriptions
    subscription = stripe.subscriptions[subscription_id]
    invoice = stripe.invoice(subscription_id, paid=False)
    stripe.update(subscription_id, status="trialing")
    return Book(ann=ann, bob=bob, customer=subscription["customer"], subscription=subscription_id,
                invoice=invoice, restore=stripe_as_now(stripe))


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside ``value`` (dictionary keys and list positions, at any depth)."""
    found: list[tuple[Any, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found.append((*prefix, key))
        found += paths(item, (*prefix, key))
    return found


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A copy of ``value`` with what is at ``path`` replaced by ``new`` (removed when ``new`` is REMOVE)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    copy = dict(value) if isinstance(value, dict) else list(value)
    if not rest and new is REMOVE:
        del copy[head]
    else:
        copy[head] = replaced(copy[head], rest, new)
    return copy


REMOVE = object()


@st.composite
def mutated(draw: st.DrawFn, obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` with up to three of its parts, at any depth, removed or replaced by anything, and
    perhaps a field added."""
    for _ in range(draw(st.integers(1, 3))):
        places = paths(obj)
        if not places:
            break
        path = draw(st.sampled_from(places))
        obj = replaced(obj, path, draw(st.just(REMOVE) | json_values()))
    added = draw(st.dictionaries(st.sampled_from(["metadata", "parent", "subscription", "customer", "items",
                                                  "client_reference_id", "mode", "status", "trial_end", "ended_at",
                                                  "latest_invoice", "invoice_settings", "default_payment_method"])
                                 | word(), json_values(), max_size=1))
    return {**obj, **added}


@st.composite
def objects(draw: st.DrawFn, accounts: Book, stripe: FakeStripe, *, wild: bool) -> dict[str, Any]:
    """The event's object: one of Stripe's own (our subscription, one Stripe no longer has, its invoice,
    a Checkout session for one of our users, a customer), changed at random when ``wild``; or, then,
    any JSON object."""
    subscription = stripe.public(stripe.subscriptions[accounts["subscription"]])
    users = [str(accounts["ann"].id), str(accounts["bob"].id), "not-a-uuid", "00000000-0000-0000-0000-000000000000"]
    ids = st.sampled_from(["cus_unknown", "sub_unknown", ""]) | huge_text() if wild else st.nothing()
    checkout = {"id": "cs_1", "object": "checkout.session", "mode": "subscription", "status": "complete",
                "customer": draw(st.sampled_from([accounts["customer"], "cus_unknown"]) | ids),
                "subscription": draw(st.sampled_from([accounts["subscription"], "sub_unknown"]) | ids),
                "client_reference_id": draw(st.sampled_from(users))}
    customer = {"id": draw(st.sampled_from([accounts["customer"], "cus_new"]) | ids), "object": "customer",
                "metadata": {USER_KEY: draw(st.sampled_from(users))}, "invoice_settings": {}}
    # A subscription Stripe no longer has: its snapshot is what is written.
    gone = {**subscription, "id": "sub_gone"}
    base = draw(st.sampled_from([subscription, gone, accounts["invoice"], checkout, customer]))
    if not wild:
        return base
    return draw(mutated(base) | json_objects())


@st.composite
def events(draw: st.DrawFn, accounts: Book, stripe: FakeStripe) -> Any:
    """An event as Stripe sends it (any type, about one of Stripe's objects); or one whose object is
    changed at random; or one whose id, time, type and object are anything; or any JSON at all."""
    how = draw(st.sampled_from(["stripe's", "object changed", "object changed", "anything"]))
    event = {"id": draw(st.sampled_from(["evt_1", "evt_2"])), "object": "event", "api_version": "2026-10-28.endive",
             "type": draw(st.sampled_from(TYPES)), "created": int(time.time()) - draw(st.integers(0, 3600)),
             "livemode": False, "data": {"object": draw(objects(accounts, stripe, wild=how != "stripe's"))}}
    if how != "anything":
        return event
    created = draw(st.just(int(time.time())) | st.integers(min_value=-(2**63), max_value=2**63)
                   | st.sampled_from([0, 1, -1, 253402300800, 10**12, 2**31]) | json_values())
    event.update(id=draw(st.sampled_from(["evt_1", "evt_2"]) | word() | huge_text() | json_values()),
                 type=draw(st.sampled_from(TYPES) | word() | huge_text() | json_values()), created=created)
    if draw(st.integers(0, 4)) == 0:
        event["data"] = draw(json_values())
    return draw(st.just(event) | json_values())


#: Bodies no JSON writer makes but Python's reader takes, or that nest beyond any reader.
RAW = [b'{"id": "evt_1", "type": "invoice.paid", "created": 1, "data": {"object": {"amount": NaN}}}',
       b'{"id": "evt_1", "type": "invoice.paid", "created": 1, "data": {"object": {"amount": -Infinity}}}',
       b'{"id": "evt_1", "id": "evt_2", "type": "x", "created": 1, "data": {"object": {}}}',
       b'{"id": "evt_1", "type": "x", "created": 1e3, "data": {"object": {}}}',
       b'{"id": "evt_1", "type": "x", "created": 1, "data": {"object": {"a": "\\ud800"}}}',
       b'{"id": "evt_1", "type": "x", "created": 1, "data": {"object": ' + b'[' * 50_000 + b']' * 50_000 + b'}}',
       b'{"id": "evt_1", "type": "x", "created": 1, "data": {"object": {"a": ' + b'{"a": ' * 40 + b'1'
       + b'}' * 40 + b'}}}',
       b'\xef\xbb\xbf{"id": "evt_1", "type": "x", "created": 1, "data": {"object": {}}}', b"", b"null", b"[]",
       b"\xff\xfe"]


@given(data=st.data())
def test_any_signed_body_is_never_a_500_and_what_is_refused_changes_nothing(
    client: FlaskClient, accounts: Book, stripe: FakeStripe, in_savepoint: Any, data: st.DataObject
) -> None:
    body = data.draw(st.builds(lambda event: json.dumps(event).encode(), events(accounts, stripe))
                     | st.sampled_from(RAW) | st.binary(max_size=100), label="body")
    replay = data.draw(st.integers(0, 3), label="replay") == 0
    with in_savepoint():
        accounts["restore"]()
        before = snapshot()
        response = client.post("/stripe/webhook", data=body, content_type="application/json",
                               headers={"Stripe-Signature": signature(body)})
        outcome = (response.get_json(silent=True) or {}).get("outcome", "")
        event(f"{response.status_code} {outcome}")
        assert response.status_code in (200, 400, 503), response.get_data(as_text=True)[:300]
        if response.status_code != 200 or outcome == "duplicate":
            assert changed(before, snapshot()) == []
        elif outcome == "ignored":  # stored; at most the customer it names recorded as ours
            assert set(changed(before, snapshot())) <= {"billing_events", "billing_customers"}
        if response.status_code == 200 and replay:  # Stripe delivers at least once
            first = snapshot()
            again = client.post("/stripe/webhook", data=body, content_type="application/json",
                                headers={"Stripe-Signature": signature(body)})
            assert (again.status_code, again.get_json()) == (200, {"received": True, "outcome": "duplicate"})
            assert changed(first, snapshot()) == []


@st.composite
def bad_signatures(draw: st.DrawFn, body: bytes) -> dict[str, str]:
    now = int(time.time())
    # A timestamp ahead of the clock is accepted, as Stripe's own libraries accept it: only Stripe signs.
    how = draw(st.sampled_from(["secret", "old", "other body", "missing", "odd"]))
    if how == "secret":
        return {"Stripe-Signature": signature(body, secret=draw(word().filter(lambda s: s != WEBHOOK_SECRET)))}
    if how == "old":
        return {"Stripe-Signature": signature(body, timestamp=now - draw(st.integers(301, 10**9)))}
    if how == "other body":
        return {"Stripe-Signature": signature(body + draw(st.binary(min_size=1, max_size=4)))}
    if how == "missing":
        return {}
    header = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\r\n"), max_size=80)
    odd = [f"t={now}", f"t={now},v1=", "v1=abc", f"t=x,v1={'0' * 64}", f"t={now},v0={'0' * 64}", ",,,", "t=,v1="]
    return {"Stripe-Signature": draw(header | st.sampled_from(odd))}


@given(data=st.data())
def test_a_body_without_the_endpoints_signature_is_a_400_and_changes_nothing(
    client: FlaskClient, accounts: Book, stripe: FakeStripe, in_savepoint: Any, data: st.DataObject
) -> None:
    body = data.draw(st.builds(lambda e: json.dumps(e).encode(), events(accounts, stripe))
                     | st.binary(max_size=200) | unicode_text.map(str.encode), label="body")
    headers = data.draw(bad_signatures(body), label="headers")
    with in_savepoint():
        accounts["restore"]()
        before = snapshot()
        response = client.post("/stripe/webhook", data=body, content_type="application/json", headers=headers)
        assert response.status_code == 400
        assert changed(before, snapshot()) == []


@pytest.mark.parametrize("event", [
    None,  # JSON, not an object: stripe-python's reader raised AttributeError
    {"id": "evt_1", "type": "invoice.paid", "created": 1, "data": 1},  # data not an object
    {"id": "evt_1", "type": "customer.created", "created": 1, "data": {"object": {"name": "A\x00"}}},  # NUL
    {"id": "evt_1", "type": "customer.created", "created": 1, "data": {"object": {"name": "\ud83d"}}},  # half a 😀
    {"id": "e" * 5000, "type": "customer.created", "created": 1, "data": {"object": {}}},  # past the index's size
], ids=["null", "data-not-an-object", "nul", "lone-surrogate", "huge-id"])
def test_a_signed_body_that_is_no_event_is_a_400_and_stores_nothing(
    client: FlaskClient, accounts: Book, event: Any
) -> None:
    """Examples the fuzz test found (each was a 500)."""
    body = json.dumps(event).encode()
    before = snapshot()
    response = client.post("/stripe/webhook", data=body, content_type="application/json",
                           headers={"Stripe-Signature": signature(body)})
    assert response.status_code == 400
    assert changed(before, snapshot()) == []


@pytest.mark.parametrize(("kind", "change", "outcome"), [
    ("invoice", {"parent": [None]}, "ignored"),  # its subscription is under a parent that is a list: none found
    ("gone", {"items": {"data": 5}}, "applied"),  # a snapshot's items of another shape
    ("gone", {"items": {"data": [5]}}, "applied"),
    ("gone", {"metadata": [1]}, "applied"),
    ("gone", {"trial_end": 10**20}, "applied"),  # a time past the year 9999
    ("invoice", {"hosted_invoice_url": {"a": 1}}, "applied"),  # not a link: the row keeps its own
], ids=["parent-list", "items-data-number", "items-data-list-of-numbers", "metadata-list", "trial-end-past-9999",
        "invoice-url-object"])
def test_an_event_about_our_subscription_with_fields_of_another_shape_reads_them_as_absent(
    client: FlaskClient, accounts: Book, stripe: FakeStripe, kind: str, change: dict[str, Any], outcome: str
) -> None:
    """Examples the fuzz test found (each was a 500): the event is applied, what it cannot read is left."""
    if kind == "invoice":
        obj, kind_of_event = {**accounts["invoice"], **change}, "invoice.payment_failed"
    else:
        subscription = stripe.public(stripe.subscriptions[accounts["subscription"]])
        obj, kind_of_event = {**subscription, "id": "sub_gone", **change}, "customer.subscription.updated"
    body = json.dumps({"id": "evt_1", "object": "event", "type": kind_of_event, "created": int(time.time()),
                       "data": {"object": obj}}).encode()
    response = client.post("/stripe/webhook", data=body, content_type="application/json",
                           headers={"Stripe-Signature": signature(body)})
    assert (response.status_code, response.get_json()) == (200, {"received": True, "outcome": outcome})


def test_an_event_created_past_the_year_9999_is_dated_when_it_arrives(client: FlaskClient, accounts: Book) -> None:
    """An example the fuzz test found (a 500): Stripe's time for the event is read as absent."""
    body = json.dumps({"id": "evt_1", "type": "customer.subscription.updated", "created": 10**20,
                       "data": {"object": {}}}).encode()
    response = client.post("/stripe/webhook", data=body, content_type="application/json",
                           headers={"Stripe-Signature": signature(body)})
    assert (response.status_code, response.get_json()) == (200, {"received": True, "outcome": "ignored"})
