"""`nbm billing status|checkout|portal --user EMAIL [--json]`, as an operator runs them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.billing.trial import start_trial
from core.models import User
from tests.billing.conftest import NOON, deliver
from tests.billing.fake_stripe import FakeStripe
from tests.cli import nbm
from tests.factories import make_user


@pytest.fixture()
def ann(clock: time_machine.Coordinates, service: Session) -> User:
    return make_user(service, name="Ann Lee", email="ann@example.com", timezone="America/New_York")


def test_status_shows_the_trial_its_end_and_service(billing: Path, stripe: FakeStripe, ann: User) -> None:
    start_trial(ann.id)
    shown = nbm("billing", "status", "--user", "ANN@example.com")
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines() == [
        "Status: trialing", "Service: yes", "Trial ends: 2026-12-09 12:00 UTC", "Period ends: 2026-12-09 12:00 UTC",
        "Your free trial runs until Wed 9 Dec. Subscribe to keep your morning plan after it."]


def test_status_json_after_a_failed_payment_gives_the_end_of_the_grace_period(
    web: FlaskClient, stripe: FakeStripe, ann: User
) -> None:
    start_trial(ann.id)
    (trial,) = stripe.subscriptions
    deliver(web, stripe.event("invoice.payment_failed", stripe.invoice(trial, paid=False)))
    shown = nbm("billing", "status", "--user", ann.email, "--json")
    assert shown.exit_code == 0, shown.output
    status = json.loads(shown.output)
    assert (status["status"], status["has_service"], status["grace_ends_at"]) == (
        "past_due", True, (NOON + timedelta(days=7)).isoformat())


def test_checkout_prints_a_stripe_checkout_address_for_the_user(
    billing: Path, stripe: FakeStripe, ann: User
) -> None:
    made = nbm("billing", "checkout", "--user", ann.email, "--json")
    assert made.exit_code == 0, made.output
    (checkout_id,) = stripe.checkouts
    assert json.loads(made.output) == {"url": f"https://checkout.stripe.test/c/pay/{checkout_id}"}
    params = stripe.checkouts[checkout_id]["_params"]
    assert params["client_reference_id"] == str(ann.id)
    assert params["success_url"] == "https://nbm.test/billing/return?outcome=subscribed"
    # Before the trial job ran: the customer is made now, and the sign-up trial is honoured.
    assert params["customer"] in stripe.customers
    assert int(params["subscription_data"]["trial_end"]) == int((NOON + timedelta(days=14)).timestamp())


def test_a_user_from_before_billing_was_turned_on_is_in_the_trial_it_owes_until_the_sweep_starts_it(
    clock: time_machine.Coordinates, billing: Path, stripe: FakeStripe, service: Session
) -> None:
    """Their 14 days count from when the trial starts: not over before it began, nor paid at once."""
    early = make_user(service, name="Bea Early", email="bea@example.com", created_at=NOON - timedelta(days=200))
    shown = nbm("billing", "status", "--user", early.email)
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines() == [
        "Status: none", "Service: yes", "Trial ends: 2026-12-09 12:00 UTC", "Period ends: -",
        "Your free trial runs until Wed 9 Dec. Subscribe to keep your morning plan after it."]
    assert nbm("billing", "checkout", "--user", early.email).exit_code == 0
    (checkout_id,) = stripe.checkouts
    trial_end = stripe.checkouts[checkout_id]["_params"]["subscription_data"]["trial_end"]
    assert int(trial_end) == int((NOON + timedelta(days=14)).timestamp())


def test_checkout_with_less_than_48_hours_of_trial_left_bills_at_once(
    billing: Path, stripe: FakeStripe, ann: User, clock: time_machine.Coordinates
) -> None:
    start_trial(ann.id)
    clock.shift(timedelta(days=12, hours=1))
    assert nbm("billing", "checkout", "--user", ann.email).exit_code == 0
    (checkout_id,) = stripe.checkouts
    assert "trial_end" not in stripe.checkouts[checkout_id]["_params"]["subscription_data"]


def test_a_checkout_left_open_cannot_be_paid_once_another_is_made(
    billing: Path, stripe: FakeStripe, ann: User
) -> None:
    """Subscribe pressed in the email and left open in a tab, then again in Slack: paying both would
    bill two subscriptions. The newest address is the one that works."""
    assert nbm("billing", "checkout", "--user", ann.email).exit_code == 0
    assert nbm("billing", "checkout", "--user", ann.email).exit_code == 0
    first, second = stripe.checkouts
    assert (stripe.checkouts[first]["status"], stripe.checkouts[second]["status"]) == ("expired", "open")
    with pytest.raises(ValueError, match="is expired: it cannot be paid"):
        stripe.complete_checkout(first)
    stripe.complete_checkout(second)
    assert len(stripe.subscriptions) == 1


def test_a_subscriber_is_sent_to_the_portal_instead_of_a_second_subscription(
    web: FlaskClient, stripe: FakeStripe, ann: User
) -> None:
    assert nbm("billing", "checkout", "--user", ann.email).exit_code == 0
    (checkout_id,) = stripe.checkouts
    session, _ = stripe.complete_checkout(checkout_id)
    deliver(web, stripe.event("checkout.session.completed", session))

    again = nbm("billing", "checkout", "--user", ann.email)
    assert again.exit_code == 2
    assert "you already have a subscription; manage it" in again.output
    assert len(stripe.checkouts) == 1
    portal = nbm("billing", "portal", "--user", ann.email)
    assert portal.exit_code == 0, portal.output
    (portal_id,) = stripe.portals
    assert portal.output.splitlines()[-1] == f"https://billing.stripe.test/p/session/{portal_id}"
    assert stripe.portals[portal_id]["return_url"] == "https://nbm.test/billing/return?outcome=managed"


def test_an_unknown_user_exits_2_saying_so(billing: Path, service: Session) -> None:
    refused = nbm("billing", "status", "--user", "nobody@example.com")
    assert refused.exit_code == 2
    assert "no user with the email 'nobody@example.com'" in refused.output


def test_stripe_unreachable_exits_2_with_a_sentence(billing: Path, stripe: FakeStripe, ann: User) -> None:
    stripe.fail_next("POST", "/v1/checkout")
    start_trial(ann.id)
    refused = nbm("billing", "checkout", "--user", ann.email)
    assert refused.exit_code == 2
    assert "Stripe could not be reached just now; try again in a minute" in refused.output


def test_with_billing_off_status_says_so_and_sessions_are_refused(clock: time_machine.Coordinates,
                                                                  service: Session) -> None:
    make_user(service, email="bob@example.com")
    shown = nbm("billing", "status", "--user", "bob@example.com")
    assert shown.output.splitlines() == ["Status: off", "Service: yes",
                                         "Billing is not set up on this server: you have full service."]
    for kind in ("checkout", "portal"):
        refused = nbm("billing", kind, "--user", "bob@example.com")
        assert refused.exit_code == 2
        assert "billing is off on this server (STRIPE_SECRET_KEY is not set)" in refused.output
