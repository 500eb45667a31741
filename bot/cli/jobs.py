"""``nbm morning``, ``nbm cron`` and ``nbm worker``: the processes that make the product run by itself."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from types import FrameType

import click

from bot.cli.common import announce_engines, date_refused, start_serving
from bot.worker import WarmWorker, run_workers
from core.clock import utcnow
from core.db import get_engine, unit_of_work
from core.jobs.tick import TickReport, tick
from core.queue import QUEUE_NAMES, get_queue
from core.text import plural
from core.users import get_user_by_email

log = logging.getLogger("nbm.cron")

#: The class of ``nbm worker``'s workers (bot.worker).
Worker = WarmWorker


class Instant(click.ParamType):
    """An ISO 8601 instant with its UTC offset, on a date the product handles (bot.cli.common.FIRST_DATE)."""

    name = "ISO_TIME"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a time; write it like 2026-11-25T07:30:00+00:00", param, ctx)
        if parsed.tzinfo is None:
            self.fail(f"{value!r} has no UTC offset; add one, e.g. 2026-11-25T07:30:00+00:00", param, ctx)
        problem = date_refused(parsed.date(), value)
        if problem is not None:
            self.fail(problem, param, ctx)
        return parsed


#: What a tick by hand of an earlier instant, for everyone, says of the housekeeping it leaves out.
_NO_HOUSEKEEPING = ("; no housekeeping enqueued: it runs only as of the present, never as of an earlier instant, "
                    "which would store streaks as they stood then (`nbm morning` without --now enqueues this hour's "
                    "if it has not run)")


def _describe(report: TickReport) -> str:
    extra = ", housekeeping enqueued" if report.housekeeping_enqueued else ""
    due, batches = plural(report.due, "delivery", "deliveries"), plural(report.batches_enqueued, "batch", "batches")
    skipped = (f"; {report.skipped} more due then but no longer owed now, skipped (a morning is owed until it "
               "is sent, fails for good or the next one comes due: `nbm morning` without --now enqueues what is "
               "owed now)"
               if report.skipped else "")
    return f"{report.at:%Y-%m-%d %H:%M:%S %Z}: {due} due, {batches} enqueued{extra}{skipped}"


@click.command("morning")
@click.option("--user", "email", metavar="EMAIL", help="Only this user.")
@click.option("--now", "now", type=Instant(),
              help="Tick as if it were this instant, now or earlier (default: now): a missed tick's deliveries, by "
                   "hand (no housekeeping, which runs only as of now).")
def morning_command(email: str | None, now: datetime | None) -> None:
    """Run one tick of the schedule by hand: enqueue what is due (run `nbm worker --burst` to send it).

    What a tick enqueues is sent at once and recorded as that day's (or week's) delivery, so ``--now``
    enqueues only what was due at that instant *and* is still owed now, saying how many it skipped:
    a morning due then that a later one has superseded since (a catch-up is at most one morning),
    or one of a user who had not joined yet, is never sent. ``--now`` in the future is refused:
    tomorrow's digest would go today and the real morning would send nothing. ``--now`` enqueues no
    housekeeping, which runs only as of the present (core.jobs.tick), and says so."""
    if now is not None and now > utcnow():
        raise click.BadParameter(f"{now.isoformat()} is in the future; a tick sends what is due at that instant "
                                 "now and records it as delivered, so give the present or an earlier instant "
                                 "(a tick that was missed)", param_hint="--now")
    announce_engines()
    user_id = None
    if email:
        with unit_of_work(service=True) as session:
            user_id = get_user_by_email(session, email).id
    report = tick(at=now, user_id=user_id, still_owed_at=None if now is None else utcnow())
    click.echo(_describe(report) + ("" if now is None or user_id is not None else _NO_HOUSEKEEPING))


class _StopMidTick(KeyboardInterrupt):
    """SIGTERM or SIGINT while a tick runs: raised in the tick itself, which may be waiting on the
    database or Redis (a deployment's SIGTERM was otherwise ignored until that wait ended). A
    KeyboardInterrupt, so that nothing catching ``Exception`` swallows it and psycopg cancels a
    running query on it, within a few seconds. Stopping there is safe: a tick only enqueues under
    deterministic job ids, so the next tick (of this clock restarted, or another) enqueues the same
    work once."""


@contextmanager
def _raised_into(ticking: threading.Event) -> Iterator[None]:
    """Mark the block as one a stop signal interrupts (with :class:`_StopMidTick`), and only the block:
    a signal after it (printing the report, logging a failure) just ends the loop."""
    ticking.set()
    try:
        yield
    finally:
        ticking.clear()


@click.command("cron")
@click.option("--interval", type=click.IntRange(5, 3600), default=60, show_default=True, help="Seconds between ticks.")
def cron_command(interval: int) -> None:
    """Tick every minute: enqueue each user's morning at their local delivery time, Monday summaries and
    hourly housekeeping. Run one (or more: a second one is harmless); stop with Ctrl-C or SIGTERM.
    A tick that fails (the database or Redis unreachable, say) is logged and the next one runs as usual."""
    start_serving()
    stopping = threading.Event()
    ticking = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()
        if ticking.is_set():
            raise _StopMidTick

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stopping.is_set():
            started = utcnow()
            try:
                with _raised_into(ticking):
                    report = tick(at=started)
                click.echo(_describe(report))
            except _StopMidTick:
                log.warning("stopped during the tick of %s; the next tick enqueues what it left, nothing twice",
                            started.isoformat())
                return
            except Exception:
                log.exception("the tick of %s failed; the clock carries on with the next one", started.isoformat())
            _wait_for_next_tick(started, interval, stopping)
    finally:
        for signum, handler in previous.items():
            if handler is not None:  # None: set outside Python, and cannot be put back from here
                signal.signal(signum, handler)


def _wait_for_next_tick(started: datetime, interval: int, stopping: threading.Event) -> None:
    """Wait until the first multiple of ``interval`` seconds after ``started`` by the one clock
    (``core.clock``), or a stop. At once if a slow tick has already taken that long; a clock set back
    waits for the next multiple from the new time, never for the hour it went back."""
    wake = (started.timestamp() // interval + 1) * interval
    while not stopping.is_set():
        left = wake - utcnow().timestamp()
        if left <= 0:
            return
        if left > interval:  # the clock went back
            wake = (utcnow().timestamp() // interval + 1) * interval
            continue
        stopping.wait(min(left, 1.0))


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run every queued job, then exit.")
@click.option("--processes", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Warm worker processes to run (under one supervisor that replaces any that exits).")
def worker_command(burst: bool, processes: int) -> None:
    """Run jobs from the queue, warm (each job in a worker process that is already connected and has its
    templates compiled), with RQ's scheduler for retries with back-off. Scale with --processes and by
    running more workers (README: What runs where)."""
    start_serving()
    get_engine()  # start an embedded PostgreSQL (and Redis, below) here, in the supervisor: workers share them
    queues = [get_queue(name) for name in QUEUE_NAMES]
    run_workers(queues, processes=processes, burst=burst, worker_class=Worker)
