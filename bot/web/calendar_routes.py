"""Where Google and Microsoft send the browser back after the user grants (or refuses) calendar access.

The browser is not logged in: the ``state`` it brings back says whose connection this is (single
use, ten minutes, for one provider: ``core.calendars.oauth_state``). The page says what happened in
plain words: connected, refused by the user, or a link that no longer works (start again from Slack,
the preferences page or ``nbm calendar connect``). Nothing secret is shown or logged.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue

from bot.web.redraw_slack import redraw_slack_later
from core.calendars import service
from core.calendars.oauth_state import OAuthStateError
from core.config import get_settings
from core.db import unit_of_work
from core.errors import NbmError
from core.models import CalendarProvider

log = logging.getLogger(__name__)

bp = Blueprint("calendar_oauth", __name__)

#: The callback path of each provider (its redirect URI is BASE_URL + this).
CALLBACKS = {"google": CalendarProvider.GOOGLE, "microsoft": CalendarProvider.OUTLOOK}


@bp.get("/oauth/<name>/callback")
def callback(name: str) -> ResponseReturnValue:
    kind = CALLBACKS.get(name)
    if kind is None or kind not in service.offered(get_settings()):
        abort(404)
    if request.args.get("error"):
        return _page("Nothing was connected", f"{service.NAMES[kind]} was not connected: access was not granted. "
                     "You can connect it again whenever you like.", 200)
    try:
        with unit_of_work(service=True) as session:  # the user's alone once the state names them (finish_flow)
            connection = service.oauth_complete(session, kind=kind, state=request.args.get("state", ""),
                                                query=request.args.to_dict(), settings=get_settings())
            user_id = connection.user_id
    except OAuthStateError as refused:
        return _page("This link no longer works", _sentence(str(refused)), 400)
    except NbmError as refused:
        return _page("Nothing was connected", _sentence(str(refused)), 400)
    redraw_slack_later(user_id)  # App Home shows the calendar's health, and offered to connect it
    return _page(f"{service.NAMES[kind]} is connected",
                 "From tomorrow morning, your plan is sized to the free time in your working hours. "
                 "You can close this page.", 200, tone="ok")


def _page(title: str, message: str, status: int, tone: str = "error") -> ResponseReturnValue:
    return render_template("email_pages/message.html", title=title, message=message, tone=tone), status


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
