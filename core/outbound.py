"""Connections to other services (Slack, Google, Microsoft): one TLS context and one pool of
kept-alive connections per process.

* **The TLS context** (:func:`client_context`). Making one is cheap; reading the system's
  certificate store into it is not: about 16 ms of CPU with OpenSSL 3 (measured on a 2-core
  machine), several times a whole button press. Left to themselves, the libraries read it for every
  connection: urllib (slack_sdk's transport) builds a default context per HTTPS connection, and
  requests loads its bundle into each new connection's context. One context holds no connection's
  state, so it serves every thread. Made on first use, so that a command that never speaks TLS never
  pays for it; it reads ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` then, as OpenSSL does.
* **Kept-alive connections** (:func:`pool`; for requests, :func:`http_session`; for
  googleapiclient, :class:`Httplib2Over`). A new connection is a TCP and a TLS handshake (two
  round trips, and about a millisecond of CPU) before the request can leave.
  urllib3 keeps connections open between calls and checks one is still open before reusing it, so
  a connection the service closed while idle is replaced before anything is sent on it.

Both are the process's own: a process forked from another (RQ's work horse, ``nbm web``'s processes)
makes its own pool instead of writing to its parent's sockets, and so does a process whose context
was made anew (a test that trusts a certificate of its own).
"""

from __future__ import annotations

import os
import ssl
import threading
from functools import cache
from typing import Any

import httplib2  # type: ignore[import-untyped]
import requests
import urllib3
from requests.adapters import HTTPAdapter

#: Idle connections kept per host: one for each thread that may call a service at once (Bolt's
#: listener pool, a worker's sends); a busier moment opens more, and closes what it cannot keep.
KEPT_PER_HOST = 10

_pools: dict[tuple[int, ssl.SSLContext], tuple[urllib3.PoolManager, HTTPAdapter]] = {}
_pools_lock = threading.Lock()


@cache
def client_context() -> ssl.SSLContext:
    """The default client context (the system's certificate store, host names checked), shared."""
    return ssl.create_default_context()


def pool() -> urllib3.PoolManager:
    """This process's kept-alive connections, verified with :func:`client_context`."""
    return _own()[0]


def http_session() -> requests.Session:
    """A requests session whose HTTPS goes through this process's kept-alive connections and its TLS
    context (closing it leaves them open for the next session)."""
    session = requests.Session()
    session.mount("https://", _own()[1])
    return session


def _own() -> tuple[urllib3.PoolManager, HTTPAdapter]:
    key = (os.getpid(), client_context())
    own = _pools.get(key)
    if own is None:
        with _pools_lock:
            _pools.clear()  # a parent's, or an older context's: left to whoever holds them
            own = _pools[key] = (urllib3.PoolManager(num_pools=8, maxsize=KEPT_PER_HOST, block=False,
                                                     ssl_context=key[1]),
                                 _SharedAdapter(key[1]))
    return own


class _SharedAdapter(HTTPAdapter):
    """requests' adapter over connections shared by every session of the process, verified with
    ``context``: requests would otherwise load its certificate bundle into each new connection."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__(pool_connections=8, pool_maxsize=KEPT_PER_HOST)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block, ssl_context=self._context, **pool_kwargs)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        if verify is True:  # the context verifies, with the store it read once
            conn.cert_reqs = "CERT_REQUIRED"
            conn.ca_certs = conn.ca_cert_dir = None
            return
        super().cert_verify(conn, url, verify, cert)

    def close(self) -> None:
        """Left open: other sessions of the process use the same connections."""


class Httplib2Over:
    """httplib2's ``Http`` as googleapiclient calls it (``request``), over this process's kept-alive
    connections: each ``Http`` of its own made a connection per read, and loaded httplib2's
    certificate bundle into it. ``timeout``: seconds for the connection, and for the answer."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout

    def request(self, uri: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None,
                redirections: int = 5, connection_type: Any = None) -> tuple[httplib2.Response, bytes]:
        try:
            answer = pool().urlopen(method, uri, body=body, headers=headers or {}, retries=False,
                                    redirect=False, timeout=urllib3.Timeout(connect=self.timeout, read=self.timeout))
        except urllib3.exceptions.HTTPError as failed:
            raise OSError(f"{type(failed).__name__}: {failed}") from failed  # what httplib2's socket errors are
        response = httplib2.Response({**{name.lower(): value for name, value in answer.headers.items()},
                                      "status": str(answer.status)})
        response.reason = answer.reason or ""
        return response, answer.data
