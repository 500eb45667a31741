"""The follow-up rules: the actions the system creates for the user (PRODUCT.md, "Follow-up rules").

* **Sent** → a FOLLOW_UP for the same lead: 3 work days after today for the first of a chain, then
  7 days, then 14; after three follow-ups sent without a reply, a NURTURE in 30 days instead (and
  every 30 days after that while the lead stays silent). The chain position is read from the data:
  the lead's FOLLOW_UPs of origin SENT that were sent since its last reply.
* **Replied** → the lead's pending chasers (auto FOLLOW_UP and NURTURE not created by a reply) are
  archived by the system (NEW/SNOOZED → ARCHIVED, outside the user's state table), and a FOLLOW_UP
  "Reply to <name>" is due today. A "Reply to" still pending is kept: the lead writing twice
  before the user answers is still one reply to write.
* **One waiting action per lead**: before an action of a lead is sent or replied, the lead's other
  SENT action is closed by the system (SENT → DONE, channel ``system``): the new send replaces it,
  and a reply answers it. A system close is not the user's completion.
* **Cold leads**: an ACTIVE lead with no open action and no touch for 21 local days gets a NURTURE
  due today (:func:`create_cold_lead_nurtures`, run by the hourly housekeeping for everyone and by
  every build of a plan for its user: :func:`core.housekeeping.wake_due`).
* **No duplicates**: at most one pending (NEW or SNOOZED) auto-created action per lead and type. A
  rule that finds one already pending leaves it as it is and creates nothing (the partial unique
  index ``actions_one_pending_auto_per_lead_type`` is the backstop).
* **Work days** are the user's ``work_days`` (ISO weekdays). A due date that lands on another day
  moves to the next work day. Rules never fire for an archived lead.

Rules for one lead run one at a time: callers hold the lead's row lock (:func:`lock_lead`), so two
simultaneous presses cannot both create the "one" follow-up.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, func, select, text
from sqlalchemy.orm import Session

from core.actions.records import create_action, record_event
from core.clock import local_today
from core.db import ForUsers
from core.models import (
    ACTION_LOG,
    Action,
    ActionOrigin,
    ActionState,
    ActionType,
    Channel,
    Lead,
    LeadStatus,
    LoggedCall,
    User,
)
from core.users import get_settings_for
from core.workdays import add_work_days, next_work_day

PENDING_STATES = (ActionState.NEW, ActionState.SNOOZED)
FIRST_FOLLOW_UP_WORK_DAYS = 3
#: Calendar days to the 2nd and 3rd follow-up of a chain (then moved to a work day).
LATER_FOLLOW_UP_DAYS = (7, 14)
NURTURE_AFTER_DAYS = 30
COLD_AFTER_DAYS = 21


# --- work days ------------------------------------------------------------------------------------

def work_days_for(session: Session, user: User) -> frozenset[int]:
    """The user's work days as ISO weekdays (1 = Monday)."""
    return frozenset(get_settings_for(session, user).work_days)


# --- shared by every rule -------------------------------------------------------------------------

def _locking_lead(lead_id: Any) -> Select[Lead]:
    """The statement of :func:`lock_lead`, the lead being ``lead_id`` (a value, a bound parameter or
    a subquery) of the user ``:user_id``.

    ``FOR NO KEY UPDATE`` serialises rule runs without blocking inserts that merely reference it.
    """
    return (select(Lead).where(Lead.id == lead_id, Lead.user_id == bindparam("user_id"))
            .with_for_update(key_share=True).execution_options(populate_existing=True))


_LOCK_LEAD = _locking_lead(bindparam("lead_id"))
#: The lead of the action ``:action_id`` (its ``person_id`` never changes), locked: every change of
#: an action takes it first (statement built once: every press, link and command runs it).
LOCK_LEAD_OF_ACTION = _locking_lead(select(Action.person_id).where(
    Action.id == bindparam("action_id"), Action.user_id == bindparam("user_id")).scalar_subquery())


def lock_lead(session: Session, *, user: User, lead_id: uuid.UUID) -> Lead | None:
    """The user's lead, row-locked until the unit of work ends (rules for a lead run one at a time);
    None when the user has no such lead."""
    return session.scalars(_LOCK_LEAD, {"lead_id": lead_id, "user_id": user.id}).one_or_none()


def create_auto_action(
    session: Session,
    *,
    user: User,
    lead: Lead,
    action_type: ActionType,
    origin: ActionOrigin,
    due_date: date,
    description: str,
    at: datetime,
    source_action: Action | None = None,
    logged_call: LoggedCall | None = None,
) -> Action | None:
    """Create an auto action, unless one of this type is already pending for the lead (then None).

    The pending one is left untouched: the user may have snoozed or planned it on purpose.
    """
    pending = session.scalar(
        select(Action.id).where(
            Action.person_id == lead.id, Action.action_type == action_type, Action.auto_created,
            Action.state.in_(PENDING_STATES),
        )
    )
    if pending is not None:
        return None
    return create_action(
        session, user=user, lead=lead, action_type=action_type, due_date=due_date, channel=Channel.SYSTEM,
        origin=origin, auto_created=True, description=description, source_action=source_action,
        logged_call=logged_call, at=at,
    )


def _system_move(session: Session, *, action: Action, to: ActionState, at: datetime) -> None:
    """A change the rules make on the user's behalf, logged with channel ``system``."""
    from_state = action.state
    action.state = to
    action.snooze_until = None
    if to == ActionState.DONE:
        action.completed_at = at
    session.flush()
    record_event(session, action=action, from_state=from_state, channel=Channel.SYSTEM, at=at)


# --- transitions ----------------------------------------------------------------------------------

def close_waiting(session: Session, *, action: Action, at: datetime) -> None:
    """Close the lead's other SENT action before ``action`` is sent or replied (one waiting per lead).

    Called before ``action`` changes state: the unique index ``actions_one_sent_per_lead`` would
    refuse a second SENT action for the lead.
    """
    if action.person_id is None:
        return
    waiting = session.scalars(
        select(Action).where(
            Action.person_id == action.person_id, Action.state == ActionState.SENT, Action.id != action.id
        ).with_for_update()
    ).all()
    for other in waiting:
        _system_move(session, action=other, to=ActionState.DONE, at=at)


def apply_rules(session: Session, *, user: User, action: Action, at: datetime) -> tuple[Action, ...]:
    """Fire the rules for ``action``, which has just entered its current state; returns what they made."""
    if action.person_id is None or action.state not in (ActionState.SENT, ActionState.REPLIED):
        return ()
    lead = session.get(Lead, action.person_id)
    if lead is None or lead.status == LeadStatus.ARCHIVED:
        return ()
    today = local_today(user.timezone, at=at)
    if action.state == ActionState.SENT:
        created = _after_sent(session, user=user, lead=lead, sent=action, today=today, at=at)
    else:
        created = _after_reply(session, user=user, lead=lead, replied=action, today=today, at=at)
    return (created,) if created is not None else ()


def _after_sent(
    session: Session, *, user: User, lead: Lead, sent: Action, today: date, at: datetime
) -> Action | None:
    work_days = work_days_for(session, user)
    position = follow_ups_sent_since_reply(session, lead_id=lead.id)
    if position == 0:
        due = add_work_days(today, FIRST_FOLLOW_UP_WORK_DAYS, work_days)
    elif position <= len(LATER_FOLLOW_UP_DAYS):
        due = next_work_day(today + timedelta(days=LATER_FOLLOW_UP_DAYS[position - 1]), work_days)
    else:
        return create_auto_action(
            session, user=user, lead=lead, action_type=ActionType.NURTURE, origin=ActionOrigin.SENT,
            due_date=next_work_day(today + timedelta(days=NURTURE_AFTER_DAYS), work_days),
            description=f"Check in with {lead.name}", source_action=sent, at=at,
        )
    return create_auto_action(
        session, user=user, lead=lead, action_type=ActionType.FOLLOW_UP, origin=ActionOrigin.SENT, due_date=due,
        description=f"Follow up with {lead.name}", source_action=sent, at=at,
    )


def follow_ups_sent_since_reply(session: Session, *, lead_id: uuid.UUID) -> int:
    """How many of the lead's rule-made follow-ups (origin SENT) were sent since its last reply."""
    log = ACTION_LOG.c
    last_reply = (
        select(func.max(log.created_at))
        .join(Action, Action.id == log.action_id)
        .where(Action.person_id == lead_id, log.to_state == ActionState.REPLIED)
        .scalar_subquery()
    )
    return session.scalar(
        select(func.count(func.distinct(Action.id)))
        .join(ACTION_LOG, log.action_id == Action.id)
        .where(
            Action.person_id == lead_id, Action.action_type == ActionType.FOLLOW_UP,
            Action.origin == ActionOrigin.SENT, log.to_state == ActionState.SENT,
            log.created_at > func.coalesce(last_reply, text("'-infinity'::timestamptz")),
        )
    ) or 0


def _after_reply(
    session: Session, *, user: User, lead: Lead, replied: Action, today: date, at: datetime
) -> Action | None:
    chasers = session.scalars(
        select(Action).where(
            Action.person_id == lead.id, Action.auto_created, Action.state.in_(PENDING_STATES),
            Action.action_type.in_((ActionType.FOLLOW_UP, ActionType.NURTURE)),
            Action.origin != ActionOrigin.REPLY,
        ).order_by(Action.created_at, Action.id).with_for_update()
    ).all()
    for chaser in chasers:
        _system_move(session, action=chaser, to=ActionState.ARCHIVED, at=at)
    return create_auto_action(
        session, user=user, lead=lead, action_type=ActionType.FOLLOW_UP, origin=ActionOrigin.REPLY,
        due_date=today, description=f"Reply to {lead.name}", source_action=replied, at=at,
    )


# --- the daily cold-lead rule ---------------------------------------------------------------------

_COLD_LEAD_NURTURES = ForUsers.of(f"""
WITH candidates AS (
  SELECT l.id AS lead_id, l.user_id, l.name, l.created_at, u.timezone,
         (CAST(:at AS timestamptz) AT TIME ZONE u.timezone)::date AS today
  FROM leads l JOIN users u ON u.id = l.user_id
  WHERE l.status = 'ACTIVE' {{only}}
), cold AS (
  SELECT c.* FROM candidates c
  WHERE (c.created_at AT TIME ZONE c.timezone)::date <= c.today - {COLD_AFTER_DAYS}
    AND NOT EXISTS (
      SELECT 1 FROM actions a
      WHERE a.person_id = c.lead_id AND a.state IN ('NEW', 'SENT', 'SNOOZED'))
    AND NOT EXISTS (
      SELECT 1 FROM actions a JOIN action_events e ON e.action_id = a.id
      WHERE a.person_id = c.lead_id
        AND (e.created_at AT TIME ZONE c.timezone)::date > c.today - {COLD_AFTER_DAYS})
)
INSERT INTO actions (user_id, person_id, action_type, state, due_date, origin, auto_created,
                     description, created_at, updated_at)
SELECT user_id, lead_id, 'NURTURE'::action_type, 'NEW'::action_state, today, 'COLD'::action_origin, true,
       'Reconnect with ' || name, :at, :at
FROM cold
ORDER BY lead_id
ON CONFLICT DO NOTHING
RETURNING id, user_id
""", column="l.user_id")
#: The NURTUREs' creation, recorded by the system: a statement of its own, since row-level security
#: checks an event's action among the rows there were before the statement (a user's own build
#: of a plan runs the rule in the user's context, where that check applies).
_CREATED_BY_SYSTEM = text("""
INSERT INTO action_events (user_id, action_id, from_state, to_state, channel, created_at)
SELECT user_id, id, NULL, 'NEW'::action_state, 'system'::event_channel, :at
FROM unnest(CAST(:ids AS uuid[]), CAST(:users AS uuid[])) AS created (id, user_id)
""")


def create_cold_lead_nurtures(session: Session, *, at: datetime, user_ids: Sequence[uuid.UUID] | None = None) -> int:
    """Give every lead gone cold a NURTURE due today (all users at once, in the service context, or
    those of ``user_ids``); returns how many.

    Cold: ACTIVE, no open action (NEW, SENT, SNOOZED), and no touch in the last 21 of its user's
    local days (no event on any of its actions, not created in that window). The NURTURE then
    counts as a touch and an open action, so running again the same day creates nothing.

    The NURTUREs go in in the order of their leads' ids, whoever runs this (the hourly housekeeping,
    a build of a plan): two transactions inserting one lead's NURTURE wait on each other's (the
    unique index), so inserting in one order is what keeps them from each waiting for the other.
    """
    created = _COLD_LEAD_NURTURES.run(session, {"at": at}, user_ids=user_ids).all()
    if created:
        session.execute(_CREATED_BY_SYSTEM, {"ids": [row.id for row in created],
                                             "users": [row.user_id for row in created], "at": at})
    return len(created)
