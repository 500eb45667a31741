"""The Slack Web API client every part of the app uses.

It talks to ``SLACK_API_URL`` (Slack itself by default; tests and staging point it at another
server), retries a dropped connection once, and on HTTP 429 waits the ``Retry-After`` Slack asks
for, then tries once more (slack_sdk's RateLimitErrorRetryHandler).

**Connections are kept.** slack_sdk opens a connection for each call and closes it after: over TLS
that is a TCP and a TLS handshake before every press's ``chat.update`` and every DM, and urllib
read the system's certificate store for each (about 16 ms of CPU). :class:`KeptAliveWebClient`
sends its calls through the process's kept-alive connections, verified with its one TLS context
(:mod:`core.outbound`): a connection Slack closed while idle is replaced before the call is sent.

Bolt makes a plain ``WebClient`` for each request; :func:`keep_alive` (a middleware) puts ours in
its place. What a failure raises is what slack_sdk's own transport (``urllib``) raises, so its retry
handlers decide as before: a connection that could not be opened is retried once, a call that timed
out waiting for its answer is not (it may have been carried out).
"""

from __future__ import annotations

from collections.abc import Callable
from email.message import Message
from io import BytesIO
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.request import Request

import urllib3
from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from core.config import Settings
from core.outbound import client_context, pool

TIMEOUT_SECONDS = 10


def web_client(settings: Settings, token: str | None = None, team_id: str | None = None) -> WebClient:
    return KeptAliveWebClient(
        token=token, team_id=team_id, base_url=settings.slack_api_url, timeout=TIMEOUT_SECONDS,
        ssl=client_context(),
        retry_handlers=[ConnectionErrorRetryHandler(), RateLimitErrorRetryHandler(max_retry_count=1)],
    )


def keep_alive(settings: Settings) -> Callable[..., None]:
    """The Bolt middleware that gives each request's listeners a :class:`KeptAliveWebClient` with
    the token Bolt's authorization found, in place of the plain client Bolt made."""

    def middleware(context: BoltContext, next: Callable[[], None]) -> None:
        context["client"] = web_client(settings, token=context.token, team_id=context.team_id)
        next()

    return middleware


class KeptAliveWebClient(WebClient):
    """A ``WebClient`` whose calls go through the process's kept-alive connections (module docstring)."""

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        if self.proxy is not None or self.ssl is not client_context():  # a proxy, or a context of its own:
            return super()._perform_urllib_http_request_internal(url, req)  # urllib's, as slack_sdk does
        try:
            response = pool().urlopen(
                req.get_method(), url, body=req.data, headers=dict(req.header_items()), retries=False,
                redirect=False, timeout=urllib3.Timeout(connect=self.timeout, read=self.timeout))
        except urllib3.exceptions.ReadTimeoutError as failed:
            raise TimeoutError(str(failed)) from failed  # sent, and perhaps carried out: not retried
        except urllib3.exceptions.ProtocolError as failed:
            cause = failed.args[1] if len(failed.args) > 1 and isinstance(failed.args[1], OSError) else None
            raise (cause or URLError(failed)) from failed  # hung up on: urllib's RemoteDisconnected and kin
        except urllib3.exceptions.HTTPError as failed:
            raise URLError(failed) from failed  # no connection: nothing was sent
        headers = Message()
        for name, value in response.headers.items():
            headers[name] = value
        if response.status >= 400:
            raise HTTPError(url, response.status, response.reason or "", headers, BytesIO(response.data))
        if headers.get_content_type() == "application/gzip":
            return {"status": response.status, "headers": headers, "body": response.data}
        return {"status": response.status, "headers": headers,
                "body": response.data.decode(headers.get_content_charset() or "utf-8")}
