"""One action per lead, the highest ranked, replies aside (PRODUCT.md, "The plan": "2. CALL_PREP for a
call today or tomorrow … 3. overdue FOLLOW_UP … At most one action per lead per plan"): neither the
lead's quicker follow-up, taken as the Fast Win, nor its pending reply may push its call's prep out,
and the morning's plan is the one a user gets on demand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from core.models import ActionOrigin, ActionType, LoggedCall, User
from core.planner.batch import plan_users
from core.planner.service import build_plan
from tests.factories import make_action, make_lead, make_user
from tests.test_cli_core import ok_json

MONDAY = datetime(2026, 11, 16, 14, 0, tzinfo=UTC)  # Mon 16 Nov, 09:00 in New York
NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)  # Wed 25 Nov, 09:00 in New York
TODAY, TOMORROW = date(2026, 11, 25), date(2026, 11, 26)
EMAIL = "ann@example.com"


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


@pytest.fixture()
def user(connection: Connection) -> str:
    ok_json("users", "add", EMAIL, "--name", "Ann Lee", "--tz", "America/New_York")
    return EMAIL


def add_lead(name: str) -> str:
    """The lead's outreach, due today, by its id."""
    lead: Any = ok_json("leads", "add", "--user", EMAIL, name, f"https://x.io/{name.split()[0].lower()}")
    actions: Any = ok_json("actions", "list", "--user", EMAIL)
    return str(next(a["id"] for a in actions if a["lead_id"] == lead["id"]))


def mark(action_id: str, how: str) -> None:
    ok_json("mark", "--user", EMAIL, action_id, how)


def todays_plan() -> set[str]:
    """What today's plan holds, built now (``nbm plan``)."""
    plan: Any = ok_json("plan", "--user", EMAIL)
    return {item["title"] for item in plan["items"]}


@pytest.mark.usefixtures("user")
def test_a_leads_overdue_follow_up_is_not_the_fast_win_in_place_of_its_call_prep(
    clock: time_machine.Traveller,
) -> None:
    """Bea's follow-up (5 minutes, the quickest) was the Fast Win, and Bea's prep for tomorrow's call
    (ranked above it) was left out though the plan had room: the prep is Bea's one action."""
    mark(add_lead("Bea Stone"), "sent")  # a follow-up due Thu 19 Nov: overdue by Wed 25
    add_lead("Carl Diaz")
    clock.move_to(NOW)
    ok_json("call", "--user", EMAIL, "Bea Stone", TOMORROW.isoformat())  # its prep is due today
    assert todays_plan() == {"Reach out to Carl Diaz", "Prepare for your call with Bea Stone on Thu 26 Nov"}


@pytest.mark.usefixtures("user")
def test_a_leads_pending_reply_leaves_room_for_its_call_prep(clock: time_machine.Traveller) -> None:
    """Replies aside: "Reply to Bea", still pending from yesterday, and the prep for Bea's call
    tomorrow share Bea's slot."""
    clock.move_to(NOW - timedelta(days=1))
    outreach = add_lead("Bea Stone")
    mark(outreach, "sent")
    mark(outreach, "replied")
    ok_json("call", "--user", EMAIL, "Bea Stone", TOMORROW.isoformat())  # its prep is due Wed 25
    clock.move_to(NOW)
    assert todays_plan() == {"Reply to Bea Stone", "Prepare for your call with Bea Stone on Thu 26 Nov"}


def test_the_morning_and_a_plan_on_demand_choose_alike(service: Session, clock: time_machine.Traveller) -> None:
    """The morning's batch and a plan built on demand share one choice (core.planner.ordering.choose)."""
    clock.move_to(NOW)
    morning, on_demand = (make_user(service, timezone="America/New_York") for _ in range(2))
    for owner in (morning, on_demand):
        book(service, owner)
    chosen = {
        "morning": plan_users(service, user_ids=[morning.id], at=NOW)[morning.id],
        "on demand": build_plan(service, user=on_demand),
    }
    shapes = {how: [(item.action.action_type, item.action.origin, item.is_fast_win) for item in plan.items]
              for how, plan in chosen.items()}
    assert shapes["morning"] == shapes["on demand"] == [
        (ActionType.FOLLOW_UP, ActionOrigin.REPLY, True), (ActionType.CALL_PREP, ActionOrigin.CALL, False),
        (ActionType.CALL_PREP, ActionOrigin.CALL, False), (ActionType.OUTREACH, ActionOrigin.LEAD_ADDED, False)]


def book(session: Session, owner: User) -> None:
    """A lead who replied and has a call tomorrow, one with an overdue follow-up and a call today,
    and a new lead: each lead's best action is its call's prep (and the reply), then the outreach."""
    made: dict[str, Any] = {"created_at": NOW - timedelta(days=9)}
    replied, overdue, fresh = (make_lead(session, owner, created_at=NOW - timedelta(days=20 - n)) for n in range(3))
    for lead, call_day in ((replied, TOMORROW), (overdue, TODAY)):
        call = LoggedCall(user_id=owner.id, lead_id=lead.id, call_date=call_day)
        session.add(call)
        session.flush()
        make_action(session, owner, lead, action_type=ActionType.CALL_PREP, origin=ActionOrigin.CALL,
                    logged_call_id=call.id, due_date=TODAY, **made)
    make_action(session, owner, replied, action_type=ActionType.FOLLOW_UP, origin=ActionOrigin.REPLY,
                due_date=TODAY, **made)
    make_action(session, owner, overdue, action_type=ActionType.FOLLOW_UP, origin=ActionOrigin.SENT,
                due_date=TODAY - timedelta(days=4), **made)
    make_action(session, owner, fresh, origin=ActionOrigin.LEAD_ADDED, due_date=TODAY, **made)
