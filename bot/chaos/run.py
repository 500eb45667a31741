"""A chaos run from start to verdict.

The simulated window is the ``days`` days that end when the run starts, replayed on the fast clock:
the workers keep real time (each job carries the instant and the period it is for), and what they
build checks that a day is not in the future (``build_weekly_summary`` refuses a week that is not
over yet), so a simulated clock running ahead of the real one would make them refuse their work.

1. **Stack**: a throwaway database (created, migrated as its own non-superuser role), a
   redis-server of the run's own, the SMTP sink and the fake Slack, each on a free loopback port.
2. **Users** (:mod:`bot.chaos.population`), then ``nbm web`` and ``--workers`` x ``nbm worker``.
3. **The fast clock** ticks the scheduler through the window while the faults happen and people
   press buttons. RQ's maintenance runs every few seconds (:mod:`bot.chaos.upkeep`) instead of every
   ten minutes: a job a killed worker held, or a retry waiting for a scheduler, would otherwise sit
   for up to ten minutes more, days on this clock.
4. **Calm**: the last ``calm_fraction`` of the window runs without faults.
5. **Drain**: the clock stays at the window's end and ticks every :data:`DRAIN_TICK` seconds (as
   ``nbm cron`` keeps ticking), until everything owed at the end is sent or failed for good, no job
   is waiting in the queue, no worker is busy and every press has settled; or until
   ``drain_timeout``. Retries scheduled for later (RQ's back-off: 1, 5, 30 minutes) are not waited
   for: one still scheduled at the end belongs to a delivery no longer owed (what is owed at the
   end is waited for by itself), and accounting counts it as late, not missed.
6. **Verdict** (:mod:`bot.chaos.accounting`), then everything is stopped and dropped (the run's
   folder of logs is kept when the verdict is not clean, or with ``--keep``).
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from bot.chaos.accounting import account_deliveries, account_presses, fault_summary, load_world
from bot.chaos.clock import FastClock
from bot.chaos.database import ThrowawayDatabase
from bot.chaos.environment import product_env, use_here
from bot.chaos.fake_slack import FakeSlack
from bot.chaos.faults import FaultInjector, jobs_in_redis
from bot.chaos.options import ChaosOptions
from bot.chaos.population import seed_users
from bot.chaos.ports import free_port
from bot.chaos.presses import Presser
from bot.chaos.processes import WebProcess, WorkerFleet
from bot.chaos.redis_server import RedisServer
from bot.chaos.report import RunReport
from bot.chaos.rule import owed_items
from bot.chaos.smtp_sink import SmtpSink
from bot.chaos.upkeep import QUEUE, Idleness, Maintenance, busy_workers
from core.clock import utcnow
from core.db import unit_of_work
from core.queue import get_queue, get_redis

#: Real seconds between two ticks of the drain.
DRAIN_TICK = 2.0
#: Real seconds between two progress lines.
PROGRESS_EVERY = 30.0


def _settled_at_end(end: datetime) -> tuple[int, int]:
    """(owed at ``end`` and settled in the ledger, owed at ``end``), by the rule."""
    profiles, _, ledger = load_world()
    done = {row.key for row in ledger.values() if row.status in ("sent", "failed")}
    owed = [item.key for p in profiles for item in owed_items(p, start=end, end=end) if item.owed_at(end)]
    return sum(key in done for key in owed), len(owed)


def _sent_so_far() -> int:
    with unit_of_work(service=True) as session:
        return int(session.scalar(text("SELECT count(*) FROM deliveries WHERE status = 'sent'")) or 0)


def run_chaos(options: ChaosOptions, *, say: Callable[[str], None]) -> RunReport:
    began = time.monotonic()
    run_dir = Path(tempfile.mkdtemp(prefix="nbm-chaos-"))
    database = ThrowawayDatabase(options.admin_url)
    redis_server = RedisServer(port=free_port(), directory=run_dir / "redis")
    smtp = SmtpSink(rates=options.faults, seed=options.seed + 1)
    slack = FakeSlack(rates=options.faults, seed=options.seed + 2)
    web_port = free_port()
    # The window is the last ``days`` days, replayed: the workers run on real time, and some of what
    # they build refuses a day still to come (a weekly summary of a week not over yet).
    end = utcnow().replace(second=0, microsecond=0)
    start = end - timedelta(days=options.days)
    report = RunReport(options, start, end, run_dir=run_dir)
    with ExitStack() as cleanup:
        say(f"chaos: database {database.name}, Redis on port {redis_server.port}, logs in {run_dir}")
        database.create()
        cleanup.callback(lambda: None if options.keep else database.drop())
        cleanup.callback(database.dispose)
        redis_server.start()
        cleanup.callback(redis_server.kill)
        smtp.start()
        cleanup.callback(smtp.stop)
        slack.start()
        cleanup.callback(slack.stop)
        signing_secret = secrets.token_hex(16)
        env = product_env(database_url=database.url, redis_url=redis_server.url, smtp_port=smtp.port,
                          slack_api_url=slack.api_url, web_base=f"http://127.0.0.1:{web_port}",
                          signing_secret=signing_secret, data_dir=run_dir / "data")
        use_here(env, database=database.name)
        report.timings["setup"] = time.monotonic() - began

        phase = time.monotonic()
        seed_users(count=options.users, seed=options.seed, token=database.token, start=start)
        report.timings["users"] = time.monotonic() - phase

        phase = time.monotonic()
        web = WebProcess(port=web_port, env=env, log_dir=run_dir)
        fleet = WorkerFleet(count=options.workers, processes=options.processes, env=env, log_dir=run_dir)
        web.start()
        cleanup.callback(web.stop)
        fleet.start()
        cleanup.callback(fleet.stop)
        web.wait_ready()
        report.timings["processes"] = time.monotonic() - phase
        presser = Presser(slack=slack, web_base=web.base, signing_secret=signing_secret, share=options.press_share,
                          seed=options.seed + 3)
        presser.start()
        cleanup.callback(presser.close)

        clock = FastClock(start=start, end=end, step=timedelta(minutes=options.step_minutes),
                          backlog=options.backlog, patience=options.patience, queue=get_queue,
                          idle=Idleness(fleet))
        calm_at = start + (end - start) * (1 - options.faults.calm_fraction)
        injector = FaultInjector(rates=options.faults, seed=options.seed + 4, start=start, until=calm_at, fleet=fleet,
                                 redis_server=redis_server, database=database, redis=get_redis())
        maintenance = Maintenance()
        last_word = time.monotonic()

        def between(sim: datetime) -> None:
            nonlocal last_word
            if sim < calm_at:
                injector.step(sim)
            elif smtp.faulty.is_set():
                smtp.faulty.clear()
                slack.faulty.clear()
            fleet.ensure_running()
            web.ensure_running()
            maintenance.maybe()
            if time.monotonic() - last_word > PROGRESS_EVERY:
                last_word = time.monotonic()
                say(f"  {time.monotonic() - began:.0f} s: simulated {sim:%Y-%m-%d %H:%M} UTC (day "
                    f"{(sim - start) / timedelta(days=1):.1f} of {options.days}), {len(clock.ticks)} ticks, "
                    f"{len(injector.faults)} faults, {_safely(_sent_so_far)} sent, {len(presser.presses)} presses")

        phase = time.monotonic()
        clock.run(between)
        report.timings["clock"] = time.monotonic() - phase

        phase = time.monotonic()
        presser.stop_pressing()
        report.drained = _drain(clock, end, fleet, web, presser, maintenance, options.drain_timeout, say)
        report.timings["drain"] = time.monotonic() - phase
        presser.close()
        pending = jobs_in_redis(get_redis(), QUEUE)
        phase = time.monotonic()
        fleet.stop()
        web.stop()
        report.timings["stop"] = time.monotonic() - phase

        phase = time.monotonic()
        report.deliveries = account_deliveries(start=start, end=end, mail=smtp.snapshot(),
                                               slack=slack.posted_snapshot(), faults=injector.faults, pending=pending,
                                               t0=began)
        (run_dir / "faults.log").write_text("".join(
            f"{f.real - began:8.1f} s  simulated {f.sim:%Y-%m-%d %H:%M}  {f.kind.value}: {f.detail}"
            f"{f' ({len(f.keys)} deliveries carried)' if f.keys else ''}\n" for f in injector.faults))
        report.presses = account_presses(presser.presses)
        report.timings["accounting"] = time.monotonic() - phase
        report.faults = fault_summary(injector.faults)
        mail = smtp.snapshot()
        slack_faults = ", ".join(f"{n}x {kind}" for kind, n in slack.faults.items()) or "none"
        report.sink_faults = (f"SMTP {sum(e.code == 451 for e in mail)}x 451, {sum(e.code == 554 for e in mail)}x 554 "
                              f"of {len(mail)} transactions; Slack {slack_faults} of {sum(slack.calls.values())} calls")
        report.ticks, report.failed_ticks = len(clock.ticks), len(clock.failed)
        report.clock_split = (f"{clock.ticking:.0f} s ticking, {clock.waiting_backlog:.0f} s waiting for the backlog, "
                              f"{clock.waiting_idle:.0f} s for the previous tick's work")
        report.scheduler_gaps, report.scheduler_moved = maintenance.scheduler_gaps, maintenance.scheduler_moved
        report.unexpected_exits = fleet.unexpected_exits + web.unexpected_exits
    report.timings["total"] = time.monotonic() - began
    if report.ok and not options.keep:
        shutil.rmtree(run_dir, ignore_errors=True)
        report.run_dir = None
    return report


def _safely(read: Callable[[], int]) -> str:
    try:
        return str(read())
    except Exception:
        return "?"


def _drain(clock: FastClock, end: datetime, fleet: WorkerFleet, web: WebProcess, presser: Presser,
           maintenance: Maintenance, timeout: float, say: Callable[[str], None]) -> bool:
    """Tick at ``end`` until what is owed then is settled and the work is done; False on timeout."""
    deadline = time.monotonic() + timeout
    said = 0.0
    while time.monotonic() < deadline:
        clock.tick(end)
        fleet.ensure_running()
        web.ensure_running()
        maintenance.maybe()
        try:
            settled, owed = _settled_at_end(end)
            waiting, busy = get_queue(QUEUE).count, busy_workers(fleet)
        except Exception:  # a reconnect after the last fault: look again
            time.sleep(DRAIN_TICK)
            continue
        if settled == owed and waiting == 0 and busy == 0 and presser.settled():
            return True
        if time.monotonic() - said > PROGRESS_EVERY:
            said = time.monotonic()
            say(f"  draining: {settled}/{owed} owed at the end settled, {waiting} jobs waiting, {busy} busy, "
                f"presses {'settled' if presser.settled() else 'under way'}")
        time.sleep(DRAIN_TICK)
    return False
