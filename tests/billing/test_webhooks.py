"""POST /stripe/webhook: signed events stored once, applied to Stripe's current state in any order."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from bot.cli import main
from core.billing.sessions import checkout_url
from core.billing.trial import start_trial
from core.models import SubscriptionStatus, User
from tests.billing.conftest import (
    NOON,
    customer,
    deliver,
    emails,
    signature,
    stored_events,
    subscriptions,
    text_of,
)
from tests.billing.fake_stripe import FakeStripe
from tests.factories import make_user


@pytest.fixture()
def ann(clock: time_machine.Coordinates, service: Session) -> User:
    return make_user(service, name="Ann Lee", email="ann@example.com")


def _trial(stripe: FakeStripe, user: User) -> str:
    """Start the user's trial as the sign-up job does; the trial subscription's id."""
    assert start_trial(user.id)
    (subscription_id,) = stripe.subscriptions
    return subscription_id


def test_every_handled_event_brings_the_mirror_to_stripes_state(
    web: FlaskClient, stripe: FakeStripe, ann: User, service: Session, billing: Path
) -> None:
    trial = _trial(stripe, ann)
    assert subscriptions(service, ann)[trial].status == SubscriptionStatus.TRIALING

    answer = deliver(web, stripe.event("customer.subscription.created", stripe.subscriptions[trial]))
    assert (answer.status_code, answer.get_json()) == (200, {"received": True, "outcome": "applied"})

    stripe.update(trial, cancel_at_period_end=True)
    assert deliver(web, stripe.event("customer.subscription.updated", stripe.subscriptions[trial])).status_code == 200
    assert subscriptions(service, ann)[trial].cancel_at_period_end is True

    paid = stripe.invoice(trial, paid=True)
    assert deliver(web, stripe.event("invoice.paid", paid)).get_json()["outcome"] == "applied"
    row = subscriptions(service, ann)[trial]
    assert (row.status, row.latest_invoice_url) == (SubscriptionStatus.ACTIVE, paid["hosted_invoice_url"])

    failed = stripe.invoice(trial, paid=False)
    deliver(web, stripe.event("invoice.payment_failed", failed))
    row = subscriptions(service, ann)[trial]
    assert (row.status, row.past_due_since, row.latest_invoice_url) == (
        SubscriptionStatus.PAST_DUE, NOON, failed["hosted_invoice_url"])

    stripe.update(trial, status="canceled", ended_at=int(time.time()))
    deliver(web, stripe.event("customer.subscription.deleted", stripe.subscriptions[trial]))
    assert subscriptions(service, ann)[trial].status == SubscriptionStatus.CANCELED
    assert all(event.processed_at is not None for event in stored_events(service))
    assert [e.type for e in stored_events(service)] == [
        "customer.subscription.created", "customer.subscription.updated", "invoice.paid", "invoice.payment_failed",
        "customer.subscription.deleted"]


def test_checkout_during_the_trial_keeps_its_end_and_replaces_the_bare_trial(
    web: FlaskClient, stripe: FakeStripe, ann: User, service: Session, billing: Path
) -> None:
    trial = _trial(stripe, ann)
    url = checkout_url(ann.id)
    (checkout_id,) = stripe.checkouts
    params = stripe.checkouts[checkout_id]["_params"]
    assert url == f"https://checkout.stripe.test/c/pay/{checkout_id}"
    assert (params["mode"], params["client_reference_id"], params["line_items"], params["customer"]) == (
        "subscription", str(ann.id), [{"price": "price_monthly", "quantity": "1"}],
        customer(service, ann).stripe_customer_id)  # type: ignore[union-attr]
    assert int(params["subscription_data"]["trial_end"]) == stripe.subscriptions[trial]["trial_end"]

    session, paid = stripe.complete_checkout(checkout_id)
    answer = deliver(web, stripe.event("checkout.session.completed", session))
    assert answer.get_json()["outcome"] == "applied"
    rows = subscriptions(service, ann)
    assert (rows[paid["id"]].status, rows[paid["id"]].default_payment_method) == (
        SubscriptionStatus.TRIALING, "pm_card_visa")
    # The bare trial it replaces was cancelled at Stripe after the commit; Stripe says so by webhook.
    assert [r.path for r in stripe.calls("DELETE", "/v1/subscriptions/")] == [f"/v1/subscriptions/{trial}"]
    deliver(web, stripe.event("customer.subscription.deleted", stripe.subscriptions[trial]))
    assert subscriptions(service, ann)[trial].status == SubscriptionStatus.CANCELED
    assert emails(billing) == []  # the user still has service: nothing ended


def test_a_replay_is_a_200_that_changes_nothing(
    web: FlaskClient, stripe: FakeStripe, ann: User, service: Session, billing: Path
) -> None:
    trial = _trial(stripe, ann)
    failed = stripe.invoice(trial, paid=False)
    event = stripe.event("invoice.payment_failed", failed)
    assert deliver(web, event).get_json()["outcome"] == "applied"
    before = subscriptions(service, ann)[trial].updated_at
    stripe.update(trial, status="active")  # Stripe moved on; the replay must not re-read it

    replay = deliver(web, event)
    assert (replay.status_code, replay.get_json()["outcome"]) == (200, "duplicate")
    row = subscriptions(service, ann)[trial]
    assert (row.status, row.updated_at) == (SubscriptionStatus.PAST_DUE, before)
    assert len(stored_events(service)) == 1
    assert len(emails(billing)) == 1  # the payment-failed notice, once


def test_events_delivered_in_reverse_order_end_in_stripes_current_state(
    web: FlaskClient, stripe: FakeStripe, ann: User, service: Session, clock: time_machine.Coordinates
) -> None:
    trial = _trial(stripe, ann)
    created = stripe.event("customer.subscription.created", stripe.subscriptions[trial])
    clock.shift(timedelta(minutes=1))
    failed = stripe.event("invoice.payment_failed", stripe.invoice(trial, paid=False))
    clock.shift(timedelta(minutes=1))
    paid = stripe.event("invoice.paid", stripe.invoice(trial, paid=True))
    clock.shift(timedelta(minutes=1))
    updated = stripe.event("customer.subscription.updated", stripe.update(trial, cancel_at_period_end=True))

    for event in (updated, paid, failed, created):
        assert deliver(web, event).status_code == 200
    row = subscriptions(service, ann)[trial]
    assert (row.status, row.cancel_at_period_end, row.past_due_since) == (SubscriptionStatus.ACTIVE, True, None)
    assert row.latest_invoice_url == paid["data"]["object"]["hosted_invoice_url"]  # the latest, not the last seen


def test_when_stripe_no_longer_has_it_an_older_snapshot_does_not_undo_a_newer_one(
    web: FlaskClient, stripe: FakeStripe, ann: User, service: Session, clock: time_machine.Coordinates
) -> None:
    trial = _trial(stripe, ann)
    older = stripe.event("customer.subscription.updated", stripe.subscriptions[trial])
    clock.shift(timedelta(minutes=5))
    newer = stripe.event("customer.subscription.deleted",
                         stripe.update(trial, status="canceled", ended_at=int(time.time())))
    del stripe.subscriptions[trial]  # deleted for good (a test-mode reset, say): only snapshots remain

    deliver(web, newer)
    deliver(web, older)
    assert subscriptions(service, ann)[trial].status == SubscriptionStatus.CANCELED


@pytest.mark.parametrize("spoil", ["tampered body", "wrong secret", "old timestamp", "no signature"])
def test_an_event_not_signed_by_stripe_just_now_is_refused_and_not_stored(
    web: FlaskClient, stripe: FakeStripe, ann: User, service: Session, spoil: str
) -> None:
    trial = _trial(stripe, ann)
    body = json.dumps(stripe.event("customer.subscription.deleted", stripe.update(trial, status="canceled"))).encode()
    headers = {
        "tampered body": {"Stripe-Signature": signature(body.replace(b"canceled", b"active__"))},
        "wrong secret": {"Stripe-Signature": signature(body, secret="whsec_someone_else")},
        "old timestamp": {"Stripe-Signature": signature(body, timestamp=int(time.time()) - 301)},
        "no signature": {},
    }[spoil]
    answer = web.post("/stripe/webhook", data=body, content_type="application/json", headers=headers)
    assert answer.status_code == 400
    assert stored_events(service) == []
    assert subscriptions(service, ann)[trial].status == SubscriptionStatus.TRIALING


@pytest.mark.parametrize(("body", "reason"), [(b"{not json", "not JSON"),
                                              (b'{"id": "evt_1", "type": "invoice.paid"}', "not a Stripe event")])
def test_a_signed_body_that_is_not_an_event_is_refused(
    web: FlaskClient, service: Session, clock: time_machine.Coordinates, body: bytes, reason: str
) -> None:
    answer = web.post("/stripe/webhook", data=body, content_type="application/json",
                      headers={"Stripe-Signature": signature(body)})
    assert (answer.status_code, reason in answer.get_json()["error"]) == (400, True)
    assert stored_events(service) == []


def test_a_signature_from_five_minutes_ago_is_still_accepted(
    web: FlaskClient, stripe: FakeStripe, ann: User, service: Session
) -> None:
    trial = _trial(stripe, ann)
    event = stripe.event("customer.subscription.updated", stripe.subscriptions[trial])
    assert deliver(web, event, timestamp=int(time.time()) - 299).status_code == 200


def test_an_unknown_type_is_stored_and_ignored(web: FlaskClient, stripe: FakeStripe, ann: User,
                                               service: Session) -> None:
    trial = _trial(stripe, ann)
    event = stripe.event("customer.tax_id.created", {"id": "txi_x", "object": "tax_id", "customer": "cus_x"})
    answer = deliver(web, event)
    assert (answer.status_code, answer.get_json()["outcome"]) == (200, "ignored")
    (stored,) = stored_events(service)
    assert (stored.stripe_event_id, stored.type, stored.processed_at, stored.payload["id"]) == (
        event["id"], "customer.tax_id.created", None, event["id"])
    assert subscriptions(service, ann)[trial].status == SubscriptionStatus.TRIALING
    assert deliver(web, event).get_json()["outcome"] == "duplicate"


def test_an_event_about_a_customer_not_ours_is_stored_and_ignored(
    web: FlaskClient, stripe: FakeStripe, service: Session, clock: time_machine.Coordinates
) -> None:
    stripe.answer("POST", "/v1/customers", {"email": "other@example.com"}, None)  # another product's customer
    (stranger,) = stripe.customers
    subscription = stripe._new_subscription(customer=stranger, price="price_other", metadata={}, trial_end=None,
                                            payment_method="pm_x")
    answer = deliver(web, stripe.event("customer.subscription.updated", subscription))
    assert answer.get_json()["outcome"] == "ignored"
    assert [e.processed_at for e in stored_events(service)] == [None]


def test_when_stripe_cannot_be_read_the_event_is_refused_so_stripe_sends_it_again(
    web: FlaskClient, stripe: FakeStripe, ann: User, service: Session
) -> None:
    trial = _trial(stripe, ann)
    event = stripe.event("invoice.paid", stripe.invoice(trial, paid=True))
    stripe.fail_next("GET", f"/v1/subscriptions/{trial}")
    assert deliver(web, event).status_code == 503
    assert stored_events(service) == []
    assert deliver(web, event).get_json()["outcome"] == "applied"  # Stripe's retry
    assert subscriptions(service, ann)[trial].status == SubscriptionStatus.ACTIVE


def test_with_billing_off_the_endpoint_does_not_exist(client: FlaskClient) -> None:
    body = b'{"id": "evt_1"}'
    answer = client.post("/stripe/webhook", data=body, headers={"Stripe-Signature": signature(body)})
    assert answer.status_code == 404


@pytest.fixture()
def client(connection: object) -> FlaskClient:
    from bot.web import create_app

    return create_app().test_client()


def test_a_payment_failure_is_told_once_per_spell_with_the_end_of_the_grace_period(
    web: FlaskClient, stripe: FakeStripe, ann: User, service: Session, billing: Path,
    clock: time_machine.Coordinates,
) -> None:
    trial = _trial(stripe, ann)
    deliver(web, stripe.event("invoice.payment_failed", stripe.invoice(trial, paid=False)))
    deliver(web, stripe.event("customer.subscription.updated", stripe.subscriptions[trial]))  # same spell
    (notice,) = emails(billing)
    assert str(notice["Subject"]) == "Your NextBestMove payment failed"
    assert "keep coming until Wed 2 Dec" in text_of(notice)  # 7 days of grace from Wed 25 Nov
    assert "Update payment method: https://nbm.test/billing/" in text_of(notice)

    deliver(web, stripe.event("invoice.paid", stripe.invoice(trial, paid=True)))
    clock.shift(timedelta(days=30))
    deliver(web, stripe.event("invoice.payment_failed", stripe.invoice(trial, paid=False)))
    assert [str(m["Subject"]) for m in emails(billing)] == ["Your NextBestMove payment failed"] * 2
    assert "keep coming until Fri 1 Jan" in " ".join(text_of(m) for m in emails(billing))


def test_the_trial_reminder_is_sent_once_and_says_a_subscription_follows_when_one_does(
    web: FlaskClient, stripe: FakeStripe, ann: User, service: Session, billing: Path,
    clock: time_machine.Coordinates,
) -> None:
    trial = _trial(stripe, ann)
    checkout_url(ann.id)
    (checkout_id,) = stripe.checkouts
    session, paid = stripe.complete_checkout(checkout_id)
    deliver(web, stripe.event("checkout.session.completed", session))

    clock.shift(timedelta(days=11))
    for subscription in (paid["id"], trial, paid["id"]):  # Stripe announces the end for each subscription
        deliver(web, stripe.event("customer.subscription.trial_will_end", stripe.subscriptions[subscription]))
    (reminder,) = emails(billing)
    assert str(reminder["Subject"]) == "Your NextBestMove trial ends on Wed 9 Dec"
    assert "Your subscription starts then: there is nothing for you to do." in text_of(reminder)
    assert "Manage billing: https://nbm.test/billing/" in text_of(reminder)
    assert customer(service, ann).trial_reminded_at == NOON + timedelta(days=11)  # type: ignore[union-attr]


def test_a_card_saved_in_the_portal_after_sign_up_is_seen_by_the_status_and_the_trial_reminder(
    web: FlaskClient, stripe: FakeStripe, ann: User, billing: Path, clock: time_machine.Coordinates
) -> None:
    trial = _trial(stripe, ann)
    (customer_id,) = stripe.customers
    clock.shift(timedelta(days=2))
    deliver(web, stripe.event("customer.updated", stripe.save_card(customer_id)))
    shown = CliRunner().invoke(main, ["billing", "status", "--user", ann.email])
    assert shown.output.splitlines()[-1] == "Your trial runs until Wed 9 Dec; your subscription starts then."

    clock.shift(timedelta(days=9))
    deliver(web, stripe.event("customer.subscription.trial_will_end", stripe.subscriptions[trial]))
    (reminder,) = emails(billing)
    assert "Your subscription starts then: there is nothing for you to do." in text_of(reminder)
    assert "Subscribe" not in text_of(reminder)


def test_a_customer_updated_event_delivered_late_still_ends_in_stripes_current_card(
    web: FlaskClient, stripe: FakeStripe, ann: User, service: Session
) -> None:
    _trial(stripe, ann)
    (customer_id,) = stripe.customers
    first = stripe.event("customer.updated", stripe.save_card(customer_id, payment_method="pm_old"))
    second = stripe.event("customer.updated", stripe.save_card(customer_id, payment_method="pm_new"))
    assert deliver(web, second).get_json()["outcome"] == "applied"
    assert deliver(web, first).get_json()["outcome"] == "applied"
    assert customer(service, ann).default_payment_method == "pm_new"  # type: ignore[union-attr]
