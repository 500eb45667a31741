"""Billing under test: Stripe's API is a fake Stripe on 127.0.0.1 (tests/billing/fake_stripe.py),
reached through ``STRIPE_API_BASE`` by the real stripe-python client; webhook events are posted to
the real route, signed as Stripe signs them (``t=…,v1=HMAC-SHA256(secret, "{t}.{body}")``) against
the pinned clock; email goes to an outbox of the test's own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, cast

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from core import config
from core.billing import stripe_api
from core.db import set_context
from core.models import BillingCustomer, BillingEvent, BillingSubscription, User
from tests.billing.fake_stripe import PRICE, SECRET_KEY, FakeStripe

#: Wednesday 25 November 2026, noon UTC.
NOON = datetime(2026, 11, 25, 12, tzinfo=UTC)
WEBHOOK_SECRET = "whsec_test_webhook_secret"
BASE_URL = "https://nbm.test"


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[FakeStripe]:
    fake = FakeStripe()
    fake.thread.start()
    yield fake
    fake.server.shutdown()


@pytest.fixture()
def stripe(stripe_server: FakeStripe) -> FakeStripe:
    stripe_server.reset()
    return stripe_server


def billing_environment(stripe: FakeStripe, data_dir: Path) -> dict[str, str]:
    return {"STRIPE_SECRET_KEY": SECRET_KEY, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_PRICE_ID": PRICE,
            "STRIPE_API_BASE": stripe.base, "BASE_URL": BASE_URL, "EMAIL_BACKEND": "outbox",
            "EMAIL_FROM": "NextBestMove <plan@nbm.test>", "NBM_DATA_DIR": str(data_dir)}


@pytest.fixture()
def billing(stripe: FakeStripe, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Billing on against the fake Stripe; yields the outbox folder the emails land in."""
    for key, value in billing_environment(stripe, tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(stripe_api, "NETWORK_RETRIES", 0)
    config.get_settings.cache_clear()
    yield tmp_path / "outbox"
    monkeypatch.undo()
    config.get_settings.cache_clear()


@pytest.fixture()
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


@pytest.fixture()
def web(billing: Path, connection: Connection) -> FlaskClient:
    from bot.web import create_app

    return create_app().test_client()


def signature(body: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe sends with ``body``."""
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def deliver(web: FlaskClient, event: dict[str, Any], **signing: Any) -> TestResponse:
    """Post ``event`` to the webhook as Stripe does."""
    body = json.dumps(event).encode()
    return web.post("/stripe/webhook", data=body, content_type="application/json",
                    headers={"Stripe-Signature": signature(body, **signing)})


def emails(outbox: Path) -> list[EmailMessage]:
    if not outbox.exists():
        return []
    return [cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(p.read_bytes()))
            for p in sorted(outbox.glob("*.eml"))]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def subscriptions(service: Session, user: User) -> dict[str, BillingSubscription]:
    """The user's subscription rows as the database has them now, by Stripe id."""
    set_context(service, service=True)
    rows = service.scalars(select(BillingSubscription).join(BillingCustomer)
                           .where(BillingCustomer.user_id == user.id)
                           .execution_options(populate_existing=True)).all()
    return {row.stripe_subscription_id: row for row in rows}


def customer(service: Session, user: User) -> BillingCustomer | None:
    set_context(service, service=True)
    return service.scalar(select(BillingCustomer).where(BillingCustomer.user_id == user.id)
                          .execution_options(populate_existing=True))


def stored_events(service: Session) -> list[BillingEvent]:
    set_context(service, service=True)
    return list(service.scalars(select(BillingEvent).order_by(BillingEvent.created_at, BillingEvent.stripe_event_id)
                                .execution_options(populate_existing=True)))
