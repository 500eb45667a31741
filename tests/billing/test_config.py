"""Billing's settings: all of Stripe's or none; none means billing off and full service for everyone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy.orm import Session

from core.access import has_service, has_service_sql
from core.config import load_settings
from core.errors import ConfigError
from tests.factories import make_user

STRIPE = {"STRIPE_SECRET_KEY": "sk_live_secret_value", "STRIPE_WEBHOOK_SECRET": "whsec_secret_value",
          "STRIPE_PRICE_ID": "price_123"}


def test_without_stripe_keys_billing_is_off() -> None:
    settings = load_settings({})
    assert (settings.billing_enabled, settings.stripe_api_base) == (False, "https://api.stripe.com")


def test_with_all_three_billing_is_on_and_the_secrets_stay_out_of_the_repr() -> None:
    settings = load_settings({**STRIPE, "STRIPE_API_BASE": "http://127.0.0.1:9999/"})
    assert (settings.billing_enabled, settings.stripe_api_base) == (True, "http://127.0.0.1:9999")
    assert "secret_value" not in repr(settings) and "price_123" in repr(settings)


@pytest.mark.parametrize("left_out", sorted(STRIPE))
def test_half_a_stripe_configuration_is_refused_naming_what_is_missing(left_out: str) -> None:
    with pytest.raises(ConfigError, match=f"billing needs all of .*; {left_out} is not set"):
        load_settings({k: v for k, v in STRIPE.items() if k != left_out})


def test_a_stripe_api_base_that_is_not_a_url_is_refused() -> None:
    with pytest.raises(ConfigError, match="STRIPE_API_BASE must start with https://"):
        load_settings({**STRIPE, "STRIPE_API_BASE": "api.stripe.com"})


def test_with_billing_off_everyone_has_service_whatever_their_age(service: Session) -> None:
    with time_machine.travel("2026-11-25T12:00:00+00:00", tick=False):
        old = make_user(service, created_at=datetime(2020, 1, 1, tzinfo=UTC))
        assert has_service_sql("u") == "true"
        assert has_service(service, old.id) is True


def test_the_gate_takes_only_a_table_alias() -> None:
    with pytest.raises(ValueError, match="is not a table alias"):
        has_service_sql("u; DROP TABLE users")
