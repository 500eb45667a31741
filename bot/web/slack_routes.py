"""Slack's HTTP endpoints: events, commands and interactivity at ``/slack/events``; the OAuth
install at ``/slack/install`` and its redirect at ``/slack/oauth_redirect``.

The blueprint is always registered, so the routes exist whatever the configuration; with Slack
off, or without a signing secret (Socket Mode only), they answer 404 saying so: a request that
cannot be verified is never handled.

``/slack/events`` checks a request in this order, and Bolt sees only what passed every step:

1. its size: Flask refuses a body over ``MAX_CONTENT_LENGTH`` with 413 before reading it;
2. Slack's signature over the raw body, made in the last five minutes: anything else is 401,
   whatever the body holds, and the body is not logged, nor parsed beyond recognising Slack's
   certificate check (``ssl_check=1``), the one request Slack does not sign: it gets an empty 200
   and nothing else happens;
3. its shape: a JSON object (Events API) or a form (slash commands) whose ``payload``, when it
   has one (interactivity), is a JSON object, where the fields Bolt reads to route and authorize
   it have the types Slack gives them. A signed request of any other shape is 400.

The route parses the body itself and hands Bolt the result, so Bolt neither parses an unverified
body (its parser raises on some, which was a 500) nor misreads a valid one (it takes any form
whose text merely contains the word "payload" for an interaction, and loses the command).
"""

from __future__ import annotations

import binascii
import json
import logging
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from flask import Blueprint, Request, request
from flask.typing import ResponseReturnValue
from slack_bolt import App, BoltRequest
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_bolt.adapter.flask.handler import to_flask_response
from slack_sdk.signature import SignatureVerifier

from bot.slack.app import build_app, slack_enabled, uses_oauth
from core.config import Settings

log = logging.getLogger("nbm.slack")

NOT_CONFIGURED = "Slack is not configured on this server (SLACK_SIGNING_SECRET is not set)."
SINGLE_WORKSPACE = "This server runs for one Slack workspace; there is nothing to install."
UNSIGNED = "This endpoint answers only requests signed by Slack."

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
#: A Unix time in seconds has 10 digits until the year 2286; a longer header is not a timestamp.
TIMESTAMP_DIGITS = 12
#: Slack's forms have about a dozen fields.
FORM_FIELDS = 100
#: Where Bolt looks to route and authorize a request (``[]``: each item of a list), and the type Slack
#: sends there (or where our listeners look, as ``view.state``). Any of them may be absent or null,
#: except those in :data:`REQUIRED` and :data:`NOT_NULL`.
FIELD_TYPES: dict[str, type] = {
    **dict.fromkeys(("type", "team_id", "enterprise_id", "user_id", "channel_id", "command", "text",
                     "callback_id", "api_app_id", "trigger_id", "response_url"), str),
    **dict.fromkeys(("team", "enterprise", "user", "channel", "container", "message", "view", "event",
                     "view.state", "view.state.values"), dict),
    **dict.fromkeys(("actions", "authorizations"), list),
    **dict.fromkeys(("actions[]", "authorizations[]"), dict),
    **dict.fromkeys(("team.id", "enterprise.id", "user.id", "user.team_id", "channel.id", "view.id", "view.type",
                     "view.callback_id", "event.type", "actions[].action_id", "actions[].block_id",
                     "authorizations[].team_id", "authorizations[].user_id", "authorizations[].enterprise_id"), str),
}
#: Fields Bolt indexes without looking first, wherever their parent is present: Slack always sends them.
REQUIRED = ("view.type", "actions[].action_id")
#: Fields that may be absent but, when sent, are never null (Bolt reads ``body.get("event", {})``).
NOT_NULL = ("event",)
TYPE_NAMES: dict[type, str] = {str: "a string", dict: "an object", list: "a list"}


class MalformedRequest(Exception):
    """A signed request that is not shaped like anything Slack sends; the message says how."""


def slack_blueprint(settings: Settings) -> Blueprint:
    """The routes; the Bolt app is built now when Slack over HTTP is configured."""
    blueprint = Blueprint("slack", __name__)
    secret = settings.slack_signing_secret if slack_enabled(settings) else None
    app = build_app(settings) if secret else None
    handler = SlackRequestHandler(app) if app else None
    verifier = SignatureVerifier(secret) if secret else None
    oauth = app is not None and uses_oauth(settings)

    @blueprint.post("/slack/events")
    def events() -> ResponseReturnValue:
        if app is None or verifier is None:
            return NOT_CONFIGURED, 404
        return answer(app, verifier, request)

    def install_flow() -> ResponseReturnValue:
        """Bolt's OAuth pages: GET requests without a body, checked by Bolt's signed state."""
        if handler is None:
            return NOT_CONFIGURED, 404
        if not oauth:
            return SINGLE_WORKSPACE, 404
        return handler.handle(request)

    blueprint.add_url_rule("/slack/install", "install", install_flow)
    blueprint.add_url_rule("/slack/oauth_redirect", "oauth_redirect", install_flow)
    return blueprint


def answer(app: App, verifier: SignatureVerifier, incoming: Request) -> ResponseReturnValue:
    """Check ``incoming`` as the module docstring says, then let Bolt answer it."""
    raw = incoming.get_data()
    if is_ssl_check(raw, incoming.mimetype):
        return "", 200
    text = signed_text(verifier, raw, incoming)
    if text is None:
        log.info("refused a request to /slack/events without a valid Slack signature (%d bytes)", len(raw))
        return UNSIGNED, 401
    try:
        body = read_body(text, incoming.mimetype)
        check_shape(body)
        bolt_request = to_bolt(body, incoming)
    except MalformedRequest as error:
        log.warning("refused a signed but malformed request to /slack/events: %s", error)
        return f"Malformed request: {error}.", 400
    return to_flask_response(app.dispatch(bolt_request))


def is_ssl_check(raw: bytes, mimetype: str) -> bool:
    """Slack's certificate check: a short unsigned form of ``ssl_check=1`` and a token, nothing more."""
    if mimetype != FORM or len(raw) > 200:
        return False
    form = dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))
    return form.get("ssl_check") == "1" and set(form) <= {"ssl_check", "token"}


def signed_text(verifier: SignatureVerifier, raw: bytes, incoming: Request) -> str | None:
    """The body as text when Slack signed it in the last five minutes, else None.

    The headers are checked for shape first (the SDK raises on a timestamp that is not a number
    and on a signature that is not ASCII), and so is the body: Slack sends UTF-8, and the SDK signs
    text, so a body that is not UTF-8 cannot carry Slack's signature."""
    timestamp = incoming.headers.get("X-Slack-Request-Timestamp", "")
    signature = incoming.headers.get("X-Slack-Signature", "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= TIMESTAMP_DIGITS
            and signature.isascii()):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if verifier.is_valid(body=text, timestamp=timestamp, signature=signature) else None


def read_body(text: str, mimetype: str) -> dict[str, Any]:
    """What Slack sent: a JSON object, or a form whose ``payload`` field (if any) is a JSON object."""
    if mimetype == JSON:
        body = json_object(text, "the body")
    elif mimetype == FORM:
        try:
            form = form_fields(text)
        except ValueError as error:  # UnicodeDecodeError is one: a %-escape that is not UTF-8
            raise MalformedRequest(f"the form cannot be read ({error})") from None
        body = json_object(form["payload"], "its payload") if "payload" in form else form
    else:
        raise MalformedRequest(f"its content type is {mimetype or 'missing'}, not {JSON} or {FORM}")
    if not body:
        raise MalformedRequest("it is empty")
    return body


def form_fields(text: str) -> dict[str, str]:
    """A form's fields, as ``dict(parse_qsl(text, keep_blank_values=True, errors="strict",
    max_num_fields=FORM_FIELDS))`` reads them (the last of a repeated name wins): ValueError for too
    many fields, UnicodeDecodeError for an escape that is not UTF-8."""
    fields = text.split("&")
    if len(fields) > FORM_FIELDS:
        raise ValueError("Max number of fields exceeded")
    form: dict[str, str] = {}
    for field in fields:
        if field:
            name, _, value = field.partition("=")
            form[form_value(name)] = form_value(value)
    return form


#: A ``%`` that does not start an escape of two hex digits (kept as it is by ``unquote``).
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def form_value(value: str) -> str:
    """``urllib.parse.unquote_plus(value, errors="strict")``, decoded in C when it can be.

    An interaction's payload is several kilobytes of JSON in which every quote, brace and colon is
    an escape: ``unquote`` decodes them one by one in Python, which cost a press more than its
    database work. ``%XX`` is quoted-printable's ``=XX``, so a value of ASCII without ``=``, line
    breaks or a lone ``%`` is decoded by ``binascii.a2b_qp`` with the very same result; any other
    value goes through ``unquote_plus``."""
    if "%" not in value:
        return value.replace("+", " ")
    if value.isascii() and "=" not in value and "\n" not in value and "\r" not in value \
            and not _LONE_PERCENT.search(value):
        return binascii.a2b_qp(value.replace("+", " ").replace("%", "=")).decode("utf-8")
    return unquote_plus(value, errors="strict")


def check_shape(body: dict[str, Any]) -> None:
    """Refuse a body whose fields Bolt (or our listeners) would trip on: see :data:`FIELD_TYPES`,
    :data:`REQUIRED` and :data:`NOT_NULL`."""
    for path, expected in FIELD_TYPES.items():
        if any(value is not None and not isinstance(value, expected) for value in values_at(body, path)):
            raise MalformedRequest(f"its {path} is not {TYPE_NAMES[expected]}")
    for path in REQUIRED:
        if any(value is None for value in values_at(body, path)):
            raise MalformedRequest(f"it has no {path}")
    for key in NOT_NULL:
        if key in body and body[key] is None:
            raise MalformedRequest(f"its {key} is null")


def values_at(body: dict[str, Any], path: str) -> list[Any]:
    """The values at ``path`` (``a.b``, ``a[].b``) below each dictionary on the way (None where a
    dictionary lacks the key); nothing below a value that is not a dictionary or a list."""
    found: list[Any] = [body]
    for step in path.split("."):
        key, each = step.removesuffix("[]"), step.endswith("[]")
        found = [item.get(key) for item in found if isinstance(item, dict) and (key in item or not each)]
        if each:
            found = [item for items in found if isinstance(items, list) for item in items]
    return found


def json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedRequest(f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise MalformedRequest(f"{what} is JSON but not an object")
    return value


def to_bolt(body: dict[str, Any], incoming: Request) -> BoltRequest:
    """Bolt's request for a body already verified and parsed here.

    Bolt takes a parsed body only in what it calls Socket Mode, where its own signature check is
    skipped; that check was made above, over the raw body. Bolt reads who and where (team, user,
    channel…) from the body as it builds the request, and raises on a signed body whose fields
    have the wrong types."""
    query: dict[str, Sequence[str]] = dict(incoming.args.lists())
    try:
        return BoltRequest(body=body, query=query, headers=dict(incoming.headers), mode="socket_mode")
    except (AttributeError, TypeError, KeyError, IndexError, ValueError) as error:
        raise MalformedRequest(f"its fields are not shaped as Slack's ({type(error).__name__})") from None
