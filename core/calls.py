"""Logged calls: a call booked with a lead on a local date, and the two actions around it.

* **CALL_PREP** is due the work day before the call; when that day has already passed (a call
  logged the day before, or for today) it is due today. A call in the past gets no prep.
* **POST_CALL** is due the work day after the call, or today if that day has passed.
* **Once per call.** Logging the same lead and date again returns the call already logged
  (``created`` False) with its actions, and creates nothing; the unique constraint
  ``logged_calls_lead_id_call_date_key`` is the guarantee, even for two requests at once.
* **One pending prep (and one pending post-call) per lead**, as for every auto action, so a call
  logged while another call of the lead's has one pending shares it by this rule: the pending
  post-call is for the lead's *latest* call (one follow-up after the last conversation covers
  those before it), and the pending prep for its *soonest* call still to come (the next
  conversation is the one to prepare). A call that should have the pending action takes it over
  when the user has not touched it (module rule below): it is made again for this call, by the
  rules above, and the call it came from keeps its log. Otherwise it stays where it is and this
  call has none of its kind. Either way the result says so (``others``), and each channel tells the
  user what was made, what moved and what was not made, so no call goes without a word about its
  follow-up. A call in the past has no prep to share. This holds wherever a call is logged or
  moved: by hand (``nbm call``, ``/nbm call``, the Log-a-call form) and from the calendar.
* **Who logged it** (``logged_calls.source``, written once, when it is logged): ``person`` for a call
  logged from Slack or the CLI, ``system`` for one the system logged (``channel`` system: found in the
  calendar, or the demo's seed). Only a person's call is a day the user was active
  (``core.summaries.service``, ``days_active``), and it stays the system's when the calendar event
  that found it is gone or no longer with the lead (the search forgets the event and keeps a call
  the user acted on).
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

from sqlalchemy import and_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.actions.followups import PENDING_STATES, create_auto_action, lock_lead, work_days_for
from core.clock import local_today, utcnow
from core.errors import ValidationError
from core.leads import get_lead, unsnooze_lead
from core.models import (
    Action,
    ActionEvent,
    ActionOrigin,
    ActionState,
    ActionType,
    CallSource,
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
class OtherCall:
    """A pending prep or post-call (``kind``) of the lead's call on ``call_date``, weighed against a call
    just logged or moved by the rule of one pending per lead (module rules): ``held`` is that action
    when it stays with that call (and the new one has none of its kind), None when it moved to the new
    call."""

    kind: ActionType
    call_date: date
    held: Action | None


@dataclass(frozen=True)
class LoggedCallResult:
    """The call; its prep and post-call actions (None when it has none); whether it is new; whether
    the lead was snoozed and is active again; the other calls' pending actions it took over or that
    kept it from having its own (module rules)."""

    call: LoggedCall
    prep: Action | None
    post: Action | None
    created: bool
    woke: bool = False
    others: tuple[OtherCall, ...] = ()


def log_call(
    session: Session, *, user: User, lead_id: uuid.UUID, call_date: date, channel: Channel
) -> LoggedCallResult:
    """Log a call with the user's lead on ``call_date`` (local) and schedule its prep and post-call.

    ``channel`` is where the request came from, and says who logged the call (its ``source``, module
    rules); the actions themselves are the system's (their creation events say ``system``), like
    every rule-made action.
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
        .values(id=uuid.uuid4(), user_id=user.id, lead_id=lead.id, call_date=call_date, created_at=now,
                source=CallSource.SYSTEM if channel == Channel.SYSTEM else CallSource.PERSON)
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
    made = _schedule(session, user=user, lead=lead, call=call, today=today, at=now,
                     kinds={ActionType.CALL_PREP, ActionType.POST_CALL})
    return LoggedCallResult(call=call, prep=made.prep, post=made.post, created=True, woke=woke, others=made.others)


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
    return tuple(action for action in (made.prep, made.post) if action is not None)


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


@dataclass(frozen=True)
class _Scheduled:
    prep: Action | None
    post: Action | None
    others: tuple[OtherCall, ...]


def _schedule(session: Session, *, user: User, lead: Lead, call: LoggedCall, today: date, at: datetime,
              kinds: set[ActionType]) -> _Scheduled:
    """Make the call's prep and post-call of ``kinds`` by the module's rules, taking over another call's
    pending one where the rules give it to this call; each is None when not made."""
    work_days = work_days_for(session, user)
    when = _day(call.call_date, today)
    if call.call_date < today:
        kinds = kinds - {ActionType.CALL_PREP}
    others = tuple(other for kind in sorted(kinds) if (other := _share(session, lead=lead, call=call, kind=kind,
                                                                        today=today)) is not None)
    prep = post = None
    if ActionType.CALL_PREP in kinds:
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
    return _Scheduled(prep, post, others)


def _share(session: Session, *, lead: Lead, call: LoggedCall, kind: ActionType, today: date) -> OtherCall | None:
    """The lead's pending ``kind`` of another call, weighed against ``call`` (module rules): deleted when
    untouched and ``call`` should have it (``call`` then makes its own), kept otherwise; None when
    there is none."""
    found = session.execute(
        select(Action, LoggedCall.call_date, _UNTOUCHED.label("untouched"))
        .join(LoggedCall, LoggedCall.id == Action.logged_call_id)
        .where(Action.person_id == lead.id, Action.action_type == kind, Action.auto_created,
               Action.state.in_(PENDING_STATES), Action.logged_call_id != call.id)
        .with_for_update(of=Action)
    ).one_or_none()
    if found is None:
        return None
    pending, other_date, untouched = found
    if kind is ActionType.POST_CALL:
        ours = call.call_date > other_date
    else:
        ours = other_date < today or call.call_date < other_date
    if not (ours and untouched):
        return OtherCall(kind=kind, call_date=other_date, held=pending)
    session.delete(pending)
    session.flush()
    return OtherCall(kind=kind, call_date=other_date, held=None)


def _actions_of(session: Session, call: LoggedCall) -> list[Action]:
    return list(session.scalars(select(Action).where(Action.logged_call_id == call.id)))


#: An action still NEW with no event besides its creation (module rules).
_UNTOUCHED = and_(Action.state == ActionState.NEW, ~select(ActionEvent.id).where(
    ActionEvent.action_id == Action.id, ActionEvent.from_state.is_not(None)).exists())


def _untouched(session: Session, call: LoggedCall) -> list[Action]:
    """The call's untouched actions."""
    return list(session.scalars(select(Action).where(Action.logged_call_id == call.id, _UNTOUCHED)))


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
