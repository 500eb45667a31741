"""The channel-neutral steps that change what today's plan holds, then refresh it, and when an
action counts as sent (one definition, read by the waiting list)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import ACTION_SENT_AT, Action, ActionState, CapacityLevel, Channel
from core.planner.replan import add_lead_and_replan, archive_lead_and_replan, set_capacity_and_replan
from core.planner.service import get_plan
from core.planner.view import plan_view_building_if_missing
from tests.factories import make_action, make_event, make_lead, make_user

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # a Wednesday


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def test_adding_a_lead_refreshes_todays_plan_to_take_it_in(service: Session) -> None:
    user = make_user(service)
    assert get_plan(service, user=user) is None
    lead, plan = add_lead_and_replan(service, user=user, name="Bea Stone", url="https://www.linkedin.com/in/bea",
                                     notes=None, channel=Channel.CLI)
    assert [item.lead_id for item in plan.items] == [lead.id]
    assert get_plan(service, user=user) is not None, "the plan it shows is the one saved"


def test_a_lead_status_change_before_todays_plan_is_built_builds_none(service: Session) -> None:
    """The morning builds it, sized by the calendar; the lead's status is read then."""
    user = make_user(service)
    lead = make_lead(service, user)
    make_action(service, user, lead, due_date=NOW.date())
    assert archive_lead_and_replan(service, user=user, lead_id=lead.id, channel=Channel.CLI).changed
    assert get_plan(service, user=user) is None


def test_setting_capacity_resizes_that_days_plan(service: Session) -> None:
    user = make_user(service)
    for n in range(6):
        make_action(service, user, make_lead(service, user), due_date=NOW.date(),
                    created_at=NOW - timedelta(hours=n + 1))
    assert len(plan_view_building_if_missing(service, user=user).items) == 5
    view = set_capacity_and_replan(service, user=user, level=CapacityLevel.LIGHT, channel=Channel.CLI)
    assert (view.capacity, len(view.items)) == (CapacityLevel.LIGHT, 3)


def test_an_action_counts_as_sent_when_its_last_standing_send_was_else_from_its_creation(service: Session) -> None:
    user = make_user(service)
    created = NOW - timedelta(days=3)
    logged = make_action(service, user, state=ActionState.SENT, created_at=created)
    make_event(service, logged, to_state=ActionState.SENT, from_state=ActionState.NEW, at=NOW - timedelta(days=1))
    unlogged = make_action(service, user, state=ActionState.SENT, created_at=created)
    unlogged.notes = "edited since"  # moves updated_at, never the send time
    service.flush()
    rows = service.execute(select(Action.id, ACTION_SENT_AT).where(Action.user_id == user.id))
    sent_at = {row.id: row[1] for row in rows}
    assert sent_at == {logged.id: NOW - timedelta(days=1), unlogged.id: created}
