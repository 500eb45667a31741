"""``nbm chaos``: the morning pipeline on a fast clock with real servers and things breaking (bot/chaos)."""

from __future__ import annotations

import logging
import os
import signal
from types import FrameType

import click

from bot.chaos.options import DEFAULT_ADMIN_URL, ChaosOptions, FaultRates
from core.config import get_settings


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _admin_url() -> str:
    return os.environ.get("NBM_CHAOS_ADMIN_URL") or os.environ.get("NBM_TEST_ADMIN_URL") or DEFAULT_ADMIN_URL


@click.command("chaos")
@click.option("--days", type=click.IntRange(1, 366), default=30, show_default=True, help="Simulated days.")
@click.option("--users", type=click.IntRange(1, 100_000), default=1000, show_default=True, help="Users to create.")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Seeds the users, the faults and the presses (thread timing still varies between runs).")
@click.option("--workers", type=click.IntRange(1, 32), default=3, show_default=True,
              help="`nbm worker` processes to run (and kill).")
@click.option("--processes", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Worker processes per `nbm worker` (its --processes).")
@click.option("--step", "step_minutes", type=click.IntRange(1, 60), default=10, show_default=True,
              help="Simulated minutes between two ticks of the scheduler.")
@click.option("--press-share", type=click.FloatRange(0, 1), default=0.3, show_default=True,
              help="Share of the Slack plan DMs on which someone presses a button.")
@click.option("--drain-timeout", type=click.FloatRange(10, 7200), default=600, show_default=True,
              help="Real seconds the end may wait for what is owed to be delivered.")
@click.option("--admin-url", default=_admin_url, show_default="$NBM_CHAOS_ADMIN_URL, $NBM_TEST_ADMIN_URL or "
              + DEFAULT_ADMIN_URL, help="PostgreSQL URL that may create and drop a database and a role.")
@click.option("--patience", type=click.FloatRange(0, 60), default=2.0, show_default=True,
              help="Real seconds to wait before each tick for the previous tick's work to be done (the minute "
              "between two ticks of `nbm cron`); 0 ticks as fast as the queue allows.")
@click.option("--no-faults", is_flag=True, help="Break nothing: a baseline run.")
@click.option("--keep", is_flag=True, help="Keep the database and the run's folder of logs afterwards.")
def chaos_command(days: int, users: int, seed: int, workers: int, processes: int, step_minutes: int,
                  press_share: float, drain_timeout: float, admin_url: str, patience: float, no_faults: bool,
                  keep: bool) -> None:
    """Run the morning pipeline for USERS users through DAYS simulated days, on a throwaway database and
    a redis-server of its own, with real `nbm worker` and `nbm web` processes, while workers are killed,
    Redis restarts, PostgreSQL connections are cut, SMTP refuses (4xx, 5xx) and Slack answers 429 and 5xx.
    Prints what was owed, sent, duplicated and missed, and whether every press applied once; exits 1
    unless there is no duplicate, no missed delivery and every press applied exactly once.
    Needs the development dependencies (the SMTP sink is aiosmtpd) and redis-server on the PATH."""
    if get_settings().is_production:
        raise click.UsageError("refusing to run with NBM_ENV=production: the chaos run is for a development "
                               "or CI machine (it uses a throwaway database and Redis of its own)")
    from bot.chaos.run import run_chaos  # the harness loads only when it runs

    rates = FaultRates()
    options = ChaosOptions(days=days, users=users, seed=seed, workers=workers, processes=processes,
                           step_minutes=step_minutes, press_share=press_share, admin_url=admin_url,
                           drain_timeout=drain_timeout, keep=keep, patience=patience,
                           faults=rates.off() if no_faults else rates)
    logging.getLogger().setLevel(logging.ERROR)  # this process's ticks fail on purpose; the report says so
    # SIGTERM (CI's timeout) unwinds like Ctrl-C: the run's processes, Redis and database are cleaned up.
    signal.signal(signal.SIGTERM, _stop)
    report = run_chaos(options, say=click.echo)
    for line in report.lines():
        click.echo(line)
    raise SystemExit(0 if report.ok else 1)
