"""Undo: a person takes back their own last change of an action, for the rest of that local day.

Rules (PRODUCT.md: "A person can undo their own change of an action for the rest of that local day"):

* **What can be undone** is the action's latest change that still stands, if a person made it (not
  the system), to Done, Sent, Replied or Snoozed, or out of a snooze (unsnoozed by hand), on the
  user's current local date, and the action is still as that change left it, and no Undo of the
  action came after it. Anything else — a
  second Undo, an Undo from yesterday's message, a change the system made since — has nothing to
  undo: a no-op that says so, never an error. So Undo takes back one change, not a chain: a double
  press (or Slack's retry) after Sent then Replied takes back the Replied only, never the Sent too.
* **The action is put back** as it was: its state, the due date a snooze moved, no completion time
  unless it is back in Replied. An unsnooze is taken back to the snooze and its date (the due date
  it moved, ``due_date_before``). A snooze moved to another date (logged SNOOZED → SNOOZED,
  ``core.actions.service``) is taken back to the date before, still snoozed; the first snooze stays,
  for a later Undo to find only if no Undo came after it (one change, not a chain, as above).
* **What the change set off in the same instant is taken back too**: the actions the follow-up
  rules created for it are deleted if untouched (still new, never changed since; one the user has
  acted on is theirs and stays), and the actions the system closed because of it (the lead's earlier
  waiting message, its pending follow-ups after a reply) are put back.
* **Logged, and then not counted**: each step is an event naming the change it takes back
  (``undoes_event_id``); the log as it stands (``action_log``) leaves out both, so the streak (which
  is recomputed) and the weekly numbers read as if the change had never been made.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from core.actions.records import record_event
from core.actions.rules import COMPLETION_STATES
from core.actions.service import locked_action
from core.changes import actions_changed
from core.clock import local_today, utcnow
from core.models import ACTION_LOG, Action, ActionEvent, ActionState, Channel, User
from core.streaks import refresh_streak
from core.text import short_date_from

#: The changes a person may take back, by the state they lead to: NEW is an unsnooze by hand (a
#: person's only change to it; an Undo's own events are not changes that stand).
UNDOABLE = frozenset({ActionState.DONE, ActionState.SENT, ActionState.REPLIED, ActionState.SNOOZED,
                      ActionState.NEW})
#: How every channel says the state an Undo returns to, before the action's title ("Undone, open again: …");
#: a snooze says its date (:func:`back_to`).
_BACK_TO = {ActionState.NEW: "open again", ActionState.SENT: "back to waiting for a reply",
            ActionState.REPLIED: "back to replied", ActionState.SNOOZED: "back to snoozed",
            ActionState.DONE: "done again", ActionState.ARCHIVED: "archived again"}
#: How every channel answers an Undo that finds nothing to take back: true of a plan row's or a
#: page's Undo (the latest change) and of a typed mark's (the change it names, which another change,
#: the person's or the system's, may have followed).
NOTHING_TO_UNDO_WHY = "that change was already taken back, was not made today, or the action has changed since"
NOTHING_TO_UNDO = f"Nothing to undo: {NOTHING_TO_UNDO_WHY}"


@dataclass(frozen=True)
class UndoResult:
    """The action after the request; ``undone`` is the state taken back (None: nothing to undo)."""

    action: Action
    undone: ActionState | None

    @property
    def changed(self) -> bool:
        return self.undone is not None


def back_to(action: Action, *, today: date) -> str:
    """What every channel says ``action`` is back to after an Undo, before its title: a snooze with
    the date it now ends (that of a moved snooze taken back), with its year when months from
    ``today`` (the user's)."""
    if action.state == ActionState.SNOOZED and action.snooze_until is not None:
        return f"{_BACK_TO[action.state]} until {short_date_from(action.snooze_until, today=today)}"
    return _BACK_TO[action.state]


def _standing() -> ColumnElement[bool]:
    """An event of the log as it stands (in the view ``action_log``: not an undo, and not undone)."""
    return exists().where(ACTION_LOG.c.id == ActionEvent.id)


def _undone_since(action_id: InstrumentedAttribute[uuid.UUID] | uuid.UUID,
                  change_id: InstrumentedAttribute[uuid.UUID] | ColumnElement[uuid.UUID] | uuid.UUID,
                  at: ColumnElement[datetime] | datetime) -> ColumnElement[bool]:
    """SQL: an Undo of the action took back another change made at ``at`` or later than the change
    ``change_id`` (made at ``at``), so that change stays (module rules). Changes made in the same
    instant count as later: the order of the two cannot be told, and one Undo too few is the safe side."""
    undo, undone = aliased(ActionEvent), aliased(ActionEvent)
    return exists().where(undo.action_id == action_id, undone.id == undo.undoes_event_id,
                          undone.id != change_id, undone.created_at >= at)


def changed_today_by_a_person(action: type[Action], *, since: datetime) -> ColumnElement[bool]:
    """SQL: the action's present state was set by a person since ``since`` (the start of the user's
    day), by a change that stands, that Undo takes back and that no Undo came after; what the plan
    offers an Undo button for. Pressing it asks :func:`undo_last_change`, which decides."""
    log = ACTION_LOG.c
    return exists().where(
        log.action_id == action.id, log.to_state == action.state, log.from_state.is_not(None),
        log.channel != Channel.SYSTEM, log.to_state.in_(list(UNDOABLE)), log.created_at >= since,
        ~_undone_since(action.id, log.id, log.created_at),
    )


def undoable_change(session: Session, *, user: User, action: Action) -> ActionEvent | None:
    """The change of ``action`` an Undo would take back now, or None (see the module's rules)."""
    latest = session.scalars(
        select(ActionEvent)
        .where(ActionEvent.action_id == action.id, ActionEvent.from_state.is_not(None),
               ActionEvent.to_state == action.state, _standing())
        .order_by(ActionEvent.created_at.desc())
        .limit(1)
    ).first()
    if (latest is None or latest.channel == Channel.SYSTEM or latest.to_state not in UNDOABLE
            or local_today(user.timezone, at=latest.created_at) != local_today(user.timezone)
            or session.scalar(select(_undone_since(action.id, latest.id, latest.created_at)))):
        return None
    return latest


def undo_last_change(session: Session, *, user: User, action_id: uuid.UUID, channel: Channel,
                     change_id: uuid.UUID | None = None) -> UndoResult:
    """Take back the user's last change of their action today, and what it set off (module docstring).

    ``change_id``: take back that change only, nothing if another would be taken back now (an Undo
    offered with the answer that names one change, which a later change has made stale)."""
    action = locked_action(session, user=user, action_id=action_id)
    change = undoable_change(session, user=user, action=action)
    if change is None or change_id not in (None, change.id):
        return UndoResult(action=action, undone=None)
    now = utcnow()
    # In the order the lead's one-at-a-time rules allow at every step: the follow-up the change
    # created holds the lead's one pending automatic place of its type, which a follow-up put back to
    # new takes again (``actions_one_pending_auto_per_lead_type``); and the earlier message the change
    # closed may be sent again only once this one no longer is (``actions_one_sent_per_lead``).
    _delete_created(session, action=action, change=change)
    _put_back(session, action=action, change=change, channel=channel, at=now)
    _reopen_closed(session, action=action, change=change, at=now)
    if change.to_state in COMPLETION_STATES:
        refresh_streak(session, user=user)
    actions_changed(session, user_id=user.id, channel=channel)
    return UndoResult(action=action, undone=change.to_state)


def _put_back(session: Session, *, action: Action, change: ActionEvent, channel: Channel, at: datetime) -> None:
    assert change.from_state is not None
    action.state = change.from_state
    if action.state not in COMPLETION_STATES:
        action.completed_at = None
    if change.to_state == ActionState.SNOOZED:
        action.snooze_until = None
    if change.due_date_before is not None:
        action.due_date = change.due_date_before
    if action.state == ActionState.SNOOZED:  # a move out of a snooze, taken back: snoozed to its due date
        action.snooze_until = action.due_date
    session.flush()
    record_event(session, action=action, from_state=change.to_state, channel=channel, at=at,
                 undoes=change)


def _delete_created(session: Session, *, action: Action, change: ActionEvent) -> None:
    """Delete the actions the rules created for ``change``, those still untouched."""
    made = session.scalars(
        select(Action).where(Action.source_action_id == action.id, Action.auto_created,
                             Action.created_at == change.created_at, Action.state == ActionState.NEW)
    ).all()
    for new in made:
        touched = session.scalar(
            select(exists().where(ActionEvent.action_id == new.id, ActionEvent.from_state.is_not(None))))
        if not touched:
            session.execute(delete(Action).where(Action.id == new.id))


def _reopen_closed(session: Session, *, action: Action, change: ActionEvent, at: datetime) -> None:
    """Put back the lead's other actions the system closed because of ``change``."""
    if action.person_id is None:
        return
    closed = session.execute(
        select(ActionEvent, Action).join(Action, Action.id == ActionEvent.action_id)
        .where(Action.person_id == action.person_id, Action.id != action.id,
               ActionEvent.channel == Channel.SYSTEM, ActionEvent.created_at == change.created_at,
               ActionEvent.from_state.is_not(None), _standing())
        .with_for_update(of=Action)
    ).all()
    for event, other in closed:
        if other.state != event.to_state or event.from_state is None:
            continue
        other.state = event.from_state
        if other.state not in COMPLETION_STATES:
            other.completed_at = None
        if other.state == ActionState.SNOOZED:
            other.snooze_until = other.due_date
        session.flush()
        record_event(session, action=other, from_state=event.to_state, channel=Channel.SYSTEM, at=at,
                     undoes=event)
    session.expire_all()
