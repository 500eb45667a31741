"""``nbm worker``: an RQ worker, with the scheduler that RQ's retries with back-off need."""

from __future__ import annotations

import click
from rq import Worker

from bot.cli.common import announce_engines
from core.queue import QUEUE_NAMES, get_redis


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run every queued job, then exit.")
def worker_command(burst: bool) -> None:
    """Run jobs from the queues (scale by running more of these)."""
    announce_engines()
    worker = Worker(list(QUEUE_NAMES), connection=get_redis())
    worker.work(with_scheduler=True, burst=burst)
