"""The morning run: many users planned with a fixed number of queries, and racing builders."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import Connection, Engine, event, func, select, text
from sqlalchemy.orm import Session

from core import db
from core.models import (
    ActionOrigin,
    ActionType,
    CapacityLevel,
    DailyPlan,
    DailyPlanAction,
    LoggedCall,
    User,
    WeeklySummary,
)
from core.planner.batch import plan_users
from core.planner.service import build_plan
from tests.factories import make_action, make_lead, make_plan, make_user

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
TODAY = date(2026, 11, 25)
ZONES = ["Europe/London", "Pacific/Kiritimati", "America/Los_Angeles", "Asia/Tokyo", "Europe/Paris"]


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def busy_user(session: Session, n: int) -> User:
    """A user with a bit of everything the planner reads: leads, a call, last week's summary."""
    user = make_user(session, timezone=ZONES[n % len(ZONES)])
    made = dict(created_at=NOW - timedelta(days=2), due_date=TODAY - timedelta(days=1))
    for kind in (ActionType.OUTREACH, ActionType.FOLLOW_UP, ActionType.NURTURE):
        make_action(session, user, make_lead(session, user), action_type=kind, **made)
    lead = make_lead(session, user)
    call = LoggedCall(user_id=user.id, lead_id=lead.id, call_date=TODAY + timedelta(days=1))
    session.add(call)
    session.flush()
    make_action(session, user, lead, action_type=ActionType.CALL_PREP, origin=ActionOrigin.CALL,
                logged_call_id=call.id, **made)
    session.add(WeeklySummary(user_id=user.id, week_start_date=date(2026, 11, 16), timezone=user.timezone,
                              insight_text="i",
                              next_week_focus=f"Focus {n}"))
    session.flush()
    return user


def test_the_batch_costs_the_same_queries_for_1_5_or_25_users(connection: Connection, service: Session) -> None:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    counts = {}
    for size in (1, 5, 25):
        users = [busy_user(service, n) for n in range(size)]
        statements.clear()
        event.listen(connection, "before_cursor_execute", count)
        try:
            plans = plan_users(service, user_ids=[u.id for u in users], at=NOW)
        finally:
            event.remove(connection, "before_cursor_execute", count)
        counts[size] = len(statements)
        assert set(plans) == {u.id for u in users}
        assert all(len(plan.items) == 4 and plan.focus_statement for plan in plans.values())
    assert counts[1] == counts[5] == counts[25] <= 10, counts  # 11 on a day a lead goes cold


def test_each_user_is_planned_for_their_own_local_date(service: Session) -> None:
    kiritimati = make_user(service, timezone="Pacific/Kiritimati")
    los_angeles = make_user(service, timezone="America/Los_Angeles")
    thursday = {user.id: make_action(service, user, make_lead(service, user), due_date=date(2026, 11, 26),
                                     created_at=NOW).id for user in (kiritimati, los_angeles)}
    plans = plan_users(service, user_ids=[kiritimati.id, los_angeles.id], at=NOW)
    assert (plans[kiritimati.id].date, plans[los_angeles.id].date) == (date(2026, 11, 26), date(2026, 11, 25))
    # Thursday's action is due for the user already in Thursday, not for the one still in Wednesday.
    assert [item.action_id for item in plans[kiritimati.id].items] == [thursday[kiritimati.id]]
    assert plans[los_angeles.id].items == []


def test_the_batch_never_overwrites_a_plan_and_applies_free_minutes(service: Session) -> None:
    planned_already, fresh = make_user(service), make_user(service)
    for user in (planned_already, fresh):
        for _ in range(4):
            make_action(service, user, make_lead(service, user), due_date=TODAY, created_at=NOW)
    existing = make_plan(service, planned_already, [], date=TODAY, free_minutes=500)
    plans = plan_users(service, user_ids=[planned_already.id, fresh.id, uuid.uuid4()], at=NOW,
                       free_minutes={planned_already.id: 30, fresh.id: 30})
    assert set(plans) == {planned_already.id, fresh.id}
    assert plans[planned_already.id].id == existing.id and plans[planned_already.id].items == []
    assert (plans[fresh.id].capacity, plans[fresh.id].free_minutes, len(plans[fresh.id].items)) == (
        CapacityLevel.MICRO, 30, 1)


def test_an_empty_batch_does_nothing(service: Session) -> None:
    assert plan_users(service, user_ids=[], at=NOW) == {}


def test_two_concurrent_builders_end_with_one_plan(engine: Engine) -> None:
    """Two transactions on two connections: B reads "no plan" while A's plan is not committed yet,
    waits on A's row at insert, and ends up returning A's plan instead of writing a second one."""
    with Session(bind=engine) as setup, setup.begin():
        db.set_context(setup, service=True)
        user = make_user(setup, timezone="Europe/London")
        for _ in range(3):
            make_action(setup, user, make_lead(setup, user), due_date=TODAY, created_at=NOW)
        user_id = user.id
    a, b, watcher = Session(bind=engine), Session(bind=engine), engine.connect()
    result: dict[str, Any] = {}
    try:
        db.set_context(a, user_id=user_id)
        plan_a_id = build_plan(a, user=a.get(User, user_id)).id
        db.set_context(b, user_id=user_id)
        b_pid = b.execute(text("SELECT pg_backend_pid()")).scalar()

        def second_builder() -> None:
            try:
                result["id"] = build_plan(b, user=b.get(User, user_id)).id
                b.commit()
            except Exception as error:  # reported by the assertions below
                result["error"] = error

        thread = threading.Thread(target=second_builder)
        thread.start()
        deadline = time.monotonic() + 20
        while not watcher.execute(text("SELECT cardinality(pg_blocking_pids(:pid))"), {"pid": b_pid}).scalar():
            assert thread.is_alive() and time.monotonic() < deadline, "B never waited on A's plan"
        a.commit()
        thread.join(timeout=20)
        assert "error" not in result, result.get("error")
        assert result["id"] == plan_a_id
        with Session(bind=engine) as check, check.begin():
            db.set_context(check, user_id=user_id)
            assert check.scalar(select(func.count()).select_from(DailyPlan)) == 1
            assert check.scalar(select(func.count()).select_from(DailyPlanAction)) == 3
    finally:
        a.close()
        b.close()
        watcher.close()
        with Session(bind=engine) as cleanup, cleanup.begin():
            db.set_context(cleanup, service=True)
            cleanup.execute(text("DELETE FROM users WHERE id = :id"), {"id": user_id})
