"""Redis and the RQ queues that jobs are enqueued on (the worker process lives in bot/cli)."""

from __future__ import annotations

from functools import lru_cache

from redis import Redis
from rq import Queue

from core.config import get_settings
from core.embedded import redis_url

#: Queues a worker listens on, most urgent first.
QUEUE_NAMES = ("default",)


@lru_cache(maxsize=1)
def get_redis() -> Redis:
    """This process's Redis connection (REDIS_URL, or the embedded Redis)."""
    return Redis.from_url(redis_url(get_settings()))


def get_queue(name: str = "default") -> Queue:
    return Queue(name, connection=get_redis())
