"""The daily plan: capacity, one plan per local date, refresh, overrides, focus, and its view."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import db
from core.errors import ValidationError
from core.models import (
    ActionEvent,
    ActionOrigin,
    ActionState,
    ActionType,
    CapacityLevel,
    Channel,
    DailyPlan,
    Lead,
    LeadStatus,
    User,
    WeeklySummary,
)
from core.planner.capacity import ACTIONS_PER_LEVEL, level_for_free_minutes
from core.planner.service import build_plan, get_plan, set_capacity, set_focus
from core.planner.titles import action_title
from core.planner.view import plan_view, plan_view_building_if_missing, refreshed_plan_view
from tests.factories import make_action, make_lead, make_user

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)  # Wednesday; noon in London
TODAY = date(2026, 11, 25)


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def action(session: Session, user: User, lead: Lead | None = None, **fields: Any) -> Any:
    """An action created "now" (the pinned clock), due today unless told otherwise."""
    fields.setdefault("due_date", TODAY)
    fields.setdefault("created_at", NOW - timedelta(hours=1))
    return make_action(session, user, lead, **fields)


def outreach_leads(session: Session, user: User, count: int) -> list[Any]:
    """``count`` leads with an OUTREACH each; older leads first, as the plan ranks them."""
    actions = []
    for n in range(count):
        lead = make_lead(session, user, created_at=NOW - timedelta(days=count - n))
        actions.append(action(session, user, lead, origin=ActionOrigin.LEAD_ADDED))
    return actions


def planned(plan: DailyPlan) -> list[Any]:
    return [item.action_id for item in sorted(plan.items, key=lambda item: item.position)]


# --- capacity ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("minutes", "level"),
    [(None, CapacityLevel.DEFAULT), (0, CapacityLevel.MICRO), (59, CapacityLevel.MICRO),
     (60, CapacityLevel.LIGHT), (179, CapacityLevel.LIGHT), (180, CapacityLevel.STANDARD),
     (299, CapacityLevel.STANDARD), (300, CapacityLevel.HEAVY), (600, CapacityLevel.HEAVY)],
)
def test_capacity_bands_at_their_edges(minutes: int | None, level: CapacityLevel) -> None:
    assert level_for_free_minutes(minutes) is level


def test_each_level_holds_its_number_of_actions() -> None:
    assert {level.value: n for level, n in ACTIONS_PER_LEVEL.items()} == {
        "micro": 1, "light": 3, "standard": 5, "heavy": 8, "default": 5}


def test_negative_free_minutes_are_refused() -> None:
    with pytest.raises(ValidationError, match="cannot be negative"):
        level_for_free_minutes(-5)


# --- building ---------------------------------------------------------------------------------

def test_a_plan_is_built_once_per_local_date(service: Session) -> None:
    kiritimati = make_user(service, timezone="Pacific/Kiritimati")  # UTC+14: already Thursday
    los_angeles = make_user(service, timezone="America/Los_Angeles")  # UTC-8: still Wednesday 04:00
    for user in (kiritimati, los_angeles):
        action(service, user, make_lead(service, user))
    assert build_plan(service, user=kiritimati).date == date(2026, 11, 26)
    assert build_plan(service, user=los_angeles).date == date(2026, 11, 25)


def test_the_plan_holds_the_candidates_in_order_with_the_fast_win_first(service: Session) -> None:
    user = make_user(service)
    outreach = outreach_leads(service, user, 2)
    reply = action(service, user, make_lead(service, user), action_type=ActionType.FOLLOW_UP,
                   origin=ActionOrigin.REPLY, description="Reply to Ann")
    plan = build_plan(service, user=user, free_minutes=120)
    assert planned(plan) == [reply.id, outreach[0].id, outreach[1].id]
    assert [item.is_fast_win for item in plan.items] == [True, False, False]
    assert (plan.capacity, plan.free_minutes, plan.generated_at) == (CapacityLevel.LIGHT, 120, NOW)


def test_a_second_build_returns_the_same_plan_unchanged(service: Session) -> None:
    user = make_user(service)
    outreach_leads(service, user, 2)
    first = build_plan(service, user=user)
    before = planned(first)
    outreach_leads(service, user, 3)
    again = build_plan(service, user=user, free_minutes=10)
    assert again.id == first.id and planned(again) == before and again.free_minutes is None
    assert service.scalar(select(func.count()).select_from(DailyPlan).where(DailyPlan.user_id == user.id)) == 1


def test_a_day_with_nothing_due_gets_an_empty_plan(service: Session) -> None:
    user = make_user(service)
    action(service, user, make_lead(service, user), due_date=TODAY + timedelta(days=1))
    plan = build_plan(service, user=user)
    assert plan.items == [] and get_plan(service, user=user) is plan


def test_get_plan_does_not_build_one(service: Session) -> None:
    user = make_user(service)
    action(service, user, make_lead(service, user))
    assert get_plan(service, user=user) is None
    assert service.scalar(select(func.count()).select_from(DailyPlan).where(DailyPlan.user_id == user.id)) == 0


def test_snoozed_and_archived_leads_and_snoozed_actions_are_never_planned(service: Session) -> None:
    user = make_user(service)
    snoozed_lead = make_lead(service, user, status=LeadStatus.SNOOZED, snooze_until=TODAY + timedelta(days=2))
    archived_lead = make_lead(service, user, status=LeadStatus.ARCHIVED)
    action(service, user, snoozed_lead)
    action(service, user, archived_lead)
    action(service, user, make_lead(service, user), state=ActionState.SNOOZED, snooze_until=TODAY + timedelta(days=3))
    action(service, user, make_lead(service, user), state=ActionState.SENT)
    no_lead = action(service, user, None, action_type=ActionType.CONTENT)
    overdue = action(service, user, make_lead(service, user), action_type=ActionType.FOLLOW_UP,
                     due_date=TODAY - timedelta(days=1), created_at=NOW - timedelta(days=2))
    assert set(planned(build_plan(service, user=user))) == {no_lead.id, overdue.id}


def test_building_and_refreshing_work_in_the_users_own_context(service: Session) -> None:
    user = make_user(service)
    todo = outreach_leads(service, user, 1)
    with db.unit_of_work(user_id=user.id) as session:
        me = session.get(User, user.id)
        assert planned(build_plan(session, user=me)) == [todo[0].id]
        more = outreach_leads(session, me, 1)
        session.get(type(todo[0]), todo[0].id).state = ActionState.SNOOZED
        session.flush()
        view = refreshed_plan_view(session, user=me)
        assert [item.action_id for item in view.items] == [more[0].id]


# --- capacity override and focus --------------------------------------------------------------

def test_the_users_override_for_the_day_wins_over_the_calendar(service: Session) -> None:
    user = make_user(service)
    outreach_leads(service, user, 6)
    set_capacity(service, user=user, level=CapacityLevel.MICRO)
    plan = build_plan(service, user=user, free_minutes=400)
    assert (plan.capacity, plan.free_minutes, len(plan.items)) == (CapacityLevel.MICRO, 400, 1)


def test_an_override_for_another_day_does_not_apply(service: Session) -> None:
    user = make_user(service)
    outreach_leads(service, user, 6)
    set_capacity(service, user=user, level=CapacityLevel.MICRO, day=TODAY + timedelta(days=1))
    assert build_plan(service, user=user, free_minutes=400).capacity is CapacityLevel.HEAVY


def test_default_clears_the_override_and_a_bad_level_changes_nothing(service: Session) -> None:
    user = make_user(service)
    set_capacity(service, user=user, level=CapacityLevel.HEAVY)
    with pytest.raises(ValidationError, match="is not a capacity level; use one of: micro, light"):
        set_capacity(service, user=user, level="huge")  # type: ignore[arg-type]
    assert {day: o.capacity for day, o in user.capacity_overrides.items()} == {TODAY: CapacityLevel.HEAVY}
    set_capacity(service, user=user, level=CapacityLevel.DEFAULT)
    assert user.capacity_overrides == {}


def test_focus_comes_from_last_weeks_summary_unless_the_user_set_one(service: Session) -> None:
    user = make_user(service)
    service.add(WeeklySummary(user_id=user.id, week_start_date=date(2026, 11, 16), timezone=user.timezone,
                              insight_text="i",
                              next_week_focus="Close the two proposals"))
    service.add(WeeklySummary(user_id=user.id, week_start_date=date(2026, 11, 9), timezone=user.timezone,
                              insight_text="i",
                              next_week_focus="An older week's focus"))
    service.flush()
    user.settings.focus_text, user.settings.focus_week_start = "Last week's own focus", date(2026, 11, 16)
    assert build_plan(service, user=user).focus_statement == "Close the two proposals"
    set_focus(service, user=user, text="  Book three calls  ")
    assert user.settings.focus_week_start == date(2026, 11, 23)
    assert get_plan(service, user=user).focus_statement == "Book three calls"  # today's plan shows it at once
    assert build_plan(service, user=user, day=date(2026, 11, 29)).focus_statement == "Book three calls"
    assert build_plan(service, user=user, day=date(2026, 11, 30)).focus_statement is None


@pytest.mark.parametrize("text", ["", "   ", "x" * 281])
def test_a_focus_must_have_1_to_280_characters(service: Session, text: str) -> None:
    user = make_user(service)
    with pytest.raises(ValidationError, match="280"):
        set_focus(service, user=user, text=text)
    assert user.settings.focus_text is None


# --- refresh ----------------------------------------------------------------------------------

def test_refresh_keeps_what_is_done_drops_what_became_ineligible_and_refills(service: Session) -> None:
    user = make_user(service)
    todo = outreach_leads(service, user, 7)
    todo[0].action_type = ActionType.NURTURE  # 5 minutes: the one quick enough to be the Fast Win
    service.flush()
    plan = build_plan(service, user=user)
    assert planned(plan) == [a.id for a in todo[:5]]
    todo[0].state, todo[0].completed_at = ActionState.DONE, NOW  # the Fast Win, done
    todo[2].state, todo[2].snooze_until = ActionState.SNOOZED, TODAY + timedelta(days=1)
    service.get(Lead, todo[3].person_id).status = LeadStatus.ARCHIVED
    todo[4].state = ActionState.SENT
    service.flush()
    refreshed = build_plan(service, user=user, refresh=True)
    assert refreshed.id == plan.id
    assert planned(refreshed) == [todo[0].id, todo[1].id, todo[4].id, todo[5].id, todo[6].id]
    assert [item.position for item in refreshed.items] == [0, 1, 2, 3, 4]
    assert [item.is_fast_win for item in refreshed.items] == [True, False, False, False, False]


def test_refresh_after_lowering_capacity_drops_open_items_but_never_acted_ones(service: Session) -> None:
    user = make_user(service)
    todo = outreach_leads(service, user, 5)
    build_plan(service, user=user)
    todo[3].state = ActionState.SENT
    service.flush()
    set_capacity(service, user=user, level=CapacityLevel.LIGHT)
    plan = build_plan(service, user=user, refresh=True)
    assert planned(plan) == [todo[0].id, todo[1].id, todo[3].id]
    assert plan.capacity is CapacityLevel.LIGHT


def test_refresh_without_free_minutes_keeps_the_mornings(service: Session) -> None:
    user = make_user(service)
    outreach_leads(service, user, 4)
    build_plan(service, user=user, free_minutes=90)
    plan = build_plan(service, user=user, refresh=True)
    assert (plan.free_minutes, plan.capacity, len(plan.items)) == (90, CapacityLevel.LIGHT, 3)


def test_refresh_with_no_plan_yet_builds_one(service: Session) -> None:
    user = make_user(service)
    todo = outreach_leads(service, user, 1)
    assert planned(build_plan(service, user=user, refresh=True)) == [todo[0].id]


# --- the view ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("action_type", "lead", "description", "title"),
    [
        (ActionType.OUTREACH, "Ann Lee", None, "Reach out to Ann Lee"),
        (ActionType.FOLLOW_UP, "Ann Lee", "", "Follow up with Ann Lee"),
        (ActionType.NURTURE, "Ann Lee", None, "Check in with Ann Lee"),
        (ActionType.CALL_PREP, "Ann Lee", None, "Prepare for your call with Ann Lee"),
        (ActionType.POST_CALL, "Ann Lee", None, "Follow up after your call with Ann Lee"),
        (ActionType.CONTENT, None, None, "Write and post a short piece"),
        (ActionType.FAST_WIN, None, None, "Quick win"),
        (ActionType.OUTREACH, None, None, "Reach out to someone new"),
        (ActionType.FOLLOW_UP, "Ann Lee", " Reply to Ann Lee ", "Reply to Ann Lee"),
    ],
)
def test_action_titles(action_type: ActionType, lead: str | None, description: str | None, title: str) -> None:
    assert action_title(action_type, lead_name=lead, description=description) == title


def test_the_view_shows_items_minutes_states_waiting_and_streak(service: Session) -> None:
    user = make_user(service, streak_count=4, last_action_date=TODAY - timedelta(days=1),
                     timezone="America/Los_Angeles")
    ann = make_lead(service, user, name="Ann Lee", url="https://example.com/ann")
    first = action(service, user, ann, action_type=ActionType.FOLLOW_UP, origin=ActionOrigin.REPLY,
                   due_date=TODAY - timedelta(days=1), created_at=NOW - timedelta(days=1))
    post = action(service, user, None, action_type=ActionType.CONTENT, description="Post the case study")
    waiting = []
    for n in range(12):
        lead = make_lead(service, user, name=f"Waiting {n}")
        sent = action(service, user, lead, state=ActionState.SENT, created_at=NOW - timedelta(days=20))
        service.add(ActionEvent(user_id=user.id, action_id=sent.id, from_state=ActionState.NEW,
                                to_state=ActionState.SENT, channel=Channel.SLACK,
                                created_at=NOW - timedelta(days=12 - n, hours=11)))
        waiting.append(sent)
    service.flush()
    view = plan_view_building_if_missing(service, user=user)
    assert [(i.number, i.action_id, i.title, i.minutes, i.is_fast_win, i.lead_url) for i in view.items] == [
        (1, first.id, "Follow up with Ann Lee", 5, True, "https://example.com/ann"),
        (2, post.id, "Post the case study", 20, False, None),
    ]
    assert (view.date, view.streak, view.total_minutes, view.capacity) == (TODAY, 4, 25, CapacityLevel.DEFAULT)
    assert [w.action_id for w in view.waiting] == [a.id for a in waiting[:10]]
    assert view.waiting[0].sent_on == date(2026, 11, 12)  # 01:00 UTC on the 13th is the 12th in Los Angeles
    first.state = ActionState.DONE
    service.flush()
    again = plan_view(service, user=user, plan=get_plan(service, user=user))
    assert [i.state for i in again.items] == [ActionState.DONE, ActionState.NEW] and len(again.open_items) == 1
