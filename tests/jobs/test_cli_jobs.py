"""`nbm morning` and `nbm worker --burst`: one tick by hand, then every queued job, as an operator runs them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner
from rq import Queue
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cli import main
from core.clock import utcnow
from core.models import Action, ActionType, User
from tests.factories import JOINED, NINE_WORK_DAYS, make_lead, make_streak, make_user
from tests.jobs.conftest import JOINED_THAT_DAY, run_worker


def test_morning_for_one_user_then_a_burst_worker_delivers_the_digest(
    service: Session, queue: Queue, outbox: Path
) -> None:
    """`nbm worker --burst` runs the jobs in its own process (warm, no work horse), so the test's
    transaction is visible to them."""
    ann, bob = (make_user(service, timezone="Asia/Kolkata", created_at=JOINED_THAT_DAY) for _ in range(2))
    for user in (ann, bob):
        make_lead(service, user)
    with time_machine.travel(datetime(2026, 11, 25, 3, 5, tzinfo=UTC), tick=False):  # a tick missed 5 min ago
        ticked = CliRunner().invoke(main, ["morning", "--user", ann.email, "--now", "2026-11-25T03:00:00+00:00"])
    assert ticked.exit_code == 0, ticked.output
    assert "2026-11-25 03:00:00 UTC: 1 delivery due, 1 batch enqueued" in ticked.output  # Ann's, not Bob's
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


#: Sun 29 Nov 2026, 16:00 UTC: the real now of the ticks by hand below.
SUNDAY = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)


def digests(outbox: Path) -> list[str]:
    """The subjects of the morning digests mailed, in order."""
    parse = BytesParser(policy=policy.default).parsebytes
    subjects = [str(parse(p.read_bytes())["Subject"]) for p in sorted(outbox.glob("*.eml"))]
    return [subject for subject in subjects if subject.startswith("Your next best moves")]


def test_morning_now_owes_nobody_a_morning_from_before_they_joined(
    queue: Queue, outbox: Path, connection: object
) -> None:
    """Ann (Paris) joined at 15:10 UTC on Sunday: a tick by hand of last Wednesday's 07:30 UTC (the
    README's own example; 08:30 in Paris, her morning due) finds nothing due for her: nothing is sent."""
    with time_machine.travel(SUNDAY - timedelta(minutes=50), tick=False):
        assert CliRunner().invoke(main, ["users", "add", "ann@example.com", "--name", "Ann Lee",
                                                 "--tz", "Europe/Paris"]).exit_code == 0
    with time_machine.travel(SUNDAY, tick=False):
        ticked = CliRunner().invoke(main, ["morning", "--user", "ann@example.com",
                                           "--now", "2026-11-25T07:30:00+00:00"])
        assert ticked.exit_code == 0, ticked.output
        assert "2026-11-25 07:30:00 UTC: 0 deliveries due, 0 batches enqueued\n" in ticked.output
        run_worker(queue)
    assert digests(outbox) == []


def test_morning_now_skips_a_morning_a_later_one_has_superseded_so_a_catch_up_is_one_morning(
    service: Session, queue: Queue, outbox: Path
) -> None:
    """Wednesday's morning was due at that instant, but Friday's has come due since: the tick by hand
    skips Wednesday's, saying so (last week's summary, still owed, goes), and the next tick sends
    Friday's: one morning, as after any outage."""
    user = make_user(service, email="demo@example.com", timezone="Europe/London", created_at=JOINED)
    make_lead(service, user)
    with time_machine.travel(SUNDAY, tick=False):
        ticked = CliRunner().invoke(main, ["morning", "--user", user.email, "--now", "2026-11-25T12:30:00+00:00"])
        assert ticked.exit_code == 0, ticked.output
        assert ("2026-11-25 12:30:00 UTC: 1 delivery due, 1 batch enqueued; 1 more due then but no longer "
                "owed now, skipped (a morning is owed until it is sent, fails for good or the next one comes due: "
                "`nbm morning` without --now enqueues what is owed now)") in ticked.output
        run_worker(queue)
        assert "1 delivery due" in CliRunner().invoke(main, ["morning", "--user", user.email]).output
        run_worker(queue)
    assert [subject[:36] for subject in digests(outbox)] == ["Your next best moves for Fri 27 Nov "]


def test_morning_now_in_the_past_leaves_streaks_and_actions_as_they_are_now(
    service: Session, queue: Queue, outbox: Path
) -> None:
    """Rule: housekeeping runs only as of the present. Cleo's nine-day streak stands on Wednesday
    noon, and a lead of hers has gone cold. A tick by hand of Monday 16 Nov for everyone enqueues no
    housekeeping (as of then it stored the streak of the 16th, and a NURTURE due that day) and says
    so; the present's tick enqueues it, and it keeps the streak and dates the NURTURE today."""
    cleo = make_user(service, email="cleo@example.com", created_at=JOINED)
    make_lead(service, cleo, created_at=JOINED)
    make_streak(cleo, NINE_WORK_DAYS)

    def streak() -> tuple[int, date | None]:
        row = service.execute(select(User.streak_count, User.last_action_date).where(User.id == cleo.id)).one()
        return row.streak_count, row.last_action_date

    def actions() -> list[tuple[ActionType, date]]:
        return sorted(service.execute(select(Action.action_type, Action.due_date).where(Action.user_id == cleo.id)))

    before = (streak(), actions())
    assert before[0] == (9, date(2026, 11, 24))
    with time_machine.travel(datetime(2026, 11, 25, 12, 0, tzinfo=UTC), tick=False):
        ticked = CliRunner().invoke(main, ["morning", "--now", "2026-11-16T12:00:00+00:00"])
        assert ticked.exit_code == 0, ticked.output
        assert ("no housekeeping enqueued: it runs only as of the present, never as of an earlier instant, which "
                "would store streaks as they stood then") in ticked.output
        assert "housekeeping enqueued," not in ticked.output
        run_worker(queue)
        assert (streak(), actions()) == before

        now = CliRunner().invoke(main, ["morning"])
        assert now.exit_code == 0 and "housekeeping enqueued" in now.output, now.output
        run_worker(queue)
    assert streak() == (9, date(2026, 11, 24))
    assert actions() == sorted([*before[1], (ActionType.NURTURE, date(2026, 11, 25))])
