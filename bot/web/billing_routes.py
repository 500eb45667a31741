"""The billing page behind the signed links of emails, App Home and ``/nbm billing``.

* ``GET /billing/<token>`` shows where the user stands (trial, subscribed, payment failed, ended)
  with Subscribe (Stripe Checkout) and Manage billing (Stripe's Billing Portal). As with every email
  page, a GET changes nothing and calls nobody: mail scanners open every link, and each click on a
  button makes a fresh Stripe session (a Portal session lasts minutes).
* ``POST /billing/<token>/checkout`` and ``/portal`` make the session and send the browser there (303).
  Refusals (already subscribed, Stripe unreachable) are said on the page.
* ``GET /billing/return`` is where Stripe sends the browser back: it says what happens next (the
  change itself arrives by webhook) and needs no token.
With billing off, these pages do not exist (404).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from bot.email.links import EmailLinks, LinkExpired, LinkInvalid
from bot.web.private_pages import private
from core.billing.sessions import checkout_url, portal_url
from core.billing.status import billing_status, describe
from core.billing.stripe_api import BillingRefused, BillingUnavailable
from core.config import get_settings
from core.db import unit_of_work
from core.errors import NotFound, ValidationError
from core.users import get_user

bp = Blueprint("billing_pages", __name__)

RETURNS = {
    "subscribed": ("Thank you for subscribing",
                   "Stripe is confirming your subscription; your morning plans continue (or start again) "
                   "within a minute or two. You can close this page."),
    "cancelled": ("Nothing was changed", "You left Stripe's checkout before subscribing. You can subscribe "
                  "whenever you like from the billing link of your emails, App Home, or /nbm billing."),
    "managed": ("You are back from Stripe", "Any change you made there reaches NextBestMove within a minute. "
                "You can close this page."),
}


@bp.before_request
def _billing_on() -> None:
    if not get_settings().billing_enabled:
        abort(404)


@bp.after_request
def _private(response: Response) -> Response:
    # The forms post here, and the answer redirects to Stripe: form-action must allow both.
    return private(response, form_action="'self' https:")


def _message(title: str, message: str, status: int, tone: str = "error") -> ResponseReturnValue:
    return render_template("email_pages/message.html", title=title, message=message, tone=tone), status


@bp.errorhandler(LinkInvalid)
@bp.errorhandler(NotFound)
def _not_valid(_: Exception) -> ResponseReturnValue:
    return _message("This link is not valid",
                    "It may have been copied incompletely. Use the billing link of your latest NextBestMove email.",
                    404)


@bp.errorhandler(LinkExpired)
def _expired(_: LinkExpired) -> ResponseReturnValue:
    return _message("This link has expired",
                    "Billing links stop working after 30 days. Your latest NextBestMove email has a fresh one at "
                    "the bottom; in Slack, /nbm billing gives one too.", 410)


@bp.get("/billing/return")
def returned() -> ResponseReturnValue:
    title, message = RETURNS.get(request.args.get("outcome", ""), RETURNS["managed"])
    return _message(title, message, 200, tone="ok")


@bp.get("/billing/<token>")
def billing_page(token: str) -> ResponseReturnValue:
    return _page(token)


@bp.post("/billing/<token>/<kind>")
def go_to_stripe(token: str, kind: str) -> ResponseReturnValue:
    if kind not in ("checkout", "portal"):
        abort(404)
    user_id = EmailLinks.from_settings().read_billing(token)
    try:
        address = checkout_url(user_id) if kind == "checkout" else portal_url(user_id)
    except ValidationError as refused:
        return _page(token, note=_sentence(str(refused)), status=400)
    except (BillingUnavailable, BillingRefused) as failed:
        return _page(token, note=_sentence(str(failed)), status=503)
    return redirect(address, 303)


def _page(token: str, *, note: str | None = None, status: int = 200) -> ResponseReturnValue:
    user_id = EmailLinks.from_settings().read_billing(token)
    with unit_of_work(user_id=user_id) as session:
        user = get_user(session, user_id)
        shown = billing_status(session, user=user)
        summary = describe(shown, timezone=user.timezone)
    return render_template(
        "email_pages/billing.html", status=shown, summary=summary, note=note, email=user.email,
        checkout_url=url_for(".go_to_stripe", token=token, kind="checkout"),
        portal_url=url_for(".go_to_stripe", token=token, kind="portal"),
    ), status


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
