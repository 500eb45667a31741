"""The daily plan of one user: build it, read it, refresh it, and the two settings that shape it.

* **One plan per user per local date.** ``day`` defaults to the user's own today. Building when a
  plan exists returns that plan unchanged (but for replies, below): the morning job, a retry and a
  second scheduler never overwrite what the user may already be working through. Only an explicit
  ``refresh`` changes it.
* **A reply comes back today.** Marking an action Replied makes "Reply to <name>" due today; the
  next read of today's plan (:func:`get_plan`, which every channel's redraw, App Home, the email
  result page and ``nbm plan`` go through, right after the change) takes it in, by the rules of
  :mod:`core.planner.ordering`: it shares its lead's slot with the action it answers (the plan
  shows one item more, nothing is pushed out), or, for a lead not in the plan, takes a free slot or
  that of the last open item. Nothing else changes then; past days' plans are history and never do.
* **Refresh** keeps what the user already acted on (sent, replied, done) and the items still open
  and still eligible, drops what became ineligible (snoozed since, lead snoozed or archived, no
  longer due), and fills the freed slots with the next best candidates. Kept items keep their order;
  positions are renumbered. A refresh re-reads capacity, so lowering it (``/nbm capacity micro``)
  shrinks the plan: open items beyond the new size are dropped from the end, acted-on ones never are.
  A refresh without ``free_minutes`` keeps the minutes the plan was built with.
* **Numbers are kept for the day.** Positions are the display order and move (a reply joins after
  the Fast Win, a refresh closes gaps, a new Fast Win goes first); the number a person reads and
  types is the item's own (``DailyPlanAction.number``): a new plan's items are 1..N in display
  order, an item that joins later gets the next after the highest the plan ever gave, and an item
  that stays keeps its number. So the rows may read 1, 6, 2, 3, and ``/nbm done 3`` typed from the
  morning's message still means the item numbered 3 there.
* **What wakes on the day is in it.** Building a plan, or refreshing it, first brings back for the
  user what is due by now (snoozes that end, a cold lead's NURTURE), in the same unit of work
  (:func:`core.planner.batch.gather`): a plan built minutes after midnight, before the hourly
  housekeeping, does not miss them for the day.
* **Today's plan made on demand** is sized by the calendar as the morning's is: the entry point
  reads it first (:mod:`core.planner.sizing`) and hands the reading in as ``calendar``.
* **Capacity**: the user's override for that very day wins (each day keeps its own:
  :func:`set_capacity`), else the free minutes decide.
* **Focus**: the focus the user set for the week wins, else the one last week's summary proposed.
  A plan built before that summary was made (Monday's, made early) takes its focus when the summary
  is made (:func:`core.planner.batch.fill_week_focus`), unless the user set their own for the week.
* **A day that is over is history.** Its plan is read as it was kept (its items, with what became
  of them), never made or changed now: :func:`kept_plan` refuses, naming the day, when none was
  made, and a refresh or a capacity for it is refused (:func:`refuse_if_over`). A plan made after
  the fact would fill a finished day with what is due today, as if it had been offered that
  morning. (The morning's own catch-up, a morning still owed, is the one maker of an earlier day's
  plan: ``core.jobs.tasks``.)
* **Service.** A plan is made only for a user with service (core.access): without it, building
  raises :class:`core.billing.status.NoService`, whatever the channel (the morning's query already
  leaves them out). A plan made before the service ended stays the user's for its day, whole: it is
  shown, its actions are marked and undone, a reply joins it, and it can be refreshed, as that
  morning; nothing the user did is lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, selectinload

from core.actions.records import check_text
from core.billing.status import require_service
from core.clock import local_today, utcnow
from core.errors import NotFound, ValidationError
from core.models import (
    Action,
    ActionOrigin,
    ActionState,
    ActionType,
    CapacityLevel,
    CapacityOverride,
    DailyPlan,
    DailyPlanAction,
    Lead,
    LeadStatus,
    User,
)
from core.planner.batch import (
    candidate_select,
    create_plans,
    gather,
    load_candidates,
    to_candidate,
    week_start,
)
from core.planner.capacity import ACTIONS_PER_LEVEL, parse_level
from core.planner.ordering import Candidate, Kept, choose, is_reply
from core.planner.sizing import CalendarDay
from core.text import short_date, short_date_from
from core.users import get_settings_for

MAX_FOCUS = 280

#: Plan items the user has acted on: they stay in the day's plan whatever else changes.
_ACTED = frozenset({ActionState.SENT, ActionState.REPLIED, ActionState.DONE, ActionState.ARCHIVED})


def get_plan(session: Session, *, user: User, day: date | None = None) -> DailyPlan | None:
    """The user's plan for ``day`` (default: their local today), if one was built.

    Today's plan first takes in the replies that became due since it was built (see the module's
    rules): every channel reads the plan through here, so each shows the reply at once.
    """
    today = local_today(user.timezone)
    day = day or today
    plan = session.scalars(_PLAN_OF_DAY, {"user_id": user.id, "day": day}).first()
    if plan is not None and day == today:
        _take_in_replies(session, user=user, plan=plan)
    return plan


def day_is_over(user: User, day: date | None) -> bool:
    """Whether ``day`` (None: today) is before the user's local today, its plan history (module rules)."""
    return day is not None and day < local_today(user.timezone)


def refuse_if_over(user: User, day: date | None, *, change: str) -> None:
    """Refuse a ``change`` of the plan of ``day`` ("a refresh is") when that day is over for the user
    (module rules: a day that is over is history), saying which days it is for."""
    today = local_today(user.timezone)
    if day is not None and day < today:
        raise ValidationError(f"{short_date_from(day, today=today)} is over, so its plan stays as it was; "
                              f"{change} for today ({short_date(today)}) or a later day")


def kept_plan(session: Session, *, user: User, day: date) -> DailyPlan:
    """The plan made for ``day``, as it was kept, for reading only; when none was made, the refusal
    says so (module rules: none is made for a day that is over)."""
    plan = get_plan(session, user=user, day=day)
    if plan is None:
        today = local_today(user.timezone)
        raise NotFound(f"no plan was made for {short_date_from(day, today=today)}, and none is made for a day "
                       f"that is over; a plan can be made for today ({short_date(today)}) or a later day")
    return plan


def build_plan(
    session: Session,
    *,
    user: User,
    day: date | None = None,
    free_minutes: int | None = None,
    refresh: bool = False,
    calendar: CalendarDay | None = None,
) -> DailyPlan:
    """The user's plan for ``day`` (default: their local today), built if there is none yet.

    An existing plan is returned unchanged unless ``refresh`` is asked for (see the module's rules),
    but for the replies today's takes in (:func:`get_plan`). Two builders racing for the same day
    end with one plan: the batch insert's ``ON CONFLICT``. A new plan needs service
    (:func:`core.billing.status.require_service`; an existing one does not). ``calendar``, the user's
    calendars read before this unit of work (:mod:`core.planner.sizing`), sizes a plan built here for
    the day it was read for; ``free_minutes``, when given, wins. A refresh of a day that is over is
    refused (:func:`refuse_if_over`).
    """
    if refresh:
        refuse_if_over(user, day, change="a refresh is")
    day = day or local_today(user.timezone)
    plan = get_plan(session, user=user, day=day)
    if plan is None:
        require_service(session, user=user)
        if free_minutes is None and calendar is not None:
            free_minutes = calendar.minutes_on(day)
        inputs = gather(session, users=[user], days={user.id: day}, free_minutes={user.id: free_minutes},
                        at=utcnow())
        return create_plans(session, inputs.values())[user.id]
    if refresh:
        _refresh(session, user=user, plan=plan, free_minutes=free_minutes)
    return plan


def _refresh(session: Session, *, user: User, plan: DailyPlan, free_minutes: int | None) -> None:
    """Keep the acted-on and still-eligible items, drop the rest, refill; one refresh at a time."""
    _lock(session, plan=plan)
    free = plan.free_minutes if free_minutes is None else free_minutes
    inputs = gather(session, users=[user], days={user.id: plan.date}, free_minutes={user.id: free},
                    at=utcnow())[user.id]
    _replan(session, plan=plan, candidates=inputs.candidates, slots=inputs.slots, refresh=True)
    plan.capacity, plan.free_minutes, plan.focus_statement = inputs.capacity, free, inputs.focus
    plan.generated_at = utcnow()
    session.flush()


def _take_in_replies(session: Session, *, user: User, plan: DailyPlan) -> None:
    """Add the due replies ``plan`` lacks, changing nothing else but what must make room for them.

    The check is one read (is a due reply missing from the plan?); the plan is locked and read
    again only when one is, so two channels redrawing at once add it once.
    """
    if not _reply_missing(session, user=user, plan=plan):
        return
    _lock(session, plan=plan)
    candidates = _due(session, user=user, plan=plan)
    _replan(session, plan=plan, candidates=candidates, slots=ACTIONS_PER_LEVEL[plan.capacity], refresh=False)


def _due(session: Session, *, user: User, plan: DailyPlan) -> list[Candidate]:
    return load_candidates(session, days={user.id: plan.date})[user.id]


def _reply_missing(session: Session, *, user: User, plan: DailyPlan) -> bool:
    """Whether a reply due on the plan's day (a candidate, as :func:`load_candidates` reads them, that
    :func:`is_reply` accepts) is not in the plan: asked of the database, where the answer is one row."""
    return bool(session.scalar(_REPLY_MISSING, {"user_id": user.id, "day": plan.date, "plan_id": plan.id}))


#: Built once (every read of today's plan asks it; building it cost more than running it).
_REPLY_MISSING = select(
    select(Action.id)
    .outerjoin(Lead, Lead.id == Action.person_id)
    .where(Action.user_id == bindparam("user_id"), Action.state == ActionState.NEW,
           Action.due_date <= bindparam("day"), or_(Action.person_id.is_(None), Lead.status == LeadStatus.ACTIVE),
           Action.action_type == ActionType.FOLLOW_UP, Action.origin == ActionOrigin.REPLY,
           Action.id.not_in(select(DailyPlanAction.action_id)
                            .where(DailyPlanAction.daily_plan_id == bindparam("plan_id"))))
    .exists()
)
#: A user's plan for a day (the batch's ``existing_plans`` for one user, built once).
_PLAN_OF_DAY = select(DailyPlan).where(DailyPlan.user_id == bindparam("user_id"), DailyPlan.date == bindparam("day"))


def _lock(session: Session, *, plan: DailyPlan) -> None:
    """Row-lock ``plan`` and re-read its items, so one change of a plan runs at a time."""
    session.execute(
        select(DailyPlan).where(DailyPlan.id == plan.id).with_for_update()
        .options(selectinload(DailyPlan.items)).execution_options(populate_existing=True)
    )


def _replan(
    session: Session, *, plan: DailyPlan, candidates: Sequence[Candidate], slots: int, refresh: bool
) -> None:
    """Choose ``plan`` again from its items and today's ``candidates``, and save the new order.

    A refresh drops the open items that are no longer candidates (snoozed since, lead snoozed or
    archived) and offers every new candidate; taking in replies keeps every item (bar those that
    must make room) and offers only the replies. An item that stays keeps its number; one that joins
    gets the next after the highest the plan ever gave (``DailyPlan.last_number``, read under the
    plan's lock), so a number never moves to another item and a dropped one is not given again.
    """
    in_plan = _plan_candidates(session, plan=plan)
    due = {candidate.action_id for candidate in candidates}
    keep = [
        Kept(candidate, settled=state is not ActionState.NEW, is_fast_win=item.is_fast_win)
        for item in plan.items
        for candidate, state in [in_plan[item.action_id]]
        if not refresh or state in _ACTED or item.action_id in due
    ]
    offered = [c for c in candidates if c.action_id not in in_plan and (refresh or is_reply(c))]
    chosen = choose(offered, slots=slots, today=plan.date, keep=keep)
    by_action = {item.action_id: item for item in plan.items}
    wanted = {entry.candidate.action_id for entry in chosen}
    for item in [item for item in plan.items if item.action_id not in wanted]:
        plan.items.remove(item)
    session.flush()
    for position, entry in enumerate(chosen):
        kept = by_action.get(entry.candidate.action_id)
        if kept is None:
            plan.last_number += 1
            plan.items.append(DailyPlanAction(action_id=entry.candidate.action_id, position=position,
                                              number=plan.last_number, is_fast_win=entry.is_fast_win))
        else:
            kept.position, kept.is_fast_win = position, entry.is_fast_win
    session.flush()
    session.expire(plan, ["items"])


def _plan_candidates(session: Session, *, plan: DailyPlan) -> dict[uuid.UUID, tuple[Candidate, ActionState]]:
    """Each action of ``plan`` as a candidate, with its current state."""
    rows = session.execute(candidate_select().where(Action.id.in_([item.action_id for item in plan.items])))
    return {row.id: (to_candidate(row), row.state) for row in rows}


def set_capacity(session: Session, *, user: User, level: CapacityLevel, day: date | None = None) -> None:
    """Override the capacity of one local day (default today); ``default`` removes that day's override.

    Each day keeps its own (:class:`core.models.CapacityOverride`): a "light day" does not stick to
    tomorrow, and setting tomorrow's (or clearing it) leaves today's as the user chose it. It takes
    effect when the day's plan is built, or refreshed if it already exists. A day that is over is
    refused (:func:`refuse_if_over`): its plan is history. Two settings of one day at once end with
    the one committed last. Past days' overrides stay: a morning caught up late builds that day's
    plan (core.jobs.schedule), with the capacity the user chose for it.
    """
    level = parse_level(level)
    refuse_if_over(user, day, change="a capacity is set")
    day = day or local_today(user.timezone)
    if level is CapacityLevel.DEFAULT:
        session.execute(delete(CapacityOverride)
                        .where(CapacityOverride.user_id == user.id, CapacityOverride.day == day))
    else:
        session.execute(insert(CapacityOverride).values(user_id=user.id, day=day, capacity=level)
                        .on_conflict_do_update(index_elements=["user_id", "day"], set_={"capacity": level}))
    session.expire(user, ["capacity_overrides"])
    session.flush()


def set_focus(session: Session, *, user: User, text: str, day: date | None = None) -> None:
    """Set the focus of the week (Monday–Sunday) of ``day`` (default today), 1 to 280 characters.

    It wins over the focus last week's summary proposed, and is shown at once: the plans of that
    week from ``day`` on that already exist take it too (earlier days keep theirs, as history).
    """
    focus = check_text(text, field="the focus", limit=MAX_FOCUS)
    if focus is None:
        raise ValidationError(f"a focus needs some text: between 1 and {MAX_FOCUS} characters")
    day = day or local_today(user.timezone)
    settings = get_settings_for(session, user)
    settings.focus_text, settings.focus_week_start = focus, week_start(day)
    week_end = week_start(day) + timedelta(days=6)
    session.execute(
        update(DailyPlan)
        .where(DailyPlan.user_id == user.id, DailyPlan.date >= day, DailyPlan.date <= week_end)
        .values(focus_statement=focus)
        .execution_options(synchronize_session="fetch")
    )
    session.flush()
