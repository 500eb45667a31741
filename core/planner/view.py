"""What a person sees of a plan: plain data, built once and rendered by the CLI, Slack and email.

Renderers take a :class:`PlanView` and nothing else, so Block Kit builders and email templates are
pure functions of it and easy to test. Each way in says whether it may write: :func:`day_plan_view`
only reads (a redraw), :func:`plan_view_building_if_missing` builds the day's plan when there is
none yet (the morning's delivery, opening App Home, ``nbm plan``), and :func:`refreshed_plan_view`
refreshes it (building it if need be). A plan built on demand for today is sized by the calendar
reading its caller made before the unit of work (:mod:`core.planner.sizing`).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import DateTime, Select, bindparam, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from core.actions.rules import EFFORT_MINUTES
from core.actions.undo import changed_today_by_a_person
from core.clock import local_now, local_today, zone
from core.models import (
    ACTION_LOG,
    ACTION_SENT_AT,
    Action,
    ActionEvent,
    ActionState,
    ActionType,
    CapacityLevel,
    DailyPlan,
    DailyPlanAction,
    Lead,
    User,
)
from core.planner.nothing_due import offers_a_lead
from core.planner.service import build_plan, get_plan
from core.planner.sizing import CalendarDay
from core.planner.titles import action_title, own_description, waiting_title
from core.streaks import current_streak
from core.text import greeting, one_line, plural
from core.users import get_settings_for
from core.workdays import DEFAULT_WORK_DAYS, is_work_day

#: How many waiting actions a plan lists: enough to jog the memory, short enough for a DM. The
#: view says how many there are in all, and every channel offers a way to see the rest.
MAX_WAITING = 10




@dataclass(frozen=True)
class PlanItem:
    """One action of the plan. Items come in display order (the Fast Win first); ``number`` is the
    item's own number in its plan, kept all day (``DailyPlanAction.number``), which every channel shows
    and ``/nbm done <n>`` reads: after an item joins, numbers may read out of order (1, 6, 2, 3)."""

    number: int
    action_id: uuid.UUID
    action_type: ActionType
    state: ActionState
    title: str
    lead_id: uuid.UUID | None
    lead_name: str | None
    lead_url: str | None
    is_fast_win: bool
    minutes: int
    due_date: date
    #: The action's own notes, else its lead's, on one line (``core.text.one_line``).
    note: str | None = None
    #: Archived by the system because the lead replied (their pending follow-ups are closed then).
    closed_by_reply: bool = False
    #: Settled by the user today: offered an Undo (``core.actions.undo``).
    undoable: bool = False

    @property
    def is_open(self) -> bool:
        """Still to act on today (NEW); sent, replied, done and snoozed items are settled for today."""
        return self.state == ActionState.NEW


@dataclass(frozen=True)
class WaitingItem:
    """A SENT action waiting for the lead's reply (listed so the user can mark it Replied)."""

    action_id: uuid.UUID
    title: str
    lead_name: str | None
    lead_url: str | None
    sent_on: date


@dataclass(frozen=True)
class PlanView:
    """A plan as shown. ``waiting`` lists at most :data:`MAX_WAITING` of the ``waiting_total``
    actions waiting for a reply, leaving out leads whose next step is open in this plan (the to-do
    is what to act on; it has its own Replied button)."""

    user_id: uuid.UUID
    user_name: str
    #: The user's own today when the view was read, whatever day the plan (``date``) is: what a
    #: control offers (a snooze's presets) and how far away a date is are read from it, and what a
    #: plan shown late (a catch-up digest, for the morning of an earlier day) says of "today".
    today: date
    date: date
    capacity: CapacityLevel
    free_minutes: int | None
    focus: str | None
    #: The streak as of the user's today (:func:`core.streaks.current_streak`), whatever day the plan is.
    streak: int
    items: tuple[PlanItem, ...]
    waiting: tuple[WaitingItem, ...]
    waiting_total: int = 0
    work_days: tuple[int, ...] = DEFAULT_WORK_DAYS
    #: Whether the streak already counts a completion on the user's today (``users.last_action_date``).
    streak_counts_today: bool = False
    #: ``waiting`` is what was waiting at the end of the plan's day, a past one (:func:`waiting_on_its_day`);
    #: else it is what is waiting now.
    waiting_then: bool = False
    #: The greeting for the hour on the user's clock when the view was made (:func:`core.text.greeting`).
    greeting: str = "Good morning"
    #: The plan is empty and the user has no active lead: it offers to add one (core.planner.nothing_due).
    offers_a_lead: bool = False

    @property
    def today_is_work_day(self) -> bool:
        """Whether the user's today (not the plan's day, when they differ) is one of their work days:
        the streak, as of today, asks for a completion on a work day only."""
        return is_work_day(self.today, self.work_days)

    @property
    def waiting_more(self) -> int:
        """How many waiting actions ``waiting`` does not list."""
        return max(self.waiting_total - len(self.waiting), 0)

    @property
    def total_minutes(self) -> int:
        return sum(item.minutes for item in self.items)

    @property
    def open_items(self) -> tuple[PlanItem, ...]:
        return tuple(item for item in self.items if item.is_open)

    def size(self, *, about: str = "~") -> str:
        """The plan's size as every channel states it (Slack's plan message and its notification,
        ``/nbm today``, the digest's subject and opening line, the today page, ``nbm plan``): what is
        left to do, and its estimated minutes, out of the whole plan once some of it is acted on.

        * ``5 actions, ~45 min``: nothing acted on yet;
        * ``3 of 5 actions left, ~25 min``: some acted on (sent, replied, done and snoozed items stay
          in the day's plan, settled);
        * ``all 5 actions acted on`` (``1 action, acted on``): nothing left;
        * ``nothing due``: an empty plan.

        Counting every item, settled ones included, would call a plan with one action left "5
        actions, ~45 min"; counting only what is left without the whole would not match the list
        beneath it, which shows every item. ``about`` is how the minutes are hedged ("about " in prose).
        """
        total, left = len(self.items), self.open_items
        if not total:
            return "nothing due"
        if not left:
            return f"all {plural(total, 'action')} acted on" if total > 1 else "1 action, acted on"
        minutes = f"{about}{sum(item.minutes for item in left)} min"
        if len(left) == total:
            return f"{plural(total, 'action')}, {minutes}"
        return f"{len(left)} of {plural(total, 'action')} left, {minutes}"


_DAY_START = cast(datetime, bindparam("day_start", type_=DateTime(timezone=True)))


def _plan_rows() -> Select[*tuple[Any, ...]]:
    """The items of plan ``:plan_id`` with what the view shows; Undo is offered for changes since ``:day_start``."""
    closed_by_reply = (
        select(ActionEvent.id)
        .where(ActionEvent.action_id == Action.id, ActionEvent.to_state == ActionState.ARCHIVED,
               ActionEvent.from_state.in_([ActionState.NEW, ActionState.SENT]))
        .exists()
    )
    return (
        select(DailyPlanAction.number, DailyPlanAction.is_fast_win, Action.id, Action.action_type, Action.state,
               Action.description, Action.due_date, Action.person_id, Action.notes, Lead.name, Lead.url,
               Lead.notes.label("lead_notes"), closed_by_reply.label("closed_by_reply"),
               changed_today_by_a_person(Action, since=_DAY_START).label("undoable"))
        .join(Action, Action.id == DailyPlanAction.action_id)
        .outerjoin(Lead, Lead.id == Action.person_id)
        .where(DailyPlanAction.daily_plan_id == bindparam("plan_id"))
        .order_by(DailyPlanAction.position)
    )


#: Built once: every channel shows a plan through it, and building the statement (and its cache key)
#: cost more than running it. The same goes for the waiting list's below.
_PLAN_ROWS = _plan_rows()


def plan_view(session: Session, *, user: User, plan: DailyPlan) -> PlanView:
    """``plan`` as the user sees it now: items in display order with their numbers and current state,
    and the actions waiting for a reply (oldest sent first, at most :data:`MAX_WAITING`, and their total)."""
    now = local_now(user.timezone)
    today = now.date()
    day_start = datetime.combine(today, time(0), tzinfo=zone(user.timezone))
    rows = session.execute(_PLAN_ROWS, {"plan_id": plan.id, "day_start": day_start})
    items = tuple(
        PlanItem(
            number=row.number, action_id=row.id, action_type=row.action_type, state=row.state,
            title=action_title(row.action_type, lead_name=row.name, description=row.description),
            lead_id=row.person_id, lead_name=row.name, lead_url=row.url, is_fast_win=row.is_fast_win,
            minutes=EFFORT_MINUTES[row.action_type], due_date=row.due_date,
            note=one_line(row.notes or row.lead_notes), closed_by_reply=row.closed_by_reply, undoable=row.undoable,
        )
        for row in rows
    )
    in_plan = [item.lead_id for item in items if item.is_open and item.lead_id is not None]
    waiting, waiting_total = _first_waiting(session, user=user, except_leads=in_plan)
    work_days = tuple(get_settings_for(session, user).work_days)
    return PlanView(
        user_id=user.id, user_name=user.name, date=plan.date, today=today, capacity=plan.capacity,
        free_minutes=plan.free_minutes, focus=plan.focus_statement,
        streak=current_streak(user, work_days=work_days, today=today),
        streak_counts_today=user.last_action_date == today,
        items=items, waiting=waiting, waiting_total=waiting_total, work_days=work_days,
        greeting=greeting(now.hour), offers_a_lead=not items and offers_a_lead(session, user=user),
    )


def _waiting() -> Select[*tuple[Any, ...]]:
    """User ``:user_id``'s SENT actions with what a waiting row shows, oldest sent first, leaving out
    those of the leads in ``:except_leads``.

    The send time is :data:`core.models.ACTION_SENT_AT`, from the event log.
    """
    sent_at = ACTION_SENT_AT.label("sent_at")
    return (
        select(Action.id, Action.action_type, Action.description, Action.auto_created, Lead.name, Lead.url, sent_at)
        .outerjoin(Lead, Lead.id == Action.person_id)
        .where(Action.user_id == bindparam("user_id"), Action.state == ActionState.SENT,
               Action.person_id.is_(None) | Action.person_id.not_in(bindparam("except_leads", expanding=True)))
        .order_by(sent_at, Action.id)
    )


_WAITING = _waiting()
#: The first :data:`MAX_WAITING` of them, each row with the count of the whole list.
_FIRST_WAITING = _WAITING.add_columns(func.count().over().label("total")).limit(MAX_WAITING)
_COUNT_WAITING = select(func.count()).select_from(_WAITING.subquery())


def _waiting_params(user: User, except_leads: Collection[uuid.UUID]) -> dict[str, Any]:
    return {"user_id": user.id, "except_leads": list(except_leads)}


def waiting_items(
    session: Session, *, user: User, limit: int | None = MAX_WAITING, offset: int = 0,
    except_leads: Collection[uuid.UUID] = (),
) -> tuple[WaitingItem, ...]:
    """The user's actions waiting for a reply, oldest sent first (``limit`` None: all of them from
    ``offset``); "sent on" is the user's local date of the send."""
    rows = session.execute(_WAITING.limit(limit).offset(offset), _waiting_params(user, except_leads))
    return tuple(_waiting_item(row, user=user) for row in rows)


def _first_waiting(
    session: Session, *, user: User, except_leads: Collection[uuid.UUID]
) -> tuple[tuple[WaitingItem, ...], int]:
    """What :func:`waiting_items` lists first (:data:`MAX_WAITING`) and :func:`count_waiting`'s total,
    in one read: each row carries the count of the whole list (none listed: there are none)."""
    rows = session.execute(_FIRST_WAITING, _waiting_params(user, except_leads)).all()
    return tuple(_waiting_item(row, user=user) for row in rows), (rows[0].total if rows else 0)


def _waiting_item(row: Any, *, user: User) -> WaitingItem:
    return WaitingItem(
        action_id=row.id, title=waiting_title(row.action_type, lead_name=row.name,
                                              description=own_description(row.description, row.auto_created)),
        lead_name=row.name, lead_url=row.url, sent_on=local_today(user.timezone, at=row.sent_at),
    )


def count_waiting(session: Session, *, user: User, except_leads: Collection[uuid.UUID] = ()) -> int:
    """How many actions :func:`waiting_items` would list without a limit."""
    return session.scalar(_COUNT_WAITING, _waiting_params(user, except_leads)) or 0


def _waiting_at_end() -> Select[*tuple[Any, ...]]:
    """User ``:user_id``'s actions that were waiting for a reply at ``:end``: those whose last change
    before then, in the log as it stands (an undone change is none), made them SENT; sent then. As
    :func:`_waiting` lists them: leads of ``:except_leads`` left out, the first :data:`MAX_WAITING`,
    oldest sent first, each row with the count of the whole list. Of two changes in one instant, the
    action's creation is the earlier."""
    log = ACTION_LOG.c
    last = (
        select(log.action_id, log.to_state, log.created_at)
        .where(log.user_id == bindparam("user_id"), log.created_at < bindparam("end", type_=DateTime(timezone=True)))
        .order_by(log.action_id, log.created_at.desc(), log.from_state.is_(None))
        .ext(distinct_on(log.action_id))
        .subquery()
    )
    return (
        select(Action.id, Action.action_type, Action.description, Action.auto_created, Lead.name, Lead.url,
               last.c.created_at.label("sent_at"), func.count().over().label("total"))
        .join(last, last.c.action_id == Action.id)
        .outerjoin(Lead, Lead.id == Action.person_id)
        .where(last.c.to_state == ActionState.SENT,
               Action.person_id.is_(None) | Action.person_id.not_in(bindparam("except_leads", expanding=True)))
        .order_by(last.c.created_at, Action.id)
        .limit(MAX_WAITING)
    )


_WAITING_AT_END = _waiting_at_end()


def waiting_on_its_day(session: Session, *, user: User, view: PlanView) -> PlanView:
    """``view`` of a past day, with the waiting list of that day: what was waiting for a reply at its
    end (sent on or before it, and not replied, closed or snoozed by then), never a message sent
    since. Its items keep their state now (what became of them). A view of today or a later day is
    returned as it is: waiting now, whose buttons act now."""
    if view.date >= local_today(user.timezone):
        return view
    end = datetime.combine(view.date + timedelta(days=1), time(0), tzinfo=zone(user.timezone))
    in_plan = [item.lead_id for item in view.items if item.is_open and item.lead_id is not None]
    rows = session.execute(_WAITING_AT_END, {**_waiting_params(user, in_plan), "end": end}).all()
    return replace(view, waiting=tuple(_waiting_item(row, user=user) for row in rows),
                   waiting_total=rows[0].total if rows else 0, waiting_then=True)


def day_plan_view(session: Session, *, user: User, day: date | None = None) -> PlanView | None:
    """The view of the user's plan for ``day`` (default today), or None when none was built: it
    builds nothing, so a redraw never makes a plan the user did not ask for."""
    plan = get_plan(session, user=user, day=day)
    return plan_view(session, user=user, plan=plan) if plan is not None else None


def plan_view_building_if_missing(session: Session, *, user: User, day: date | None = None,
                                  calendar: CalendarDay | None = None) -> PlanView:
    """The view of the user's plan for ``day`` (default today), building the plan first if there is
    none (sized by ``calendar``, read beforehand: :mod:`core.planner.sizing`)."""
    return plan_view(session, user=user, plan=build_plan(session, user=user, day=day, calendar=calendar))


def refreshed_plan_view(session: Session, *, user: User, day: date | None = None,
                        calendar: CalendarDay | None = None) -> PlanView:
    """The view of the user's plan for ``day`` (default today) just refreshed (built if there was
    none, sized by ``calendar``)."""
    return plan_view(session, user=user, plan=build_plan(session, user=user, day=day, refresh=True,
                                                         calendar=calendar))

