"""``nbm billing``: a user's billing status, and the Stripe Checkout and Billing Portal addresses.

With billing off, ``status`` says so (everyone has full service) and ``checkout`` / ``portal`` exit 2.
The addresses printed are Stripe's own, fresh each time: a Checkout session lasts 24 hours, a Portal
session a few minutes, so pass them on at once or make another.
"""

from __future__ import annotations

import click

from bot.cli.common import acting_as_email, emit, json_option, user_option
from core.billing.sessions import checkout_url, portal_url
from core.billing.status import BillingStatus, billing_status, describe
from core.config import get_settings
from core.errors import ValidationError


@click.group("billing")
def billing_group() -> None:
    """Billing with Stripe: status, subscribe (Checkout), manage (Billing Portal)."""


@billing_group.command("status")
@user_option
@json_option
def status_command(email: str, as_json: bool) -> None:
    """Status, trial end, period end, and whether the user has service (gets plans delivered)."""
    with acting_as_email(email) as (session, user):
        status = billing_status(session, user=user)
        timezone = user.timezone
    emit(as_json, status.as_json(), lambda: format_status(status, timezone))


@billing_group.command("checkout")
@user_option
@json_option
def checkout_command(email: str, as_json: bool) -> None:
    """Print the address of a Stripe Checkout session to subscribe (valid 24 hours)."""
    _require_billing()
    with acting_as_email(email) as (_, user):
        user_id = user.id
    url = checkout_url(user_id)
    emit(as_json, {"url": url}, lambda: f"Open this address to subscribe (valid 24 hours):\n{url}")


@billing_group.command("portal")
@user_option
@json_option
def portal_command(email: str, as_json: bool) -> None:
    """Print the address of a Stripe Billing Portal session (valid a few minutes)."""
    _require_billing()
    with acting_as_email(email) as (_, user):
        user_id = user.id
    url = portal_url(user_id)
    emit(as_json, {"url": url}, lambda: f"Open this address to manage billing (valid a few minutes):\n{url}")


def _require_billing() -> None:
    if not get_settings().billing_enabled:
        raise ValidationError("billing is off on this server (STRIPE_SECRET_KEY is not set): everyone has full "
                              "service")


def format_status(status: BillingStatus, timezone: str) -> str:
    """``Status: trialing`` and the dates, in UTC, then the sentence the user would read."""
    def when(label: str, moment: object) -> str:
        return f"{label}: {moment:%Y-%m-%d %H:%M} UTC" if moment else f"{label}: -"

    lines = [f"Status: {status.status.value}", f"Service: {'yes' if status.has_service else 'no'}"]
    if status.enabled:
        lines += [when("Trial ends", status.trial_ends_at), when("Period ends", status.current_period_end)]
        if status.grace_ends_at:
            lines.append(when("Grace ends", status.grace_ends_at))
        if status.cancel_at_period_end:
            lines.append("Cancels at the period's end")
    lines.append(describe(status, timezone=timezone))
    return "\n".join(lines)
