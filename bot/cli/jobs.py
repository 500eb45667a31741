"""``nbm morning``, ``nbm cron`` and ``nbm worker``: the processes that make the product run by itself."""

from __future__ import annotations

import signal
import time
from datetime import datetime
from types import FrameType

import click
from rq import Worker

from bot.cli.common import announce_engines
from core.clock import utcnow
from core.db import get_engine, unit_of_work
from core.jobs.tick import TickReport, tick
from core.queue import QUEUE_NAMES, get_queue
from core.users import get_user_by_email


class Instant(click.ParamType):
    """An ISO 8601 instant with its UTC offset."""

    name = "ISO_TIME"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a time; write it like 2026-11-25T07:30:00+00:00", param, ctx)
        if parsed.tzinfo is None:
            self.fail(f"{value!r} has no UTC offset; add one, e.g. 2026-11-25T07:30:00+00:00", param, ctx)
        return parsed


def _describe(report: TickReport) -> str:
    extra = ", housekeeping enqueued" if report.housekeeping_enqueued else ""
    due = f"{report.due} deliver{'y' if report.due == 1 else 'ies'} due"
    return f"{report.at:%Y-%m-%d %H:%M:%S %Z}: {due}, {report.batches_enqueued} batch(es) enqueued{extra}"


@click.command("morning")
@click.option("--user", "email", metavar="EMAIL", help="Only this user.")
@click.option("--now", "now", type=Instant(), help="Tick as if it were this instant (default: now).")
def morning_command(email: str | None, now: datetime | None) -> None:
    """Run one tick of the schedule by hand: enqueue what is due (run `nbm worker --burst` to send it)."""
    announce_engines()
    user_id = None
    if email:
        with unit_of_work(service=True) as session:
            user_id = get_user_by_email(session, email).id
    click.echo(_describe(tick(at=now, user_id=user_id)))


@click.command("cron")
@click.option("--interval", type=click.IntRange(5, 3600), default=60, show_default=True, help="Seconds between ticks.")
def cron_command(interval: int) -> None:
    """Tick every minute: enqueue each user's morning at their local delivery time, Monday summaries and
    hourly housekeeping. Run one (or more: a second one is harmless); stop with Ctrl-C or SIGTERM."""
    announce_engines()
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        click.echo(_describe(tick()))
        wake = time.monotonic() + interval - (utcnow().timestamp() % interval)
        while not stopping and time.monotonic() < wake:
            time.sleep(0.5)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run every queued job, then exit.")
def worker_command(burst: bool) -> None:
    """Run jobs from the queue, with RQ's scheduler for retries with back-off. Scale by running more."""
    announce_engines()
    get_engine()  # start an embedded PostgreSQL here, so it outlives each job's forked work horse
    queues = [get_queue(name) for name in QUEUE_NAMES]
    Worker(queues, connection=queues[0].connection).work(with_scheduler=True, burst=burst)
