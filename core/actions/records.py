"""Creating actions and writing the event log: the two writes every action rule goes through."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from core.clock import local_today, utcnow
from core.errors import ValidationError
from core.models import Action, ActionEvent, ActionOrigin, ActionState, ActionType, Channel, Lead, LoggedCall, User

MAX_TEXT = 10_000


def check_text(value: str | None, *, field: str, limit: int = MAX_TEXT) -> str | None:
    """Strip ``value``; refuse it when longer than ``limit`` characters (a 10 MB note is refused)."""
    if value is None:
        return None
    value = value.strip()
    if len(value) > limit:
        raise ValidationError(f"{field} is {len(value):,} characters long; the limit is {limit:,}")
    return value or None


def record_event(
    session: Session,
    *,
    action: Action,
    from_state: ActionState | None,
    channel: Channel,
    at: datetime | None = None,
    due_date_before: date | None = None,
    undoes: ActionEvent | None = None,
) -> ActionEvent:
    """Append one state change (``from_state`` None: the action was created) to the event log.

    ``due_date_before``: the due date the change replaced, when it moved it (a snooze); ``undoes``:
    the change this event takes back.
    """
    event = ActionEvent(
        user_id=action.user_id, action_id=action.id, from_state=from_state, to_state=action.state,
        channel=channel, created_at=at or utcnow(), due_date_before=due_date_before,
        undoes_event_id=undoes.id if undoes else None,
    )
    session.add(event)
    session.flush()
    return event


def create_action(
    session: Session,
    *,
    user: User,
    action_type: ActionType,
    due_date: date,
    channel: Channel,
    lead: Lead | None = None,
    origin: ActionOrigin = ActionOrigin.USER,
    auto_created: bool = False,
    description: str | None = None,
    notes: str | None = None,
    source_action: Action | None = None,
    logged_call: LoggedCall | None = None,
    at: datetime | None = None,
) -> Action:
    """Create an action in NEW and log its creation.

    ``due_date`` is a local date: it may not be before the user's own today (at ``at``, default now).
    """
    now = at or utcnow()
    today = local_today(user.timezone, at=now)
    if due_date < today:
        raise ValidationError(f"an action cannot be due on {due_date:%a %d %b %Y}, before today ({today:%a %d %b})")
    action = Action(
        user_id=user.id, person_id=lead.id if lead else None, action_type=action_type, state=ActionState.NEW,
        due_date=due_date, origin=origin, auto_created=auto_created,
        description=check_text(description, field="the description", limit=500),
        notes=check_text(notes, field="the notes"),
        source_action_id=source_action.id if source_action else None,
        logged_call_id=logged_call.id if logged_call else None, created_at=now,
    )
    session.add(action)
    session.flush()
    record_event(session, action=action, from_state=None, channel=channel, at=now)
    return action
