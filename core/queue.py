"""Redis and the RQ queues that jobs are enqueued on (the worker process lives in bot/cli).

Every process that talks to Redis (web, worker, clock, CLI) gets its connection from
:func:`get_redis`; RQ's scheduler copies that connection's settings, TLS included.

Heroku's Redis add-ons hand out ``rediss://`` URLs whose certificate is self-signed: no authority
vouches for it, so a client that checks certificates refuses it. ``REDIS_TLS_VERIFY=false`` keeps TLS
(the traffic stays encrypted) and skips the check, as Heroku documents; app.json sets it. The check
is on by default so that a Redis with a real certificate gets the protection for free.
"""

from __future__ import annotations

import ssl
from functools import lru_cache
from urllib.parse import urlsplit

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue

from core.config import get_settings
from core.embedded import redis_url
from core.errors import ConfigError

#: What can wait until nothing a user is waiting for is left: the hourly call searches, one job
#: per user who has call detection on, each one or two round trips to a calendar provider. Enqueued
#: at the top of the hour behind nothing else, thousands of them would hold up any morning due in
#: that hour for as long as they took.
BACKGROUND = "background"
#: Queues a worker listens on, most urgent first: a worker takes a job from ``background`` only when
#: ``default`` (mornings, deliveries, redraws, summaries) is empty.
QUEUE_NAMES = ("default", BACKGROUND)


@lru_cache(maxsize=1)
def get_redis() -> Redis:
    """This process's Redis connection (REDIS_URL, or the embedded Redis)."""
    settings = get_settings()
    return connect_redis(redis_url(settings), verify_tls=settings.redis_tls_verify)


def connect_redis(url: str, *, verify_tls: bool) -> Redis:
    """A connection to ``url``; for ``rediss://``, the server's certificate is checked only if ``verify_tls``."""
    if urlsplit(url).scheme != "rediss":
        return Redis.from_url(url)
    connection = Redis.from_url(url, ssl_cert_reqs="required" if verify_tls else None)
    _check_certificate(connection, url)
    return connection


def _check_certificate(connection: Redis, url: str) -> None:
    """Shake hands once now, so that a refused certificate stops the process with a message naming the
    setting, instead of surfacing later as a network error inside a job. A server that cannot be
    reached now is no verdict on its certificate: the connection is returned all the same, and the
    process meets the outage as it does on ``redis://`` (``nbm worker`` waits for Redis, a tick of
    ``nbm cron`` fails and is logged) where it used to end in a traceback at start."""
    try:
        connection.ping()
    except RedisConnectionError as exc:
        parts = urlsplit(url)
        refused = certificate_refused(exc, host=parts.hostname, port=parts.port)
        if refused is not None:
            raise ConfigError(refused) from None


def certificate_refused(exc: RedisConnectionError, *, host: object, port: object) -> str | None:
    """What to say, naming the setting, when ``exc`` is the server at ``host``:``port`` presenting a
    certificate that cannot be verified; None when it is anything else (an outage)."""
    refused = exc.__context__
    if not isinstance(refused, ssl.SSLCertVerificationError):
        return None
    return (f"REDIS_URL: the server at {host}:{port} presented a certificate that cannot be verified "
            f"({refused.verify_message}). Heroku Redis's certificate is self-signed: set REDIS_TLS_VERIFY=false "
            "to keep TLS without checking the certificate, as Heroku documents")


def get_queue(name: str = "default") -> Queue:
    return Queue(name, connection=get_redis())
