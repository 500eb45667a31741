"""The Bolt app, built from the settings.

Modes (README, "Slack"):

* **off** — neither ``SLACK_SIGNING_SECRET`` nor ``SLACK_APP_TOKEN``: no Slack at all.
* **OAuth, many workspaces** — ``SLACK_CLIENT_ID`` and ``SLACK_CLIENT_SECRET``: workspaces install
  the app at ``/slack/install``; tokens live encrypted in ``slack_installations``. This mode wins
  when a bot token is set as well.
* **One workspace** — ``SLACK_BOT_TOKEN``: the app acts with that token everywhere.
* **Socket Mode** — ``SLACK_APP_TOKEN`` as well (``nbm slack socket``): Slack's requests come over a
  websocket instead of HTTP, for development behind a firewall.

Listeners acknowledge first; Bolt then answers Slack while the listener carries on in its thread
pool. Settings are passed explicitly: Bolt would otherwise read some of them from the environment
itself, and the settings must come from core.config alone.
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor, ThreadPoolExecutor

from slack_bolt import App
from slack_bolt.oauth.oauth_settings import OAuthSettings

from bot.slack import listeners
from bot.slack.client import keep_alive, web_client
from bot.slack.installation_store import DbInstallationStore
from bot.slack.oauth_state import EXPIRES_SECONDS, SignedStateStore
from bot.slack.tokens import DbAuthorize
from core.config import Settings
from core.errors import ConfigError

log = logging.getLogger("nbm.slack")

#: Must match bot/slack/manifest.yml.
BOT_SCOPES = ("chat:write", "commands", "im:history", "im:write", "users:read", "users:read.email")
LISTENER_THREADS = 8


def slack_enabled(settings: Settings) -> bool:
    return bool(settings.slack_signing_secret or settings.slack_app_token)


def uses_oauth(settings: Settings) -> bool:
    return bool(settings.slack_client_id and settings.slack_client_secret)


def new_listener_executor() -> Executor:
    """Where listeners run after their ack (the test suite runs them inline instead)."""
    return ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="nbm-slack")


def build_app(settings: Settings) -> App:
    """The Bolt app for ``settings``; a ConfigError says what is missing."""
    if not slack_enabled(settings):
        raise ConfigError("Slack is off: set SLACK_SIGNING_SECRET (HTTP) or SLACK_APP_TOKEN (Socket Mode)")
    oauth = uses_oauth(settings)
    if not oauth and not settings.slack_bot_token:
        raise ConfigError("Slack needs SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and "
                          "SLACK_CLIENT_SECRET (installs by OAuth)")
    store = DbInstallationStore() if oauth else None
    app = App(
        # One workspace: the client carries the bot token, checked on first use rather than at start.
        client=web_client(settings) if oauth else web_client(settings, token=settings.slack_bot_token),
        token_verification_enabled=False,
        signing_secret=settings.slack_signing_secret or "", logger=log,
        listener_executor=new_listener_executor(), process_before_response=False,
        installation_store=store,
        # Bolt takes an Authorize instance as it is (app.py checks isinstance), though its annotation
        # only names a callable that always returns a result; ours returns None to refuse a workspace.
        authorize=DbAuthorize(settings) if oauth else None,  # type: ignore[arg-type]
        oauth_settings=OAuthSettings(
            client_id=settings.slack_client_id, client_secret=settings.slack_client_secret,
            scopes=list(BOT_SCOPES), user_scopes=[], redirect_uri=f"{settings.base_url}/slack/oauth_redirect",
            installation_store=store, state_store=SignedStateStore(settings),
            state_expiration_seconds=EXPIRES_SECONDS, logger=log,
        ) if oauth else None,
    )
    app.use(keep_alive(settings))  # the listeners' client: kept-alive connections (bot.slack.client)
    listeners.register(app)
    return app
