"""The bot token to call Slack with, for a workspace: from the installation (rotated when due) or,
in single-workspace mode, from ``SLACK_BOT_TOKEN``.

Token rotation: with rotation on, a bot token lives 12 hours and its refresh token is single-use
(a second refresh with the same one fails with ``invalid_grant``). A token expiring within
:data:`ROTATE_BEFORE` is refreshed before use, under a row lock on the installation: a second
process that wanted to refresh the same workspace waits for the lock, then reads the fresh token
and leaves it alone. The new tokens are saved back, encrypted, in the same transaction.

Bolt authorizes every request before a listener runs. :class:`DbAuthorize` keeps what it read for
a workspace for :data:`REMEMBER_SECONDS` (never past the moment the token is due for rotation), so
a button press reads no installation and opens no unit of work of its own: the press's one unit of
work is its listener's. Installing, uninstalling or a revoked token in this process forgets what
was remembered at once (``installation_store.generation``); in another web process, within
:data:`REMEMBER_SECONDS`. A request from a workspace reaches us only while the app is installed
there, so what a stale entry can cost is bounded: after an uninstall and a reinstall within that
time, one process may call Slack with the revoked token (Slack refuses it) until the entry expires.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import Authorize
from slack_sdk.errors import SlackApiError

from bot.slack import installation_store
from bot.slack.client import web_client
from bot.slack.installation_store import find_row
from core.clock import utcnow
from core.config import Settings
from core.crypto import Secret
from core.db import unit_of_work
from core.errors import ConfigError
from core.models import SlackInstallation

log = logging.getLogger("nbm.slack.tokens")

ROTATE_BEFORE = timedelta(hours=2)
#: How long an authorization read from the database is used again without reading it afresh.
REMEMBER_SECONDS = 60.0


@dataclass(frozen=True)
class WorkspaceAuth:
    """What we may act with in one workspace. ``token`` never appears in a repr."""

    token: str = field(repr=False)
    enterprise_id: str | None
    team_id: str | None
    bot_id: str | None = None
    bot_user_id: str | None = None
    scopes: str | None = None
    #: When the token needs refreshing (None: it does not rotate).
    refresh_after: datetime | None = None


def workspace_auth(settings: Settings, *, enterprise_id: str | None, team_id: str | None,
                   is_enterprise_install: bool | None = False) -> WorkspaceAuth | None:
    """The workspace's bot credentials, refreshed first if they expire soon; None if not installed."""
    if not (settings.slack_client_id and settings.slack_client_secret):
        if settings.slack_bot_token is None:
            return None
        return WorkspaceAuth(token=settings.slack_bot_token, enterprise_id=enterprise_id, team_id=team_id)
    with unit_of_work(service=True) as session:
        row = find_row(session, enterprise_id=enterprise_id, team_id=team_id,
                       is_enterprise_install=is_enterprise_install)
        if row is not None and _due(row):
            row = find_row(session, enterprise_id=enterprise_id, team_id=team_id,
                           is_enterprise_install=is_enterprise_install, lock=True)
            if row is not None and _due(row):
                _rotate(settings, row)
        if row is None:
            return None
        return WorkspaceAuth(token=row.bot_token.reveal(), enterprise_id=row.enterprise_id, team_id=row.team_id,
                             bot_id=row.bot_id, bot_user_id=row.bot_user_id, scopes=row.bot_scopes,
                             refresh_after=_refresh_after(row))


def _due(row: SlackInstallation) -> bool:
    after = _refresh_after(row)
    return after is not None and after <= utcnow()


def _refresh_after(row: SlackInstallation) -> datetime | None:
    if row.bot_refresh_token is None or row.bot_token_expires_at is None:
        return None
    return row.bot_token_expires_at - ROTATE_BEFORE


def _rotate(settings: Settings, row: SlackInstallation) -> None:
    """Exchange the refresh token for a new pair and save both (the caller holds the row lock)."""
    assert row.bot_refresh_token is not None
    if not (settings.slack_client_id and settings.slack_client_secret):
        raise ConfigError("a rotating Slack bot token is refreshed with SLACK_CLIENT_ID and SLACK_CLIENT_SECRET; "
                          "set both")
    response = web_client(settings).oauth_v2_access(
        client_id=settings.slack_client_id, client_secret=settings.slack_client_secret,
        grant_type="refresh_token", refresh_token=row.bot_refresh_token.reveal(),
    )
    row.bot_token = Secret(response["access_token"])
    row.bot_refresh_token = Secret(response.get("refresh_token") or row.bot_refresh_token)
    row.bot_token_expires_at = utcnow() + timedelta(seconds=int(response["expires_in"]))
    log.info("rotated the bot token of Slack team %s", row.team_id)


class DbAuthorize(Authorize):
    """Bolt's authorize step over our installations: no ``auth.test`` round trip per request.

    A workspace we hold no installation for, or whose token cannot be refreshed, is refused;
    Bolt then tells the person to reinstall the app. What was found is remembered (module
    docstring); a refusal is not, so an install is seen at once.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._remembered: dict[tuple[str | None, str | None, bool], tuple[float, int, WorkspaceAuth]] = {}
        self._lock = threading.Lock()

    def __call__(self, *, context: Any, enterprise_id: str | None, team_id: str | None, user_id: str | None,
                 **_actor: Any) -> AuthorizeResult | None:
        key = (enterprise_id, team_id, bool(context.is_enterprise_install))
        try:
            auth = self._recall(key) or self._read(key)
        except SlackApiError as error:
            log.error("could not refresh the bot token of Slack team %s: %s", team_id,
                      (error.response.data or {}).get("error") if error.response is not None else error)
            return None
        if auth is None:
            log.warning("a request came from Slack team %s, where the app is not installed", team_id)
            return None
        return AuthorizeResult(enterprise_id=auth.enterprise_id, team_id=team_id, bot_id=auth.bot_id,
                               bot_user_id=auth.bot_user_id, bot_token=auth.token, bot_scopes=auth.scopes,
                               user_id=user_id)

    def _recall(self, key: tuple[str | None, str | None, bool]) -> WorkspaceAuth | None:
        with self._lock:
            entry = self._remembered.get(key)
        if entry is None:
            return None
        until, generation, auth = entry
        if (generation != installation_store.generation() or time.monotonic() >= until
                or (auth.refresh_after is not None and auth.refresh_after <= utcnow())):
            return None
        return auth

    def _read(self, key: tuple[str | None, str | None, bool]) -> WorkspaceAuth | None:
        generation = installation_store.generation()  # read first: a change made while reading makes the entry stale
        enterprise_id, team_id, is_enterprise_install = key
        auth = workspace_auth(self.settings, enterprise_id=enterprise_id, team_id=team_id,
                              is_enterprise_install=is_enterprise_install)
        if auth is not None:
            with self._lock:
                self._remembered[key] = (time.monotonic() + REMEMBER_SECONDS, generation, auth)
        return auth
