"""The hourly housekeeping and a call logged by hand, at once, both go through, and all that is due wakes.

A request that changes a lead's actions first locks the lead (core.actions.followups.lock_lead); a
call logged by hand (`nbm call`, core.planner.replan.log_call_and_replan) then refreshes today's
plan, whose build first wakes its user's due rows (core.housekeeping.wake_due). The hour's statement
wakes every user's due leads, locking them in the order of their ids. Ann's plan for Wednesday was
made ahead, on Tuesday (`nbm plan --date`), so on Wednesday morning her two leads snoozed until then
are due while the plan exists. She logged a call with the second of them by id: the call locked it;
the hour locked the first and waited for the second; the call's refresh then waited for the first,
and PostgreSQL aborted one of them: Ann's call failed, or the hour's housekeeping did.

The interleaving is made certain without sleeping: a third connection holds Ann's plan, which the
refresh locks before it wakes anything (core.planner.service), so the call waits there holding its
lead; the hour runs; the third connection lets go.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

import pytest
import time_machine
from click.testing import Result
from rq import Queue
from sqlalchemy import Engine, delete, select, text
from sqlalchemy.orm import Session

from core import db
from core.db import unit_of_work
from core.jobs import tasks
from core.models import ActionType, Lead, LeadStatus, User
from tests.cli import nbm
from tests.factories import make_action, make_lead, make_user
from tests.jobs.test_wake_deadlock import PATIENCE_SECONDS, started, waiting_on

#: Wed 25 Nov, 08:00 in London: the hour's tick, and Ann logging a call meanwhile.
HOUR = datetime(2026, 11, 25, 8, tzinfo=UTC)
WEDNESDAY, THURSDAY = date(2026, 11, 25), date(2026, 11, 26)


@dataclass(frozen=True)
class Ann:
    email: str
    user_id: uuid.UUID
    #: Her two leads' (id, name), in the order of their ids: the order the hour locks them in.
    leads: list[tuple[uuid.UUID, str]]


@pytest.fixture()
def ann(outbox: Path, queue: Queue) -> Iterator[Ann]:
    """Ann, committed, with two leads snoozed until Wednesday, each with an outreach due; her plan of
    Wednesday was made on Tuesday, while they slept (it is empty)."""
    email = f"ann-{uuid.uuid4().hex[:8]}@example.com"
    with time_machine.travel(datetime(2026, 11, 16, 9, tzinfo=UTC), tick=False), \
            unit_of_work(service=True) as session:
        user = make_user(session, name="Ann Lee", email=email)
        for name in ("Bea Stone", "Carl Diaz"):
            lead = make_lead(session, user, name=name, status=LeadStatus.SNOOZED, snooze_until=WEDNESDAY)
            make_action(session, user, lead, action_type=ActionType.OUTREACH, due_date=date(2026, 11, 16),
                        description=f"Reach out to {name}")
        session.flush()
        user_id = user.id
        leads = sorted(tuple(row) for row in session.execute(select(Lead.id, Lead.name).where(Lead.user_id == user_id)))
    with time_machine.travel(datetime(2026, 11, 24, 17, tzinfo=UTC), tick=False):
        made = nbm("plan", "--user", email, "--date", WEDNESDAY.isoformat(), "--json")
        assert made.exit_code == 0 and json.loads(made.output)["items"] == [], made.output
    yield Ann(email, user_id, leads)
    with unit_of_work(service=True) as session:
        session.execute(delete(User).where(User.id == user_id))


def test_the_hour_and_a_call_logged_meanwhile_both_succeed(ann: Ann, engine: Engine) -> None:
    (first, first_name), (second, second_name) = ann.leads
    results: dict[str, object] = {}
    job = partial(started, results=results)
    holder, watcher = Session(bind=engine), engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        db.set_context(holder, service=True)
        holder_pid = holder.execute(text("SELECT pg_backend_pid()")).scalar_one()
        holder.execute(text("SELECT id FROM daily_plans WHERE user_id = :u FOR UPDATE"), {"u": ann.user_id})
        with time_machine.travel(HOUR, tick=False):
            call = job("call", lambda: nbm("call", "--user", ann.email, str(second), THURSDAY.isoformat()))
            (call_pid,) = waiting_on(watcher, call.is_alive, on={holder_pid})  # the second lead locked
            hour = job("hour", lambda: tasks.housekeeping(HOUR.isoformat()))
            hour_waited = waiting_on(watcher, hour.is_alive, on={call_pid})
            holder.rollback()
            call.join(timeout=PATIENCE_SECONDS)
            hour.join(timeout=PATIENCE_SECONDS)
            shown = nbm("plan", "--user", ann.email, "--json")
    finally:
        holder.close()
        watcher.close()

    called = results["call"]
    assert not isinstance(results["hour"], Exception), results["hour"]
    assert isinstance(called, Result) and called.exit_code == 0, called
    assert hour_waited == set(), "the hour passes over the lead the call holds, rather than wait holding the first"

    with unit_of_work(service=True) as session:
        assert session.scalars(select(Lead.status).where(Lead.id.in_([first, second]))).all() == [LeadStatus.ACTIVE] * 2
    assert {item["title"] for item in json.loads(shown.output)["items"]} == {
        f"Reach out to {first_name}", f"Prepare for your call with {second_name} on Thu 26 Nov"}, shown.output
