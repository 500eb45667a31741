"""Billing in email: the footer's link, the billing page behind it, and Stripe's way back."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from bot.email.links import EmailLinks
from core import config
from core.billing.trial import start_trial
from core.models import User
from tests.billing.conftest import deliver, emails, text_of
from tests.billing.fake_stripe import FakeStripe
from tests.email.sending import mail_digest
from tests.factories import make_lead, make_user


@pytest.fixture()
def ann(clock: time_machine.Coordinates, service: Session) -> User:
    user = make_user(service, name="Ann Lee", email="ann@example.com")
    make_lead(service, user, name="Priya Raman")
    return user


def _billing_path(user: User) -> str:
    return EmailLinks.from_settings().billing_url(user_id=user.id).removeprefix("https://nbm.test")


def test_every_email_footer_links_to_the_billing_page_while_billing_is_on(
    web: FlaskClient, billing: Path, ann: User
) -> None:
    mail_digest(ann.id)
    (digest,) = emails(billing)
    link = EmailLinks.from_settings().billing_url(user_id=ann.id)
    assert f"Billing: {link}" in text_of(digest)
    html = digest.get_body(preferencelist=("html",))
    assert html is not None
    anchor = str(html.get_content()).split(f'href="{link}"', 1)[1]
    assert anchor.split(">", 1)[1].startswith("Billing</a>")


def test_with_billing_off_the_footer_has_no_billing_link(
    ann: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBM_DATA_DIR", str(tmp_path))
    config.get_settings.cache_clear()
    try:
        mail_digest(ann.id)
    finally:
        config.get_settings.cache_clear()
    (digest,) = emails(tmp_path / "outbox")
    assert "Billing" not in text_of(digest) and "/billing/" not in digest.as_string()


def test_the_billing_page_shows_the_trial_and_its_buttons_make_stripe_sessions(
    web: FlaskClient, stripe: FakeStripe, ann: User
) -> None:
    start_trial(ann.id)
    page = web.get(_billing_path(ann))
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Your free trial runs until Wed 9 Dec." in body and ">Subscribe</button>" in body
    assert "form-action 'self' https:" in page.headers["Content-Security-Policy"]

    subscribe = web.post(_billing_path(ann) + "/checkout")
    (checkout_id,) = stripe.checkouts
    assert (subscribe.status_code, subscribe.headers["Location"]) == (
        303, f"https://checkout.stripe.test/c/pay/{checkout_id}")
    manage = web.post(_billing_path(ann) + "/portal")
    (portal_id,) = stripe.portals
    assert (manage.status_code, manage.headers["Location"]) == (
        303, f"https://billing.stripe.test/p/session/{portal_id}")


def test_after_subscribing_the_page_offers_only_to_manage(web: FlaskClient, stripe: FakeStripe, ann: User) -> None:
    web.post(_billing_path(ann) + "/checkout")
    (checkout_id,) = stripe.checkouts
    session, _ = stripe.complete_checkout(checkout_id)
    deliver(web, stripe.event("checkout.session.completed", session))
    body = web.get(_billing_path(ann)).get_data(as_text=True)
    assert "Your trial runs until Wed 9 Dec; your subscription starts then." in body
    assert ">Subscribe</button>" not in body and "Manage billing" in body
    refused = web.post(_billing_path(ann) + "/checkout")
    assert refused.status_code == 400 and "You already have a subscription" in refused.get_data(as_text=True)


def test_the_end_of_service_email_offers_to_subscribe(
    web: FlaskClient, stripe: FakeStripe, ann: User, billing: Path, clock: time_machine.Coordinates
) -> None:
    start_trial(ann.id)
    (trial,) = stripe.subscriptions
    clock.shift(timedelta(days=14))
    event = stripe.event("customer.subscription.deleted", stripe.end_trial_without_payment_method(trial))
    deliver(web, event)
    deliver(web, event)
    (ended,) = emails(billing)
    assert str(ended["Subject"]) == "Your NextBestMove trial has ended"
    assert "you can still read and export them" in text_of(ended)
    assert f"Subscribe: {EmailLinks.from_settings().billing_url(user_id=ann.id)}" in text_of(ended)
    page = web.get(_billing_path(ann)).get_data(as_text=True)
    assert "Your trial has ended, so your morning plans are paused." in page and ">Subscribe</button>" in page


@pytest.mark.parametrize(("mangle", "status", "says"), [
    (lambda path: path[:-3] + "xyz", 404, "This link is not valid"),
    (lambda path: path.replace("/billing/", "/billing/x"), 404, "This link is not valid"),
])
def test_a_tampered_billing_link_opens_nothing(web: FlaskClient, ann: User, mangle: object, status: int,
                                               says: str) -> None:
    page = web.get(mangle(_billing_path(ann)))  # type: ignore[operator]
    assert page.status_code == status and says in page.get_data(as_text=True)


def test_a_billing_link_expires_after_30_days(web: FlaskClient, ann: User, clock: time_machine.Coordinates) -> None:
    path = _billing_path(ann)
    clock.shift(timedelta(days=31))
    page = web.get(path)
    assert page.status_code == 410 and "Billing links stop working after 30 days" in page.get_data(as_text=True)


def test_stripes_way_back_says_what_happens_next(web: FlaskClient) -> None:
    page = web.get("/billing/return?outcome=subscribed")
    assert page.status_code == 200 and "Thank you for subscribing" in page.get_data(as_text=True)


def test_with_billing_off_the_billing_pages_do_not_exist(ann: User, connection: object) -> None:
    from bot.web import create_app

    client = create_app().test_client()
    assert client.get("/billing/return").status_code == 404
    assert client.get(_billing_path(ann).replace("https://nbm.test", "")).status_code == 404


def test_the_preferences_page_has_a_billing_card_while_billing_is_on(web: FlaskClient, ann: User) -> None:
    links = EmailLinks.from_settings()
    page = web.get(links.preferences_url(user_id=ann.id).removeprefix("https://nbm.test")).get_data(as_text=True)
    billing_card = page.split("<h2 style=\"margin-top:0\">Billing</h2>", 1)[1]
    assert "Your free trial runs until Wed 9 Dec." in billing_card
    assert f'href="{links.billing_url(user_id=ann.id)}">Subscribe</a>' in billing_card
