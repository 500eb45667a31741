"""The Slack Web API client every part of the app uses.

It talks to ``SLACK_API_URL`` (Slack itself by default; tests and staging point it at another
server), retries a dropped connection once, and on HTTP 429 waits the ``Retry-After`` Slack asks
for, then tries once more (slack_sdk's RateLimitErrorRetryHandler).

It verifies Slack with the process's one TLS context (:func:`core.tls.client_context`), which
Bolt hands on to the client it makes for each request and to ``respond``: without it, each call
read the system's certificate store anew.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from core.config import Settings
from core.tls import client_context

TIMEOUT_SECONDS = 10


def web_client(settings: Settings, token: str | None = None) -> WebClient:
    return WebClient(
        token=token, base_url=settings.slack_api_url, timeout=TIMEOUT_SECONDS, ssl=client_context(),
        retry_handlers=[ConnectionErrorRetryHandler(), RateLimitErrorRetryHandler(max_retry_count=1)],
    )
