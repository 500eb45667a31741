"""Connecting Google or Outlook in the browser: the confirmation page every connect link opens, and
the callback where Google and Microsoft send the browser back after the user grants (or refuses) access.

The browser is not logged in: the ``state`` of the flow says whose connection this is (single use,
ten minutes, for one provider: ``core.calendars.oauth_state``). A link can be sent on, so no channel
hands out the provider's consent page: each hands out :func:`confirm`'s page, which names the
NextBestMove account the calendar will be connected to and what will be read, and sends the browser
on to the provider only when Continue is pressed. Opening it (a GET, as a link preview or a mail
scanner does) changes nothing in the database; it gives the browser a cookie for this flow alone,
signed with ``SECRET_KEY`` (as Slack's install binds its state: ``bot.slack.oauth_state``). Continue
and the callback require it: a form posted from another site cannot skip the page, and the
provider's address copied on from a browser that pressed Continue connects nothing in another one.
The callback's page names the account too. It says what happened in plain words: connected,
refused by the user, or a link that no longer works (start again from Slack, the preferences page or
``nbm calendar connect``). Nothing secret is shown or logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from flask import Blueprint, Response, abort, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from bot.web.private_pages import private
from bot.web.redraw_slack import redraw_slack_later
from core.calendars import service
from core.calendars.oauth_state import CONFIRMATION_PATH, STATE_LIFETIME, OAuthStateError, pending_flow
from core.calendars.plans_sized import after_connecting
from core.config import get_settings
from core.db import unit_of_work
from core.errors import NbmError
from core.models import CalendarProvider, User

log = logging.getLogger(__name__)

bp = Blueprint("calendar_oauth", __name__)

#: The callback path of each provider (its redirect URI is BASE_URL + this).
CALLBACKS = {"google": CalendarProvider.GOOGLE, "microsoft": CalendarProvider.OUTLOOK}
#: Why Continue or the callback refused a browser without the flow's cookie (module docstring).
OTHER_BROWSER = ("this sign-in was not started in this browser. Open the connect link NextBestMove gave you in "
                 "the browser you sign in with, and press Continue on its page")


class OtherBrowser(NbmError):
    """The browser holds no cookie for this flow: it did not open the flow's confirmation page."""


@bp.after_request
def _private(response: Response) -> Response:
    """Every address here holds a state or a code. The confirmation page's form posts here and is
    answered with a redirect to Google's or Microsoft's sign-in: form-action binds a form's redirects
    too (``bot.web.email_pages.routes``)."""
    return private(response, form_action="'self' https:")


@bp.get(f"{CONFIRMATION_PATH}/<state>")
def confirm(state: str) -> ResponseReturnValue:
    """The page a connect link opens: whose account, what is read, and Continue (module docstring)."""
    try:
        with unit_of_work(service=True) as session:  # the flow's user's alone once it is found (pending_flow)
            flow = pending_flow(session, state=state)
            account = account_of(session.get_one(User, flow.user_id))
    except OAuthStateError as refused:
        return _page("This link no longer works", _sentence(str(refused)), 400)
    if flow.provider not in service.offered(get_settings()):
        abort(404)
    name = service.NAMES[flow.provider]
    calls = " and its meetings with that account's leads become calls" if flow.reads_events else ""
    response = make_response(render_template(
        "email_pages/confirm.html", question=f"Connect {name} to this NextBestMove account?", title=account,
        explanation=(f"After Continue, sign in to {name} and allow NextBestMove to read "
                     f"{service.what_is_read(guests=flow.reads_events)}. That calendar then sizes the plans of "
                     f"the account above{calls}: continue only if it is yours. The link works for one sign-in, "
                     f"within {STATE_LIFETIME.seconds // 60} minutes of when it was made."),
        button="Continue", post_url=url_for(".go_on", state=state)))
    cookie, value = _cookie(state)
    response.set_cookie(cookie, value, max_age=int(STATE_LIFETIME.total_seconds()), httponly=True, samesite="Lax",
                        secure=get_settings().base_url.startswith("https://"))
    return response


@bp.post(f"{CONFIRMATION_PATH}/<state>")
def go_on(state: str) -> ResponseReturnValue:
    """Continue: on to the provider's consent page, from the browser that opened the confirmation page."""
    try:
        with unit_of_work(service=True) as session:
            flow = pending_flow(session, state=state)
            _require_cookie(state)
    except OAuthStateError as refused:
        return _page("This link no longer works", _sentence(str(refused)), 400)
    except OtherBrowser as refused:
        return _page("Nothing was connected", _sentence(str(refused)), 400)
    if flow.provider not in service.offered(get_settings()):
        abort(404)
    return redirect(flow.sign_in, 303)


@bp.get("/oauth/<name>/callback")
def callback(name: str) -> ResponseReturnValue:
    kind = CALLBACKS.get(name)
    if kind is None or kind not in service.offered(get_settings()):
        abort(404)
    if request.args.get("error"):
        return _page("Nothing was connected", f"{service.NAMES[kind]} was not connected: access was not granted. "
                     "You can connect it again whenever you like.", 200)
    state = request.args.get("state", "")
    try:
        with unit_of_work(service=True) as session:  # the user's alone once the state names them (finish_flow)
            pending_flow(session, state=state)  # a link used, expired or unknown is said so before the browser
            _require_cookie(state)
            connection = service.oauth_complete(session, kind=kind, state=state,
                                                query=request.args.to_dict(), settings=get_settings())
            user_id = connection.user_id
            user = session.get_one(User, user_id)
            account, sized = account_of(user), after_connecting(session, user=user)
    except OAuthStateError as refused:
        return _page("This link no longer works", _sentence(str(refused)), 400)
    except NbmError as refused:
        return _page("Nothing was connected", _sentence(str(refused)), 400)
    redraw_slack_later(user_id)  # App Home shows the calendar's health, and offered to connect it
    return _page(f"{service.NAMES[kind]} is connected to the NextBestMove account of {account}",
                 f"{sized} You can close this page.", 200, tone="ok")


def _page(title: str, message: str, status: int, tone: str = "error") -> ResponseReturnValue:
    return render_template("email_pages/message.html", title=title, message=message, tone=tone), status


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def account_of(user: User) -> str:
    """The account as these pages name it: the name, and the email with all but the first letter of its
    local part hidden (the page's address may be opened by someone it was sent on to)."""
    local, at, domain = user.email.partition("@")
    masked = f"{local[:1]}•••{at}{domain}"
    return f"{user.name} ({masked})" if user.name.strip() else masked


def _cookie(state: str) -> tuple[str, str]:
    """The name and value of the cookie that binds a browser to the flow ``state``: only this server,
    holding ``SECRET_KEY``, can make them."""
    digest = hmac.new(get_settings().secret_key.encode(), f"calendar-sign-in:{state}".encode(),
                      hashlib.sha256).hexdigest()
    return f"nbm_sign_in_{digest[:16]}", digest[16:]


def _require_cookie(state: str) -> None:
    name, value = _cookie(state)
    if not hmac.compare_digest(request.cookies.get(name, ""), value):
        raise OtherBrowser(OTHER_BROWSER)
