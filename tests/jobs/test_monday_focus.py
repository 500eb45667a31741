"""Monday's plan carries the focus the summary delivered the same morning names: the tick queues each
batch of summaries before the plans of the same users, and a plan built before its week's summary
(on request, before the morning) takes the summary's focus when the summary is made, unless the user
set a focus of their own for the week."""

from __future__ import annotations

from datetime import UTC, date, datetime
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
from core.jobs import tasks
from core.jobs.schedule import Due
from core.jobs.tasks import enqueue_due
from core.jobs.tick import tick
from core.models import Channel, DailyPlan, DeliveryKind, User, WeeklySummary
from core.planner.service import set_focus
from tests.factories import make_lead, make_user
from tests.jobs.conftest import run_worker

#: Monday 23 Nov, 08:00 in London: past the 07:30 morning, and last week's summary is due.
MONDAY = datetime(2026, 11, 23, 8, tzinfo=UTC)
#: The same Monday at 06:00, before the morning.
EARLY = datetime(2026, 11, 23, 6, tzinfo=UTC)
WEEK = date(2026, 11, 16)  # last week
SHOW_UP = "Show up daily: one action every work day"  # last week had nothing done or sent


def _ann(service: Session) -> User:
    user = make_user(service, timezone="Europe/London", name="Ann", email="ann@example.com",
                     created_at=datetime(2026, 11, 1, tzinfo=UTC))
    make_lead(service, user, name="Bo Chen")
    service.flush()
    return user


def _monday_morning(queue: Queue) -> None:
    with time_machine.travel(MONDAY, tick=False):
        tick(at=MONDAY, queue=queue)
        run_worker(queue)


def _digest_text(outbox: Path) -> str:
    (digest,) = [message for message in (BytesParser(policy=policy.default).parsebytes(path.read_bytes())
                                         for path in outbox.glob("*.eml"))
                 if str(message["Subject"]).startswith("Your next best moves for Mon 23 Nov")]
    return str(digest.get_body(preferencelist=("plain",)).get_content())


def _focus_of(service: Session, user: User) -> tuple[str | None, str]:
    """Monday's plan's focus, and the focus last week's summary proposed."""
    plan = service.scalars(select(DailyPlan).where(DailyPlan.user_id == user.id)).one()
    summary = service.scalars(select(WeeklySummary).where(WeeklySummary.user_id == user.id)).one()
    service.refresh(plan)
    return plan.focus_statement, summary.next_week_focus


def test_mondays_plan_made_by_the_morning_has_the_focus_the_summary_names(
    service: Session, queue: Queue, outbox: Path
) -> None:
    ann = _ann(service)
    _monday_morning(queue)
    assert _focus_of(service, ann) == (SHOW_UP, SHOW_UP)
    assert f"This week's focus: {SHOW_UP}" in _digest_text(outbox)


def test_a_plan_built_before_the_summary_takes_its_focus_when_the_summary_is_made(
    service: Session, queue: Queue, outbox: Path
) -> None:
    ann = _ann(service)
    with time_machine.travel(EARLY, tick=False):
        early = CliRunner().invoke(main, ["plan", "--user", ann.email], catch_exceptions=False)
    assert early.exit_code == 0 and "Focus:" not in early.output  # no summary of last week yet
    _monday_morning(queue)
    assert _focus_of(service, ann) == (SHOW_UP, SHOW_UP)
    assert f"This week's focus: {SHOW_UP}" in _digest_text(outbox)


def test_a_focus_the_user_set_for_the_week_is_never_replaced_by_the_summarys(
    service: Session, queue: Queue, outbox: Path
) -> None:
    ann = _ann(service)
    with time_machine.travel(EARLY, tick=False):
        set_focus(service, user=ann, text="Close the Acme deal")
        assert CliRunner().invoke(main, ["plan", "--user", ann.email], catch_exceptions=False).exit_code == 0
    _monday_morning(queue)
    assert _focus_of(service, ann) == ("Close the Acme deal", SHOW_UP)
    assert "This week's focus: Close the Acme deal" in _digest_text(outbox)


def test_each_batch_of_summaries_is_queued_just_before_the_plans_of_the_same_users(
    service: Session, queue: Queue, outbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """So that no user's Monday plan waits for everyone's summary to be made and sent."""
    users = sorted((_ann(service), make_user(service, created_at=datetime(2026, 11, 1, tzinfo=UTC))),
                   key=lambda user: user.id)
    monkeypatch.setattr(tasks, "BATCH_SIZE", 1)  # one delivery a batch: the users' email, one by one
    due = [Due(kind, user.id, Channel.EMAIL, period) for user in users
           for kind, period in ((DeliveryKind.PLAN, date(2026, 11, 23)), (DeliveryKind.WEEKLY_SUMMARY, WEEK))]
    assert enqueue_due(due, at=MONDAY, queue=queue) == 4
    queued = [(job.args[0], job.args[2][0][0]) for job in queue.get_jobs()]
    assert queued == [(kind, str(user.id)) for user in users for kind in ("weekly_summary", "plan")]
