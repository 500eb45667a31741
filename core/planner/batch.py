"""Planning many users at once with a fixed number of queries, whatever the number of users.

The morning run calls :func:`plan_users` for a batch of users; :func:`core.planner.service.build_plan`
is the same machinery for one user. Every step is set-based: users, settings and capacity overrides
in one query, existing plans in one, what wakes on the day for the users still to plan in three or
four (snoozed leads, snoozed actions, cold leads' NURTUREs and, when some were made, their events:
:func:`core.housekeeping.wake_due`), candidates (with their leads and calls) in one, last week's
summaries in one, then the new plans and all their items inserted in one statement each. That is at
most 11 queries per batch (fewer when there is nothing to do), so a slow morning is never "one more
user, five more round trips".

Every statement takes its users, dates and rows as arrays (``= ANY(:ids)``, ``unnest``): its text is
the same for a batch of 1 or 1,000, so it is compiled once per process (by SQLAlchemy and by the
driver), where an ``IN (…)`` list or a multi-row ``VALUES`` of the batch's size was compiled again
for every batch, and cost more than the planning itself. Where a batch spans two dates (users a date
line apart), a lookup by "user in the batch and date in the batch's dates" reads a few rows too many,
and the exact pairs are kept in Python.

Once-only is the database's job: plans are inserted with ``ON CONFLICT (user_id, date) DO NOTHING``
and read back, so two builders racing for the same user and date end with one plan (the first to
commit), and only the builder whose row went in writes its items.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, DateTime, Select, Uuid, any_, bindparam, or_, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, joinedload

from core.clock import local_today, utcnow
from core.housekeeping import wake_due
from core.models import (
    Action,
    ActionState,
    ActionType,
    CapacityLevel,
    CapacityOverride,
    DailyPlan,
    Lead,
    LeadStatus,
    LoggedCall,
    User,
    UserSettings,
    WeeklySummary,
)
from core.planner.capacity import ACTIONS_PER_LEVEL, level_for_free_minutes
from core.planner.ordering import Candidate, choose

_CALL_TYPES = (ActionType.CALL_PREP, ActionType.POST_CALL)
_UUIDS = ARRAY(Uuid)
_DATES = ARRAY(Date)


@dataclass(frozen=True)
class PlanInputs:
    """Everything one user's plan for one local ``day`` is made from, loaded in bulk."""

    user_id: uuid.UUID
    day: date
    capacity: CapacityLevel
    free_minutes: int | None
    focus: str | None
    candidates: tuple[Candidate, ...]

    @property
    def slots(self) -> int:
        return ACTIONS_PER_LEVEL[self.capacity]


def week_start(day: date) -> date:
    """The Monday of ``day``'s week (weeks run Monday–Sunday, as the weekly summary's do)."""
    return day - timedelta(days=day.weekday())


def capacity_for(user: User, *, day: date, free_minutes: int | None) -> CapacityLevel:
    """The capacity the user set for ``day`` wins (each day keeps its own: :class:`CapacityOverride`);
    else the calendar decides."""
    override = user.capacity_overrides.get(day)
    return override.capacity if override is not None else level_for_free_minutes(free_minutes)


def focus_for(settings: UserSettings | None, *, day: date, summary_focus: str | None) -> str | None:
    """The focus the user set for ``day``'s week wins over the one last week's summary suggested."""
    if settings is not None and settings.focus_text and settings.focus_week_start == week_start(day):
        return settings.focus_text
    return summary_focus


def fill_week_focus(session: Session, *, settings: UserSettings | None, user_id: uuid.UUID, week: date,
                    focus: str) -> list[date]:
    """Give ``focus``, proposed by the summary just made of the week before ``week`` (a Monday), to the
    plans of ``week`` built before that summary, unless the user set a focus of their own for it
    (:func:`focus_for`: theirs wins, and its plans already have it); the dates of the plans changed.

    A plan takes last week's focus when it is built (:func:`gather`), but Monday's is often built
    before the summary of the week before it exists (on request before the morning, or by a worker
    that got the plans' batch first), and would keep no focus all day while the summary names one.
    """
    if focus_for(settings, day=week, summary_focus=focus) != focus:
        return []
    return list(session.scalars(
        update(DailyPlan)
        .where(DailyPlan.user_id == user_id, DailyPlan.date >= week, DailyPlan.date <= week + timedelta(days=6),
               DailyPlan.focus_statement.is_(None))
        .values(focus_statement=focus)
        .returning(DailyPlan.date)
        .execution_options(synchronize_session="fetch")
    ))


def candidate_select() -> Select[*tuple[Any, ...]]:
    """Actions with what ordering needs (their lead's age and status, their call's date)."""
    return (
        select(
            Action.id, Action.user_id, Action.person_id, Action.action_type, Action.origin, Action.state,
            Action.due_date, Action.created_at, Lead.created_at.label("lead_created_at"),
            Lead.status.label("lead_status"), LoggedCall.call_date,
        )
        .outerjoin(Lead, Lead.id == Action.person_id)
        .outerjoin(LoggedCall, LoggedCall.id == Action.logged_call_id)
    )


def to_candidate(row: Any) -> Candidate:
    return Candidate(
        action_id=row.id, lead_id=row.person_id, action_type=row.action_type, origin=row.origin,
        due_date=row.due_date, created_at=row.created_at, lead_created_at=row.lead_created_at,
        call_date=row.call_date if row.action_type in _CALL_TYPES else None,
    )


def load_candidates(session: Session, *, days: Mapping[uuid.UUID, date]) -> dict[uuid.UUID, list[Candidate]]:
    """Each user's candidates on their day: NEW, due on or before it, lead (if any) ACTIVE.

    One query for the whole batch: it reads up to the latest day in the batch and each user's rows
    are then cut at their own day (users a date line apart differ by a day at most).
    """
    found: dict[uuid.UUID, list[Candidate]] = {user_id: [] for user_id in days}
    if not days:
        return found
    rows = session.execute(_CANDIDATES, {"users": list(days), "day": max(days.values())})
    for row in rows:
        if row.due_date <= days[row.user_id]:
            found[row.user_id].append(to_candidate(row))
    return found


_CANDIDATES = candidate_select().where(
    Action.user_id == any_(bindparam("users", type_=_UUIDS)),
    Action.state == ActionState.NEW,
    Action.due_date <= bindparam("day", type_=Date),
    or_(Action.person_id.is_(None), Lead.status == LeadStatus.ACTIVE),
)


def load_summary_focus(session: Session, *, days: Mapping[uuid.UUID, date]) -> dict[uuid.UUID, str]:
    """``next_week_focus`` of the summary of the week before each user's day, where there is one."""
    if not days:
        return {}
    weeks = {user_id: week_start(day) - timedelta(days=7) for user_id, day in days.items()}
    rows = session.execute(_SUMMARY_FOCUS, {"users": list(weeks), "weeks": sorted(set(weeks.values()))})
    return {row.user_id: row.next_week_focus for row in rows
            if row.next_week_focus and row.week_start_date == weeks[row.user_id]}


_SUMMARY_FOCUS = select(WeeklySummary.user_id, WeeklySummary.week_start_date, WeeklySummary.next_week_focus).where(
    WeeklySummary.user_id == any_(bindparam("users", type_=_UUIDS)),
    WeeklySummary.week_start_date == any_(bindparam("weeks", type_=_DATES)),
)


def gather(
    session: Session,
    *,
    users: Sequence[User],
    days: Mapping[uuid.UUID, date],
    free_minutes: Mapping[uuid.UUID, int | None],
    at: datetime,
) -> dict[uuid.UUID, PlanInputs]:
    """The inputs of each user's plan (``users`` should come with their settings and capacity
    overrides loaded).

    Every build of a plan reads them here, so here is where it first brings back, for its users,
    what is due by ``at`` (:func:`core.housekeeping.wake_due`: snoozes that end, leads gone cold)
    rather than wait for the hourly housekeeping: a plan built just after midnight holds what woke
    then, and the morning never rebuilds it. Nothing wakes before its date: a plan built ahead for
    a later day gets what is due by ``at``.
    """
    wanted = {user.id: days[user.id] for user in users}
    wake_due(session, at=at, user_ids=list(wanted))
    candidates = load_candidates(session, days=wanted)
    summary_focus = load_summary_focus(session, days=wanted)
    inputs = {}
    for user in users:
        day = wanted[user.id]
        inputs[user.id] = PlanInputs(
            user_id=user.id,
            day=day,
            capacity=capacity_for(user, day=day, free_minutes=free_minutes.get(user.id)),
            free_minutes=free_minutes.get(user.id),
            focus=focus_for(user.settings, day=day, summary_focus=summary_focus.get(user.id)),
            candidates=tuple(candidates[user.id]),
        )
    return inputs


def existing_plans(session: Session, *, days: Mapping[uuid.UUID, date]) -> dict[uuid.UUID, DailyPlan]:
    """The plans that already exist for each user on their day."""
    if not days:
        return {}
    plans = session.scalars(_PLANS, {"users": list(days), "days": sorted(set(days.values()))})
    return {plan.user_id: plan for plan in plans if plan.date == days[plan.user_id]}


_PLANS = select(DailyPlan).where(DailyPlan.user_id == any_(bindparam("users", type_=_UUIDS)),
                                 DailyPlan.date == any_(bindparam("days", type_=_DATES)))


def create_plans(session: Session, inputs: Iterable[PlanInputs]) -> dict[uuid.UUID, DailyPlan]:
    """Insert a plan for each of ``inputs`` unless one exists, and return each user's plan.

    A plan that appeared meanwhile (another builder committed first) is returned as it is: the
    morning never overwrites a plan. A new plan's items are numbered 1..N in display order (the Fast
    Win is 1), and its counter of numbers given starts at N (``DailyPlan.last_number``).
    """
    inputs = list(inputs)
    if not inputs:
        return {}
    plan_ids = {entry.user_id: uuid.uuid4() for entry in inputs}
    chosen = {entry.user_id: choose(entry.candidates, slots=entry.slots, today=entry.day) for entry in inputs}
    inserted = set(session.scalars(_INSERT_PLANS, {
        "ids": list(plan_ids.values()), "users": list(plan_ids), "days": [entry.day for entry in inputs],
        "focus": [entry.focus for entry in inputs], "capacity": [entry.capacity.value for entry in inputs],
        "free": [entry.free_minutes for entry in inputs], "last": [len(chosen[entry.user_id]) for entry in inputs],
        "at": utcnow(),
    }))
    items = [  # numbered 1..N in display order: the Fast Win, first, is 1
        (plan_ids[entry.user_id], pick.candidate.action_id, position, position + 1, pick.is_fast_win)
        for entry in inputs
        if plan_ids[entry.user_id] in inserted
        for position, pick in enumerate(chosen[entry.user_id])
    ]
    if items:
        plans, actions, positions, numbers, fast = (list(column) for column in zip(*items, strict=True))
        session.execute(_INSERT_ITEMS, {"plans": plans, "actions": actions, "positions": positions,
                                        "numbers": numbers, "fast": fast})
    return existing_plans(session, days={entry.user_id: entry.day for entry in inputs})


#: One row per element of the arrays: as many plans (or items) as the batch has, in one statement whose
#: text never changes (and no limit on rows: a ``VALUES`` list stops at 65,535 parameters).
_INSERT_PLANS = text("""
    INSERT INTO daily_plans (id, user_id, date, focus_statement, capacity, free_minutes, last_number, generated_at)
    SELECT id, user_id, day, focus, capacity, free, last, :at
    FROM unnest(CAST(:ids AS uuid[]), CAST(:users AS uuid[]), CAST(:days AS date[]), CAST(:focus AS text[]),
                CAST(:capacity AS capacity_level[]), CAST(:free AS integer[]), CAST(:last AS integer[]))
         AS row (id, user_id, day, focus, capacity, free, last)
    ON CONFLICT (user_id, date) DO NOTHING
    RETURNING id
""").bindparams(bindparam("at", type_=DateTime(timezone=True)))
_INSERT_ITEMS = text("""
    INSERT INTO daily_plan_actions (daily_plan_id, action_id, position, number, is_fast_win)
    SELECT * FROM unnest(CAST(:plans AS uuid[]), CAST(:actions AS uuid[]), CAST(:positions AS integer[]),
                         CAST(:numbers AS integer[]), CAST(:fast AS boolean[]))
""")


#: The batch's users with their settings and the capacity overrides of the days they may be planned
#: for (``:since``, the day before ``at`` in UTC, is on or before every user's local date then): a
#: user's overrides of days long past, kept for a late morning's catch-up, are not read every morning.
_USERS = (select(User)
          .options(joinedload(User.settings),
                   joinedload(User.capacity_overrides.and_(CapacityOverride.day >= bindparam("since", type_=Date))))
          .where(User.id == any_(bindparam("ids", type_=_UUIDS))))


def plan_users(
    session: Session,
    *,
    user_ids: Sequence[uuid.UUID],
    at: datetime,
    free_minutes: Mapping[uuid.UUID, int | None] | None = None,
) -> dict[uuid.UUID, DailyPlan]:
    """Each user's plan for their own local date at ``at``, built if missing, never overwritten.

    Runs in the service context. ``free_minutes`` holds what each user's calendar left free today; a
    user missing from it (no calendar, or a calendar that failed) gets the ``default`` capacity.
    Unknown ids are skipped. Costs the same handful of queries for 1 user or 1,000 (plus one per
    further 1,000 plan items; a batch is capped by the plans insert at about 9,000 users: the
    morning sends 200).
    """
    if not user_ids:
        return {}
    since = at.astimezone(UTC).date() - timedelta(days=1)
    users = session.scalars(_USERS, {"ids": list(user_ids), "since": since}).unique().all()
    days = {user.id: local_today(user.timezone, at=at) for user in users}
    plans = existing_plans(session, days=days)
    missing = [user for user in users if user.id not in plans]
    if missing:
        inputs = gather(session, users=missing, days=days, free_minutes=free_minutes or {}, at=at)
        plans |= create_plans(session, inputs.values())
    return plans
