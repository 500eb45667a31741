"""A whole morning through real RQ workers: tick → plan → compose → send, for N users due the same minute.

What is measured (**ours**): the scheduler's tick enqueues the due deliveries in batches; ``--workers``
warm worker processes (``bot.worker``, what ``nbm worker --processes`` runs) take the ``prepare`` jobs
(batch planning) and then the ``deliver_many`` jobs those enqueue (25 deliveries each), which for
each user claim its row in the deliveries ledger and hold it while composing the digest and
handing it to an SMTP server on loopback (``aiosmtpd``, a sink that accepts everything, in a
process of its own). The clock stops when the ledger says every
user's email was sent. Each worker's peak resident memory and every SQL statement the workers send
are counted.

**The floor**: the same work without the queue and without the ledger. As many processes as there
are workers each take a share of the same due users and, in one transaction of their own, plan
them in the same batches (``plan_users``), then build each digest (``plan_view_building_if_missing``, the same
rendering and the same message) and send it to the same sink over the same kind of kept SMTP
session; the transaction is rolled back at the end, so the plans are then built again for real by
ours. What the floor leaves out is exactly what makes a morning safe to run: the jobs and their
retries, and the ledger rows written before and after each send.

Targets: 10,000 users due the same minute are planned and delivered within two minutes (the rate
of the largest size measured, scaled to 10,000 users); ours moves at least half the floor's users
per second; memory is flat in the number of users (what a worker grew while working at the largest
size within 10% or 16 MiB of what it grew at the smallest, so measure two sizes, as the default
does).

**Memory.** Workers and floor processes are forked from this process, and a forked process's
resident memory counts every page it was forked with: the larger the run's seeding left this
process, the larger each child's peak (``VmHWM``), with no work done. So what is judged is what each
process grew while working: its peak minus its resident memory once ready (a worker once it has
warmed up and registered, a floor process as it starts). Both are printed.

Every user has a realistic book (``benchmarks.plan_batch``: 20 leads, about 40 actions), works every
day, has email on and Slack off, is due at the minute the run starts (their delivery time is set
to their own local time of that minute) and was already sent last week's summary. The hour's
housekeeping job runs before the clock starts, as it would have at the top of the hour. Each size
gets users of its own; the users of an earlier size are served already, so the tick does not find
them due again. Worker processes are started afresh for each size.

**Calendars** (``--calendars``): every user also has a private iCal address connected, served over
TLS on loopback by a feed that answers each read after ``--calendar-latency`` seconds (default 0.3:
a provider's round trips from a server; ``benchmarks.morning_rig.CalendarFeed``). The morning reads
each user's calendar before planning them, as it does in production, and so does the floor. A user
whose calendar is not read within ``CALENDAR_BUDGET`` is planned with the default capacity, so the
run also counts the plans sized by the calendar.

Run: ``python -m benchmarks.morning [--users 1000 10000] [--workers 4] [--no-floor] [--forking]
[--calendars] [--calendar-latency 0.3]`` (``--forking``: RQ's default worker, a fresh work horse per
job, as the workers ran before).
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import datetime
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from redis import Redis
from rq import Worker
from sqlalchemy import select, text
from sqlalchemy.orm import Session, joinedload

from benchmarks import morning_rig as rig
from benchmarks.harness import (
    BenchUsers,
    environment,
    open_database,
    throwaway_users,
)
from benchmarks.morning_seeding import seed
from bot.channels import register_all
from bot.email.backends import get_backend
from bot.email.delivery import digest_email_building_plan_if_missing
from bot.worker import WarmWorker, run_workers
from core.calendars.morning import free_minutes_for_users
from core.clock import utcnow
from core.config import get_settings
from core.db import get_engine, set_context, unit_of_work
from core.jobs import tasks
from core.jobs.schedule import Due, due_deliveries
from core.jobs.tick import tick
from core.models import Channel, DeliveryKind, User
from core.planner.batch import plan_users
from core.queue import QUEUE_NAMES, get_queue, get_redis

DEADLINE = 30 * 60  # seconds: a run that has not finished by then is reported as failed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure a whole morning through real RQ workers, beside its floor.")
    parser.add_argument("--users", type=int, nargs="+", default=[1000, 10_000], metavar="N",
                        help="sizes to measure, each with users of its own (default: 1000 10000)")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1),
                        help="worker processes, and floor processes (default: twice the cores)")
    parser.add_argument("--no-floor", action="store_true", help="measure ours only")
    parser.add_argument("--forking", action="store_true",
                        help="RQ's default forking worker instead of the warm one (how the morning ran before)")
    parser.add_argument("--calendars", action="store_true",
                        help="every user has a calendar (a private iCal address on loopback) read before planning")
    parser.add_argument("--calendar-latency", type=float, default=0.3, metavar="SECONDS",
                        help="how long each calendar read waits on the provider (default: 0.3)")
    args = parser.parse_args(argv)
    if any(n < 1 for n in args.users) or args.workers < 1:
        parser.error("--users and --workers take whole numbers of 1 or more")
    if args.calendar_latency < 0:
        parser.error("--calendar-latency takes seconds, 0 or more")
    sizes = sorted(set(args.users))

    logging.getLogger().setLevel(logging.WARNING)  # RQ's two lines per job would fill the terminal
    sink = rig.SmtpSink()
    rig.point_email_at(sink.port)
    folder = tempfile.mkdtemp(prefix="nbm-bench-morning-")
    feed = rig.CalendarFeed(folder, latency=args.calendar_latency) if args.calendars else None
    register_all()
    engine = open_database()
    print("\n".join(environment(engine)))
    redis = get_redis()
    rig.refuse_a_busy_queue(redis)
    counter = rig.count_statements_of_children(engine)
    kind = "RQ's forking Worker" if args.forking else "warm workers (bot.worker)"
    print(f"{args.workers} {kind}; floor: {args.workers} processes; SMTP sink on 127.0.0.1:{sink.port}")
    print(f"every user's calendar read from {feed.url}, {args.calendar_latency:.2f} s a read; CALENDAR_BUDGET "
          f"{get_settings().calendar_budget} s\n" if feed else "no calendars (--calendars reads one per user)\n")

    results: list[tuple[int, rig.Run, rig.Run | None]] = []
    try:
        with throwaway_users() as bench:
            for size in sizes:
                users = seed(bench, count=size)
                if feed is not None:
                    feed.connect(users)
                at = _due_now(bench)
                _due_to(users, at=at)  # nobody else's morning is in the way
                _run_housekeeping(at)
                floor = None if args.no_floor else measure_floor(users, at=at, processes=args.workers,
                                                                 counter=counter, sink=sink,
                                                                 calendars=feed is not None)
                ours = measure_ours(bench, users, at=at, workers=args.workers, forking=args.forking,
                                    counter=counter, sink=sink)
                if feed is not None:
                    ours.sized = rig.sized_by_calendar(users, at=at)
                results.append((size, ours, floor))
                rig.report_size(size, ours, floor)
    finally:
        sink.stop()
        if feed is not None:
            feed.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return rig.verdicts(results)



def _due_now(bench: BenchUsers) -> datetime:
    """This minute: the users not served yet get it as their delivery time, and last week's summary as sent."""
    at = utcnow().replace(second=0, microsecond=0)
    pattern = f"bench-{bench.token}-%"
    with unit_of_work(service=True) as session:
        session.execute(text("""
            UPDATE user_settings s SET delivery_time = (CAST(:at AS timestamptz) AT TIME ZONE u.timezone)::time
            FROM users u
            WHERE u.id = s.user_id AND u.email LIKE :pattern
              AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.user_id = u.id AND d.kind = 'plan'
                              AND d.period = (CAST(:at AS timestamptz) AT TIME ZONE u.timezone)::date)
        """), {"at": at, "pattern": pattern})
        session.execute(text("""
            INSERT INTO deliveries (id, user_id, kind, channel, period, status, attempts)
            SELECT gen_random_uuid(), u.id, 'weekly_summary', 'email',
                   date_trunc('week', CAST(:at AS timestamptz) AT TIME ZONE u.timezone)::date - 7, 'sent', 1
            FROM users u WHERE u.email LIKE :pattern
            ON CONFLICT DO NOTHING
        """), {"at": at, "pattern": pattern})
    return at


def _run_housekeeping(at: datetime) -> None:
    """The hour's housekeeping, run now under the id the tick would give it (so the tick finds it done)."""
    queue = get_queue()
    tasks.enqueue_once(queue, f"housekeeping-{at:%Y%m%d%H}", tasks.housekeeping, at.isoformat())
    worker = WarmWorker([queue], connection=queue.connection)
    worker.supervised = False
    worker.work(burst=True, logging_level="WARNING")


# Ours ---------------------------------------------------------------------------------------------

def measure_ours(bench: BenchUsers, users: list[uuid.UUID], *, at: datetime, workers: int, forking: bool,
                 counter: Synchronized, sink: rig.SmtpSink) -> rig.Run:
    """Start the workers, tick once, and wait until the ledger says every user's email was sent."""
    redis = get_redis()
    queues = [get_queue(name) for name in QUEUE_NAMES]
    counter.value = 0
    sink.received.value = 0
    supervisor = multiprocessing.get_context("fork").Process(
        target=_supervise, args=(workers, forking), name="bench-workers")
    supervisor.start()
    try:
        rig.wait_for(lambda: Worker.count(connection=redis) >= workers, what=f"{workers} workers to start", limit=120)
        ready = {w.pid: rig.status_bytes(w.pid, "VmRSS") for w in Worker.all(connection=redis) if w.pid}
        counter.value = 0
        engine = get_engine()
        sent_before, _, plans_before = _progress(bench)
        started = time.perf_counter()
        statements_before = rig.own_statements(engine)
        report = tick(at=at, queue=queues[0])
        tick_seconds = time.perf_counter() - started
        tick_statements = rig.own_statements(engine) - statements_before
        if report.due != len(users):
            print(f"note: the tick found {report.due} deliveries due for the {len(users)} users seeded")
        first_email = plans_built = None
        sent = failed = 0
        while time.perf_counter() - started < DEADLINE:
            time.sleep(0.25)
            sent, failed, plans = (value - before for value, before in
                                   zip(_progress(bench), (sent_before, 0, plans_before), strict=True))
            now = time.perf_counter() - started
            if first_email is None and sink.received.value:
                first_email = now
            if plans_built is None and plans >= len(users):
                plans_built = now
            if sent + failed >= len(users) and _queue_idle(redis):
                break
        seconds = time.perf_counter() - started
        peaks = {w.pid: rig.status_bytes(w.pid, "VmHWM") for w in Worker.all(connection=redis) if w.pid}
        grown = max((peak - ready[pid] for pid, peak in peaks.items() if pid in ready), default=0)
        return rig.Run(seconds=seconds, users=len(users), sent=sent, statements=counter.value,
                   peak_bytes=max(peaks.values(), default=0), grown_bytes=grown,
                   tick_seconds=tick_seconds, tick_statements=tick_statements, first_email=first_email,
                   plans_built=plans_built, failed=f"{failed} deliveries failed" if failed else
                   ("" if sent >= len(users) else f"only {sent} of {len(users)} sent after {DEADLINE} s"))
    finally:
        if supervisor.pid is not None:
            os.kill(supervisor.pid, signal.SIGTERM)
        supervisor.join(60)
        rig.wait_for(lambda: Worker.count(connection=redis) == 0, what="the workers to stop", limit=60)


def _supervise(workers: int, forking: bool) -> None:
    """The ``nbm worker --processes N`` supervisor (or RQ's own pool of forking workers)."""
    queues = [get_queue(name) for name in QUEUE_NAMES]
    if forking:
        from rq.worker_pool import WorkerPool

        WorkerPool(queues, connection=queues[0].connection, num_workers=workers, worker_class=Worker).start(
            logging_level="WARNING")
    else:
        run_workers(queues, processes=workers, burst=False)


def _progress(bench: BenchUsers) -> tuple[int, int, int]:
    """Plan emails sent and failed, and plans built, for this run's users (all sizes so far, history too)."""
    with unit_of_work(service=True) as session:
        row = session.execute(text("""
            SELECT count(*) FILTER (WHERE d.status = 'sent'), count(*) FILTER (WHERE d.status = 'failed'),
                   (SELECT count(*) FROM daily_plans p JOIN users v ON v.id = p.user_id WHERE v.email LIKE :pattern)
            FROM deliveries d JOIN users u ON u.id = d.user_id
            WHERE u.email LIKE :pattern AND d.kind = 'plan' AND d.channel = 'email'
        """), {"pattern": f"bench-{bench.token}-%"}).one()
    return int(row[0]), int(row[1]), int(row[2])


def _queue_idle(redis: Redis) -> bool:
    return all(get_queue(name).count == 0 for name in QUEUE_NAMES)


# The floor ----------------------------------------------------------------------------------------

def _due_to(users: list[uuid.UUID], *, at: datetime) -> list[Due]:
    """This run's plan deliveries due at ``at``; refused if anyone else's are due too (the workers would
    send theirs as well, and the run would measure them)."""
    mine = set(users)
    with unit_of_work(service=True) as session:
        everything = due_deliveries(session, at=at, channels=[Channel.EMAIL, Channel.SLACK])
    others = [d for d in everything if d.user_id not in mine]
    if others:
        raise SystemExit(f"{len(others)} deliveries of users other than this run's are due in this database: run "
                         "the benchmark on a database of its own, or remove them (benchmarks/README.md)")
    return [d for d in everything if d.kind == DeliveryKind.PLAN]


def measure_floor(users: list[uuid.UUID], *, at: datetime, processes: int, counter: Synchronized,
                  sink: rig.SmtpSink, calendars: bool) -> rig.Run:
    """The same plans and emails, computed and sent directly by ``processes`` processes, rolled back
    (with ``calendars``, each batch's calendars read first, as the morning does)."""
    due = _due_to(users, at=at)
    shares = [due[i::processes] for i in range(processes)]
    context = multiprocessing.get_context("fork")
    peaks = context.Array("q", processes)
    grown = context.Array("q", processes)
    sized = context.Value("q", 0)
    counter.value = 0
    sink.received.value = 0
    started = time.perf_counter()
    children = [context.Process(target=_floor_share, args=(i, [(d.user_id, d.period) for d in share], at, peaks,
                                                           grown, sized if calendars else None))
                for i, share in enumerate(shares)]
    for child in children:
        child.start()
    for child in children:
        child.join()
    seconds = time.perf_counter() - started
    failed = [child.exitcode for child in children if child.exitcode]
    return rig.Run(seconds=seconds, users=len(due), sent=sink.received.value, statements=counter.value,
               peak_bytes=max(peaks[i] for i in range(processes)), grown_bytes=max(grown[i] for i in range(processes)),
               sized=sized.value if calendars else None,
               failed=f"floor processes failed: {failed}" if failed else "")


def _floor_share(index: int, share: list[tuple[uuid.UUID, Any]], at: datetime, peaks: Any, grown: Any,
                 sized: Synchronized | None) -> None:
    """One floor process: plan its users in the morning's batches (their calendars read first when
    ``sized`` counts the plans they sized), then build and send each digest."""
    ready = rig.status_bytes(os.getpid(), "VmRSS")
    engine = get_engine()
    backend = get_backend()
    session = Session(bind=engine, expire_on_commit=False)
    session.begin()
    set_context(session, service=True)
    try:
        for start in range(0, len(share), tasks.BATCH_SIZE):
            batch = share[start:start + tasks.BATCH_SIZE]
            ids = [user_id for user_id, _ in batch]
            free = free_minutes_for_users(ids, at=at) if sized is not None else None
            plan_users(session, user_ids=ids, at=at, free_minutes=free)
            if sized is not None and free is not None:
                with sized.get_lock():
                    sized.value += sum(minutes is not None for minutes in free.values())
            people = {user.id: user for user in session.scalars(select(User).options(joinedload(User.settings)).where(
                User.id.in_([user_id for user_id, _ in batch])))}
            for user_id, period in batch:
                _, message = digest_email_building_plan_if_missing(session, user=people[user_id], day=period)
                backend.send(message)
    finally:
        session.rollback()
        session.close()
    peaks[index] = rig.status_bytes(os.getpid(), "VmHWM")
    grown[index] = peaks[index] - ready


if __name__ == "__main__":
    sys.exit(main())
