"""The Slack Web API client every part of the app uses.

It talks to ``SLACK_API_URL`` (Slack itself by default; tests and staging point it at another
server), retries a dropped connection once, and on HTTP 429 waits the ``Retry-After`` Slack asks
for, then tries once more (slack_sdk's RateLimitErrorRetryHandler).

**Connections are kept.** slack_sdk opens a connection for each call and closes it after: over TLS
that is a TCP and a TLS handshake (two round trips to Slack, and about a millisecond of CPU) before
every press's ``chat.update`` and every DM. :class:`KeptAliveWebClient` sends its calls through one
pool of kept-alive connections per process (urllib3's, which checks that a kept connection is still
open before it reuses it: a connection Slack closed while idle is replaced, and the call is sent
once). They verify Slack with the process's one TLS context (:func:`core.tls.client_context`):
without it, each connection read the system's certificate store anew, about 16 ms of CPU.

Bolt makes a plain ``WebClient`` for each request; :func:`keep_alive` (a middleware) puts ours in
its place. What a failure raises is what slack_sdk's own transport (``urllib``) raises, so its retry
handlers decide as before: a connection that could not be opened is retried once, a call that timed
out waiting for its answer is not (it may have been carried out).
"""

from __future__ import annotations

import os
import ssl
import threading
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
from core.tls import client_context

TIMEOUT_SECONDS = 10
#: Idle connections kept per host: one for each thread that may call Slack at once (Bolt's listener
#: pool, a worker's sends); a busier moment opens more, and closes what it cannot keep.
KEPT_PER_HOST = 10

_pools: dict[tuple[int, ssl.SSLContext], urllib3.PoolManager] = {}
_pools_lock = threading.Lock()


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
        if self.proxy is not None:  # a proxy's tunnel is urllib's to make
            return super()._perform_urllib_http_request_internal(url, req)
        try:
            response = _pool().urlopen(
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


def _pool() -> urllib3.PoolManager:
    """This process's connections, verified with its TLS context. A process forked from another
    (RQ's work horse, ``nbm web``'s processes) never writes to its parent's sockets: it makes a pool
    of its own, and so does a process whose context was made anew (a test trusting a certificate)."""
    key = (os.getpid(), client_context())
    pool = _pools.get(key)
    if pool is None:
        with _pools_lock:
            _pools.clear()  # a parent's pool, if any, is the parent's to use
            pool = _pools[key] = urllib3.PoolManager(num_pools=4, maxsize=KEPT_PER_HOST, block=False,
                                                      ssl_context=key[1])
    return pool
