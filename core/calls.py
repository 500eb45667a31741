"""Logged calls: a call booked with a lead on a local date, and the two actions around it.

* **CALL_PREP** is due the work day before the call; when that day has already passed (a call
  logged the day before, or for today) it is due today. A call in the past gets no prep.
* **POST_CALL** is due the work day after the call, or today if that day has passed.
* **Once per call.** Logging the same lead and date again returns the call already logged
  (``created`` False) with its actions, and creates nothing; the unique constraint
  ``logged_calls_lead_id_call_date_key`` is the guarantee, even for two requests at once.
* **One pending prep (and one pending post-call) per lead**, as for every auto action: a second
  call booked while the first one's prep is still to do gets no prep of its own (``prep`` None);
  the pending one stays as it is.
* The lead must be the user's and not archived. The call date must be within a year of the user's
  today either way, so a mistyped year is refused.
* **A call a person logs with a snoozed lead brings the lead back** (``woke``): nothing is planned
  for a snoozed lead, so its prep and follow-up would never reach a plan, and a call booked with
  someone is the end of not following up with them. A call found in the calendar (``channel``
  system, ``core.calendars.call_detection``) leaves the snooze to the person.
* **Moving and cancelling** (calls found in the calendar, ``core.calendars.call_detection``): what
  the user has not touched follows the call. An action is *untouched* while it is NEW and has no
  event besides its creation (never marked, snoozed or undone). Moving a call re-dates it:
  its untouched prep and post-call are made again for the new date by the rules above, and an
  action the user already acted on stays as it is. Cancelling removes the untouched actions, and
  the call itself when nothing of it is left; a call the user has acted on stays logged.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.actions.followups import create_auto_action, lock_lead, work_days_for
from core.clock import local_today, utcnow
from core.errors import ValidationError
from core.leads import get_lead, unsnooze_lead
from core.models import (
    Action,
    ActionEvent,
    ActionOrigin,
    ActionState,
    ActionType,
    Channel,
    Lead,
    LeadStatus,
    LoggedCall,
    User,
)
from core.text import short_date
from core.workdays import next_work_day, work_day_before

MAX_DAYS_AWAY = 365


@dataclass(frozen=True)
class LoggedCallResult:
    """The call; its prep and post-call actions (None when none was made); whether it is new; whether
    the lead was snoozed and is active again (module rules)."""

    call: LoggedCall
    prep: Action | None
    post: Action | None
    created: bool
    woke: bool = False


def log_call(
    session: Session, *, user: User, lead_id: uuid.UUID, call_date: date, channel: Channel
) -> LoggedCallResult:
    """Log a call with the user's lead on ``call_date`` (local) and schedule its prep and post-call.

    ``channel`` is where the request came from; the actions themselves are the system's (their
    creation events say ``system``), like every rule-made action.
    """
    now = utcnow()
    today = local_today(user.timezone, at=now)
    lead = _callable_lead(session, user=user, lead_id=lead_id)
    if abs((call_date - today).days) > MAX_DAYS_AWAY:
        raise ValidationError(
            f"a call date must be within a year of today ({today.isoformat()}); {call_date.isoformat()} is not"
        )
    call_id = session.scalar(
        insert(LoggedCall)
        .values(id=uuid.uuid4(), user_id=user.id, lead_id=lead.id, call_date=call_date, created_at=now)
        .on_conflict_do_nothing(constraint="logged_calls_lead_id_call_date_key")
        .returning(LoggedCall.id)
    )
    if call_id is None:
        call = session.scalars(
            select(LoggedCall).where(LoggedCall.lead_id == lead.id, LoggedCall.call_date == call_date)
        ).one()
        return LoggedCallResult(
            call=call, prep=_linked(session, call, ActionType.CALL_PREP),
            post=_linked(session, call, ActionType.POST_CALL), created=False,
        )
    call = session.get_one(LoggedCall, call_id)
    woke = channel != Channel.SYSTEM and unsnooze_lead(session, user=user, lead_id=lead.id).changed
    prep, post = _schedule(session, user=user, lead=lead, call=call, today=today, at=now,
                           kinds={ActionType.CALL_PREP, ActionType.POST_CALL})
    return LoggedCallResult(call=call, prep=prep, post=post, created=True, woke=woke)


def move_call(session: Session, *, user: User, call: LoggedCall, call_date: date) -> tuple[Action, ...] | None:
    """Move ``call`` to ``call_date`` with its untouched actions (module rules); the actions made again
    for the new date (a caller refreshes today's plan when one is due by today), or None, changing
    nothing, when the lead already has another call logged that day."""
    now = utcnow()
    today = local_today(user.timezone, at=now)
    lead = session.get_one(Lead, call.lead_id)
    lock_lead(session, user=user, lead_id=lead.id)
    if call.call_date == call_date:
        return ()
    taken = session.scalar(select(LoggedCall.id).where(
        LoggedCall.lead_id == lead.id, LoggedCall.call_date == call_date, LoggedCall.id != call.id))
    if taken is not None:
        return None
    untouched = _untouched(session, call)
    kept = {action.action_type for action in _actions_of(session, call)} - {a.action_type for a in untouched}
    for action in untouched:
        session.delete(action)
    call.call_date = call_date
    session.flush()
    made = _schedule(session, user=user, lead=lead, call=call, today=today, at=now,
                     kinds={ActionType.CALL_PREP, ActionType.POST_CALL} - kept)
    return tuple(action for action in made if action is not None)


def cancel_call(session: Session, *, user: User, call: LoggedCall) -> bool:
    """Remove ``call``'s untouched actions, and the call when nothing of it is left (module rules);
    True when the call was removed."""
    lock_lead(session, user=user, lead_id=call.lead_id)
    for action in _untouched(session, call):
        session.delete(action)
    session.flush()
    if _actions_of(session, call):
        return False
    session.delete(call)
    session.flush()
    return True


def _schedule(session: Session, *, user: User, lead: Lead, call: LoggedCall, today: date, at: datetime,
              kinds: set[ActionType]) -> tuple[Action | None, Action | None]:
    """Make the call's prep and post-call of ``kinds`` by the module's rules; each is None when not made."""
    work_days = work_days_for(session, user)
    when = _day(call.call_date, today)
    prep = post = None
    if ActionType.CALL_PREP in kinds and call.call_date >= today:
        prep = create_auto_action(
            session, user=user, lead=lead, action_type=ActionType.CALL_PREP, origin=ActionOrigin.CALL,
            due_date=max(work_day_before(call.call_date, work_days), today),
            description=f"Prepare for your call with {lead.name} on {when}", logged_call=call, at=at,
        )
    if ActionType.POST_CALL in kinds:
        post = create_auto_action(
            session, user=user, lead=lead, action_type=ActionType.POST_CALL, origin=ActionOrigin.CALL,
            due_date=max(next_work_day(call.call_date + timedelta(days=1), work_days), today),
            description=f"Follow up on your call with {lead.name} on {when}", logged_call=call, at=at,
        )
    return prep, post


def _actions_of(session: Session, call: LoggedCall) -> list[Action]:
    return list(session.scalars(select(Action).where(Action.logged_call_id == call.id)))


def _untouched(session: Session, call: LoggedCall) -> list[Action]:
    """The call's actions still NEW with no event besides their creation (module rules)."""
    acted_on = select(ActionEvent.id).where(ActionEvent.action_id == Action.id, ActionEvent.from_state.is_not(None))
    return list(session.scalars(select(Action).where(
        Action.logged_call_id == call.id, Action.state == ActionState.NEW, ~acted_on.exists())))


def _callable_lead(session: Session, *, user: User, lead_id: uuid.UUID) -> Lead:
    lead = get_lead(session, user=user, lead_id=lead_id)
    lock_lead(session, user=user, lead_id=lead.id)
    if lead.status == LeadStatus.ARCHIVED:
        raise ValidationError(f"{lead.name} is archived; calls can be logged only with active or snoozed leads")
    return lead


def _linked(session: Session, call: LoggedCall, action_type: ActionType) -> Action | None:
    return session.scalar(
        select(Action).where(Action.logged_call_id == call.id, Action.action_type == action_type)
        .order_by(Action.created_at.desc(), Action.id).limit(1)
    )


def _day(day: date, today: date) -> str:
    """"Thu 27 Nov", with the year when it is not this year's."""
    label = short_date(day)
    return label if day.year == today.year else f"{label} {day.year}"
