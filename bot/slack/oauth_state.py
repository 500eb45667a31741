"""The OAuth ``state`` of a Slack install: signed, short-lived, bound to the installer's browser.

Bolt's default state store writes files on the web server's disk, which breaks as soon as two web
processes run. Here the state is a random nonce signed with ``SECRET_KEY`` (itsdangerous, its own
salt) that expires after ten minutes, and Bolt also sets it in a cookie and requires the callback
to come from the browser holding that cookie. A forged or expired state, or one from another
browser, is refused before any code is exchanged; the code itself is single-use at Slack.
"""

from __future__ import annotations

import logging
import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer
from slack_sdk.oauth.state_store import OAuthStateStore

from core.config import Settings

EXPIRES_SECONDS = 600
_SALT = "nbm.slack.oauth-state"

log = logging.getLogger("nbm.slack.oauth")


class SignedStateStore(OAuthStateStore):
    def __init__(self, settings: Settings) -> None:
        self._serializer = URLSafeTimedSerializer(settings.secret_key, salt=_SALT)

    @property
    def logger(self) -> logging.Logger:
        return log

    def issue(self, *args: object, **kwargs: object) -> str:
        return self._serializer.dumps(secrets.token_urlsafe(16))

    def consume(self, state: str) -> bool:
        try:
            self._serializer.loads(state, max_age=EXPIRES_SECONDS)
        except BadSignature:  # includes SignatureExpired
            log.warning("refused a Slack install callback with a forged or expired state")
            return False
        return True
