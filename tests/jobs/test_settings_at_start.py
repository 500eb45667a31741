"""A number, a level, a pool size or a production sender no process could use is refused when the
process starts: one line naming the variable and what it accepts, exit code 2, and the queued work
left as it was (it used to run with no lease, every calendar unread, end in a traceback, or send every
email from the development sender)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from rq import Queue
from sqlalchemy.orm import Session

from bot.cli import main
from core import config
from tests.factories import make_lead, make_user
from tests.servers import free_port
from tests.test_production_settings import PROD

ROOT = Path(__file__).resolve().parent.parent.parent
SECONDS = "a number of seconds greater than 0, such as 10 or 2.5"
LEVELS = "one of DEBUG, INFO, WARNING, ERROR, CRITICAL"


@pytest.mark.parametrize(("name", "raw", "accepted"), [
    ("SEND_LEASE_SECONDS", "0", SECONDS), ("SEND_LEASE_SECONDS", "-5", SECONDS),
    ("CALENDAR_BUDGET", "0", SECONDS), ("CALENDAR_BUDGET", "soon", SECONDS),
    ("SMTP_TIMEOUT", "0", SECONDS),
    ("LOG_LEVEL", "verbose", LEVELS),
    ("DB_POOL_SIZE", "0", "a whole number of 1 or more"),
    ("WEB_THREADS", "-1", "a whole number of 1 or more"),
    ("PORT", "70000", "a whole number from 1 to 65535"),
])
def test_a_worker_refuses_to_start_and_leaves_the_queued_morning_untouched(
    service: Session, queue: Queue, outbox: Path, monkeypatch: pytest.MonkeyPatch, name: str, raw: str, accepted: str
) -> None:
    ann = make_user(service, timezone="Asia/Kolkata")
    make_lead(service, ann)
    ticked = CliRunner().invoke(main, ["morning", "--user", ann.email, "--now", "2026-11-25T03:00:00+00:00"])
    assert ticked.exit_code == 0, ticked.output
    queued = queue.count
    monkeypatch.setenv(name, raw)
    config.get_settings.cache_clear()
    worked = CliRunner().invoke(main, ["worker", "--burst"])
    assert (worked.exit_code, worked.stderr.splitlines()) == (2, [f"Error: {name} must be {accepted}; got {raw!r}"])
    assert (queue.count, list(outbox.glob("*.eml"))) == (queued, [])


def test_a_worker_in_production_without_email_from_refuses_to_start_and_sends_nothing(
    service: Session, queue: Queue, outbox: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    """Unset, EMAIL_FROM falls back to the development sender, plan@nextbestmove.localhost, a well-formed
    address: in production every email went from it. The worker now refuses, as for every other
    production setting left at its development value (the mail server here refuses at once, as one
    that is not there would)."""
    ann = make_user(service, timezone="Asia/Kolkata")
    make_lead(service, ann)
    ticked = CliRunner().invoke(main, ["morning", "--user", ann.email, "--now", "2026-11-25T03:00:00+00:00"])
    assert ticked.exit_code == 0, ticked.output
    queued = queue.count
    production = {**PROD, "DATABASE_URL": os.environ["DATABASE_URL"], "REDIS_URL": redis_url,
                  "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(free_port())}
    for name, value in production.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("EMAIL_FROM")
    config.get_settings.cache_clear()
    worked = CliRunner().invoke(main, ["worker", "--burst"])
    assert (worked.exit_code, worked.stderr.splitlines()) == (2, [
        "Error: refusing to start in production: EMAIL_FROM is not set (the development sender on .localhost would "
        "stand in): set it to an address on your own domain, such as 'NextBestMove <plan@yourdomain.com>'"])
    assert (queue.count, list(outbox.glob("*.eml"))) == (queued, [])


def test_a_process_started_with_an_unknown_log_level_says_so_in_one_line() -> None:
    """The real start of a process (the clock's): a level logging does not know was a traceback."""
    env = {**os.environ, "LOG_LEVEL": "verbose"}
    done = subprocess.run([sys.executable, "-m", "bot.cli", "cron"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert (done.returncode, done.stderr) == (2, f"Error: LOG_LEVEL must be {LEVELS}; got 'verbose'\n")
    assert done.stdout == ""


@pytest.mark.parametrize("level", ["debug", "Warning", "ERROR", "critical"])
def test_every_level_logging_knows_is_accepted_in_any_case(level: str) -> None:
    assert config.load_settings({"LOG_LEVEL": level}).log_level == level.upper()
