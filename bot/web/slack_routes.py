"""Slack's HTTP endpoints: events, commands and interactivity at ``/slack/events``; the OAuth
install at ``/slack/install`` and its redirect at ``/slack/oauth_redirect``.

The blueprint is always registered, so the routes exist whatever the configuration; with Slack
off, or without a signing secret (Socket Mode only), they answer 404 saying so: a request that
cannot be verified is never handled. Bolt verifies every request's signature and timestamp and
answers 401 to an unsigned, badly signed or stale one.
"""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from slack_bolt.adapter.flask import SlackRequestHandler

from bot.slack.app import build_app, slack_enabled, uses_oauth
from core.config import Settings

NOT_CONFIGURED = "Slack is not configured on this server (SLACK_SIGNING_SECRET is not set)."
SINGLE_WORKSPACE = "This server runs for one Slack workspace; there is nothing to install."


def slack_blueprint(settings: Settings) -> Blueprint:
    """The routes; the Bolt app is built now when Slack over HTTP is configured."""
    blueprint = Blueprint("slack", __name__)
    http = slack_enabled(settings) and bool(settings.slack_signing_secret)
    handler = SlackRequestHandler(build_app(settings)) if http else None
    oauth = http and uses_oauth(settings)

    def handle(*, install: bool) -> ResponseReturnValue:
        if handler is None:
            return NOT_CONFIGURED, 404
        if install and not oauth:
            return SINGLE_WORKSPACE, 404
        return handler.handle(request)

    @blueprint.post("/slack/events")
    def events() -> ResponseReturnValue:
        return handle(install=False)

    @blueprint.get("/slack/install")
    def install() -> ResponseReturnValue:
        return handle(install=True)

    @blueprint.get("/slack/oauth_redirect")
    def oauth_redirect() -> ResponseReturnValue:
        return handle(install=True)

    return blueprint
