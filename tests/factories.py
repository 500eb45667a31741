"""Factories for test data: small functions that add a valid row and flush, with overridable fields."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.actions.service import change_state
from core.clock import utcnow
from core.db import set_context, unit_of_work
from core.models import (
    Action,
    ActionEvent,
    ActionState,
    ActionType,
    BillingCustomer,
    BillingEvent,
    BillingSubscription,
    CalendarConnection,
    CalendarEventCall,
    CalendarProvider,
    CalendarSyncLog,
    CapacityLevel,
    CapacityOverride,
    Channel,
    ContentPrompt,
    ContentPromptType,
    DailyPlan,
    DailyPlanAction,
    Delivery,
    DeliveryKind,
    Lead,
    LoggedCall,
    OAuthFlowState,
    SlackEvent,
    SlackInstallation,
    SlackPlanMessage,
    SlackUserLink,
    SubscriptionStatus,
    User,
    UserSettings,
    WeeklySummary,
)

_seq = itertools.count(1)

#: Thu 1 Oct 2026: when a user joined whose summary of the week of 16 Nov (the one most tests summarise,
#: on a clock pinned to the week of 23 Nov) is built, with its history; a summary covers only weeks its
#: user lived.
JOINED = datetime(2026, 10, 1, 12, tzinfo=UTC)


def _add(session: Session, obj: Any) -> Any:
    session.add(obj)
    session.flush()
    return obj


def make_user(session: Session, **fields: Any) -> User:
    n = next(_seq)
    fields.setdefault("email", f"user{n}@example.com")
    fields.setdefault("name", f"User {n}")
    fields.setdefault("timezone", "Europe/London")
    user = _add(session, User(**fields))
    _add(session, UserSettings(user_id=user.id))
    return user


def joined(user: User, at: datetime) -> None:
    """``user``, made by a fixture, joined at ``at`` (``users.created_at``), as if they had come then."""
    with unit_of_work(service=True) as session:
        session.execute(update(User).where(User.id == user.id).values(created_at=at))


def make_user_in_context(session: Session, **fields: Any) -> User:
    """A user, with ``session`` switched to that user's context (as their own requests run)."""
    user = make_user(session, **fields)
    set_context(session, user_id=user.id)
    return user


def make_lead(session: Session, user: User, **fields: Any) -> Lead:
    n = next(_seq)
    fields.setdefault("name", f"Lead {n}")
    fields.setdefault("url", f"https://www.linkedin.com/in/lead-{n}")
    return _add(session, Lead(user_id=user.id, **fields))


def make_action(session: Session, user: User, lead: Lead | None = None, **fields: Any) -> Action:
    fields.setdefault("action_type", ActionType.OUTREACH)
    fields.setdefault("due_date", date.today())
    return _add(session, Action(user_id=user.id, person_id=lead.id if lead else None, **fields))


def make_plan(session: Session, user: User, actions: list[Action], **fields: Any) -> DailyPlan:
    fields.setdefault("date", date.today())
    plan = _add(session, DailyPlan(user_id=user.id, last_number=len(actions), **fields))
    for position, action in enumerate(actions):
        _add(session, DailyPlanAction(daily_plan_id=plan.id, action_id=action.id, position=position,
                                      number=position + 1, is_fast_win=position == 0))
    return plan


def make_calendar_connection(session: Session, user: User, **fields: Any) -> CalendarConnection:
    fields.setdefault("provider", CalendarProvider.GOOGLE)
    fields.setdefault("refresh_token", "1//refresh-token-value")
    fields.setdefault("calendar_id", "primary")
    return _add(session, CalendarConnection(user_id=user.id, **fields))


def make_subscription(session: Session, user: User, status: SubscriptionStatus, **fields: Any) -> BillingSubscription:
    """One more Stripe subscription of ``status`` for the user, under their Stripe customer (made on the
    first): with billing on, these decide service (core.access). Its period ends 20 days from now
    unless ``current_period_end`` says otherwise."""
    customer = session.scalars(select(BillingCustomer).where(BillingCustomer.user_id == user.id)).one_or_none()
    if customer is None:
        customer = _add(session, BillingCustomer(user_id=user.id, stripe_customer_id=f"cus_{user.id.hex}"))
    fields.setdefault("current_period_end", utcnow() + timedelta(days=20))
    return _add(session, BillingSubscription(
        billing_customer_id=customer.id, stripe_subscription_id=f"sub_{next(_seq)}_{user.id.hex}",
        stripe_price_id="price_monthly", status=status, **fields))


def make_everything(session: Session, user: User) -> dict[str, Any]:
    """One row in every table that belongs to ``user`` (for isolation tests)."""
    n = next(_seq)
    lead = make_lead(session, user)
    action = make_action(session, user, lead)
    rows: dict[str, Any] = {"users": user, "user_settings": user.settings, "leads": lead, "actions": action}
    rows["action_events"] = _add(session, ActionEvent(user_id=user.id, action_id=action.id, from_state=None,
                                                      to_state=ActionState.NEW, channel=Channel.CLI))
    rows["logged_calls"] = _add(session, LoggedCall(user_id=user.id, lead_id=lead.id, call_date=date.today()))
    rows["daily_plans"] = plan = make_plan(session, user, [action])
    rows["daily_plan_actions"] = plan.items[0]
    rows["weekly_summaries"] = summary = _add(session, WeeklySummary(
        user_id=user.id, week_start_date=date(2026, 11, 16), timezone=user.timezone, insight_text="i",
        next_week_focus="f"))
    rows["content_prompts"] = _add(session, ContentPrompt(
        user_id=user.id, weekly_summary_id=summary.id, type=ContentPromptType.WIN_POST, content="c"))
    rows["calendar_connections"] = conn = make_calendar_connection(session, user)
    rows["calendar_sync_logs"] = _add(session, CalendarSyncLog(
        calendar_connection_id=conn.id, operation="sync", status="success"))
    rows["calendar_event_calls"] = _add(session, CalendarEventCall(
        user_id=user.id, calendar_connection_id=conn.id, event_key="evt-1", logged_call_id=rows["logged_calls"].id))
    rows["oauth_flow_states"] = _add(session, OAuthFlowState(
        user_id=user.id, provider=CalendarProvider.OUTLOOK, state=f"state-{n}", payload="{}",
        expires_at=datetime(2030, 1, 1, tzinfo=UTC)))
    rows["billing_customers"] = customer = _add(session, BillingCustomer(
        user_id=user.id, stripe_customer_id=f"cus_{n}"))
    rows["billing_subscriptions"] = _add(session, BillingSubscription(
        billing_customer_id=customer.id, stripe_subscription_id=f"sub_{n}", stripe_price_id="price_1",
        current_period_end=datetime(2030, 1, 1, tzinfo=UTC)))
    rows["deliveries"] = _add(session, Delivery(
        user_id=user.id, kind=DeliveryKind.PLAN, channel=Channel.EMAIL, period=date.today()))
    rows["slack_user_links"] = _add(session, SlackUserLink(
        user_id=user.id, team_id="T1", slack_user_id=f"U{n}"))
    rows["slack_plan_messages"] = _add(session, SlackPlanMessage(
        user_id=user.id, day=date.today(), channel=f"DU{n}", ts="1700000000.000001"))
    rows["capacity_overrides"] = _add(session, CapacityOverride(
        user_id=user.id, day=date.today(), capacity=CapacityLevel.LIGHT))
    return rows


def make_system_rows(session: Session) -> dict[str, Any]:
    """Rows that belong to no user: only the service context may see them."""
    n = next(_seq)
    return {
        "billing_events": _add(session, BillingEvent(stripe_event_id=f"evt_{n}", type="invoice.paid",
                                                     payload={"id": f"evt_{n}"})),
        "slack_installations": _add(session, SlackInstallation(team_id=f"T{n}", bot_token="xoxb-secret")),
        "slack_events": _add(session, SlackEvent(team_id=f"T{n}", event_id=f"Ev{n}", event_type="app_home_opened")),
    }


def make_event(session: Session, action: Action, *, to_state: ActionState, at: datetime,
               from_state: ActionState | None = None, channel: Channel = Channel.SLACK) -> ActionEvent:
    """One row of an action's event log at the instant ``at`` (history a test needs in the past)."""
    return _add(session, ActionEvent(user_id=action.user_id, action_id=action.id, from_state=from_state,
                                     to_state=to_state, channel=channel, created_at=at))


#: Nine work days in a row (Monday to Friday), Thu 12 to Tue 24 Nov 2026: a 9-day streak on Tuesday
#: night, still one on Wednesday 25 until that day is over, and over on Thursday 26 if Wednesday had nothing.
NINE_WORK_DAYS = tuple(date(2026, 11, day) for day in (12, 13, 16, 17, 18, 19, 20, 23, 24))


def make_streak(user: User, days: Iterable[date]) -> None:
    """``user`` marked an action Done at 10:00 their time on each of ``days``, each in a unit of work of
    its own on a clock pinned then (the database's too), through the core as a press goes: the event
    log and the stored streak are what those days left behind, and nothing ran after them."""
    for day in days:
        at = datetime.combine(day, time(10), tzinfo=ZoneInfo(user.timezone))
        with time_machine.travel(at, tick=False), unit_of_work(user_id=user.id) as session:
            me = session.get_one(User, user.id)
            action = make_action(session, me, action_type=ActionType.FAST_WIN, due_date=day)
            change_state(session, user=me, action_id=action.id, to=ActionState.DONE, channel=Channel.CLI)


def make_call(session: Session, user: User, lead: Lead, at: datetime, **fields: Any) -> LoggedCall:
    """A call logged at the instant ``at`` (tz-aware), for the local date ``call_date`` (default: that day)."""
    fields.setdefault("call_date", at.date())
    return _add(session, LoggedCall(user_id=user.id, lead_id=lead.id, created_at=at, **fields))


def machine_now() -> datetime:
    """The machine's own clock, whatever the test pinned or shifted: what another process, or OpenSSL
    checking a certificate's validity, compares against."""
    hatch = time_machine.escape_hatch
    return hatch.datetime.datetime.now(UTC) if hatch.is_travelling() else datetime.now(UTC)


@contextmanager
def deleted_afterwards(user_id: uuid.UUID) -> Iterator[uuid.UUID]:
    """For a user committed for real (work in another thread or process must see it): removed with all
    their rows when the block ends, whatever the test did."""
    try:
        yield user_id
    finally:
        with unit_of_work(service=True) as session:
            session.execute(delete(User).where(User.id == user_id))
