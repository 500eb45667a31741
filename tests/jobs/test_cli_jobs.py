"""`nbm morning` and `nbm worker --burst`: one tick by hand, then every queued job, as an operator runs them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from rq import Queue
from sqlalchemy.orm import Session

from bot.cli import main
from core.clock import utcnow
from tests.factories import make_lead, make_user


def test_morning_for_one_user_then_a_burst_worker_delivers_the_digest(
    service: Session, queue: Queue, outbox: Path
) -> None:
    """`nbm worker --burst` runs the jobs in its own process (warm, no work horse), so the test's
    transaction is visible to them."""
    ann, bob = make_user(service, timezone="Asia/Kolkata"), make_user(service, timezone="Asia/Kolkata")
    for user in (ann, bob):
        make_lead(service, user)
    ticked = CliRunner().invoke(main, ["morning", "--user", ann.email, "--now", "2026-11-25T03:00:00+00:00"])
    assert ticked.exit_code == 0, ticked.output
    assert "2026-11-25 03:00:00 UTC: 1 delivery due, 1 batch(es) enqueued" in ticked.output  # Ann's, not Bob's
    worked = CliRunner().invoke(main, ["worker", "--burst"])
    assert worked.exit_code == 0, worked.output
    recipients = {p.read_text().split("To: ", 1)[1].split("\n", 1)[0] for p in outbox.glob("*.eml")}
    assert len(recipients) == 1 and ann.email in recipients.pop()


@pytest.mark.parametrize(("value", "message"), [
    ("tomorrow", "is not a time; write it like 2026-11-25T07:30:00+00:00"),
    ("2026-11-25T07:30:00", "has no UTC offset"),
    ("0001-01-01T00:30:00+00:00", "use a date from 2000-01-01 to 2099-12-31"),
    ("9999-12-31T23:00:00+00:00", "use a date from 2000-01-01 to 2099-12-31"),
])
def test_morning_refuses_a_time_it_cannot_read(value: str, message: str, connection: object) -> None:
    result = CliRunner().invoke(main, ["morning", "--now", value])
    assert result.exit_code == 2 and message in result.output


def test_morning_refuses_a_time_in_the_future_and_enqueues_nothing(
    queue: Queue, outbox: Path, service: Session
) -> None:
    """Tomorrow's tick, run today, would send tomorrow's digest now and mark it delivered."""
    make_lead(service, make_user(service, timezone="Asia/Kolkata"))
    tomorrow = (utcnow() + timedelta(days=1)).isoformat()
    result = CliRunner().invoke(main, ["morning", "--now", tomorrow])
    assert result.exit_code == 2
    assert "is in the future" in result.output and "give the present or an earlier instant" in result.output
    assert queue.count == 0 and queue.scheduled_job_registry.count == 0


def test_morning_refuses_an_unknown_user(queue: Queue, outbox: Path, connection: object) -> None:
    result = CliRunner().invoke(main, ["morning", "--user", "nobody@example.com"])
    assert result.exit_code == 2 and "no user with the email" in result.output
