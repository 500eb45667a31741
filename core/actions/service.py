"""Reading actions and changing their state: the one entry point behind Slack buttons, email links and the CLI.

Rules where the product spec is silent:

* **A repeat is not an error.** Asking for the state an action is already in answers with the
  current state (``changed`` False) and writes nothing.
* **Snoozing a snoozed action to another date moves the date** (``changed`` True). It is a change
  of the person's like any other, so it is logged: an event from SNOOZED to SNOOZED keeping the date
  before (``due_date_before``), which an Undo puts back (the action stays snoozed, until that
  date). Nothing that counts events reads it as a mark: streaks and the week's completions, replies
  and sends count events *to* Done, Replied or Sent; like the first snooze, it is the person's
  activity of that day (``days_active``) and a touch of the lead.
* **Snoozing moves the due date** to the snooze date, so the action comes back as due that day,
  not as days overdue; unsnoozing by hand before then makes it due today.
* **Archiving is the system's.** DONE → ARCHIVED happens 90 days after completion; a person
  asking for it is refused (``channel`` other than ``system``).
* **A completion is the user's** when it does not come from the system: only then does it count
  for the streak (:func:`core.streaks.count_completion`), so a follow-up that closes the earlier
  waiting action adds nothing to it.
* **Replied on a message the system closed** goes to the lead's message waiting now, is a repeat
  once the lead's reply was recorded since the close, or is refused saying why
  (``core.actions.closed``): :func:`check_request` reads it, for every channel.
* **Concurrency.** The action's lead (rules for a lead run one at a time) and then the action are
  row-locked, so two simultaneous presses apply once: the second sees the new state and is a repeat.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core.actions import followups
from core.actions.closed import check_reply_to_closed
from core.actions.records import record_event
from core.actions.rules import COMPLETION_STATES, VERBS, Check, MovedReply, Verdict, check_change
from core.actions.snooze import check_snooze_until
from core.changes import actions_changed
from core.clock import local_today, utcnow
from core.errors import NotFound, ValidationError
from core.models import ACTION_SENT_AT, Action, ActionEvent, ActionState, Channel, User
from core.streaks import count_completion

NOT_FOUND = "no such action; it may have been removed, or the link was meant for another account"


@dataclass(frozen=True)
class TransitionResult:
    """The action after the request; ``changed`` False when it already was in that state.

    ``created`` holds the actions the follow-up rules made (empty on a repeat); ``moved``: the reply
    asked of a message the system closed went to ``action``, the lead's message waiting then.
    ``change`` is the change written to the log (a snooze moved to another date too), which an Undo
    of exactly this change names; None on a repeat, which writes nothing.
    """

    action: Action
    changed: bool
    created: tuple[Action, ...]
    moved: MovedReply | None = None
    change: ActionEvent | None = None


def get_action(session: Session, *, user: User, action_id: uuid.UUID) -> Action:
    """The user's action; someone else's is as unknown as one that never existed (same message)."""
    action = session.scalar(select(Action).where(Action.id == action_id, Action.user_id == user.id))
    if action is None:
        raise NotFound(NOT_FOUND)
    return action


def list_actions(session: Session, *, user: User, state: ActionState | None = None) -> list[Action]:
    """The user's actions (optionally in one state), soonest due first, then oldest."""
    query = select(Action).where(Action.user_id == user.id)
    if state is not None:
        query = query.where(Action.state == state)
    return list(session.scalars(query.order_by(Action.due_date, Action.created_at, Action.id)))


def list_waiting(session: Session, *, user: User) -> list[Action]:
    """SENT actions waiting for a reply, the longest-waiting (earliest sent) first.

    When it was sent: :data:`core.models.ACTION_SENT_AT`, the one definition every channel orders by.
    """
    return list(session.scalars(
        select(Action).where(Action.user_id == user.id, Action.state == ActionState.SENT)
        .order_by(ACTION_SENT_AT, Action.created_at, Action.id)
    ))


def change_state(
    session: Session,
    *,
    user: User,
    action_id: uuid.UUID,
    to: ActionState,
    channel: Channel,
    until: date | None = None,
) -> TransitionResult:
    """Move the user's action to ``to`` (``until``: the local date a snooze ends), then fire the rules:
    :func:`check_request` of the locked action, then :func:`do_change`.

    Validation comes before any write, so a refused request changes nothing.
    """
    check = check_request(session, user=user, action_id=action_id, to=to, channel=channel, lock=True)
    return do_change(session, user=user, check=check, until=until)


def check_request(
    session: Session, *, user: User, action_id: uuid.UUID, to: ActionState, channel: Channel, lock: bool
) -> Check:
    """The check of ``channel`` asking the user's action to become ``to``: of the action read locked
    (``lock``, to act on it with :func:`do_change`) or not (to show what acting would do, as the
    email's confirmation page does), so what a channel previews is what it does.

    :func:`core.actions.rules.check_change`, except that Replied asked of a message the system closed
    is checked on the lead's message waiting now (``core.actions.closed``).
    """
    action = (locked_action if lock else get_action)(session, user=user, action_id=action_id)
    if to == ActionState.REPLIED:
        moved = check_reply_to_closed(session, user=user, action=action, channel=channel, lock=lock)
        if moved is not None:
            return moved
    return check_change(action, to, channel=channel)


def do_change(session: Session, *, user: User, check: Check, until: date | None = None) -> TransitionResult:
    """Act on ``check``, from :func:`check_request` with ``lock`` in this unit of work: a repeat
    answers with the action as it is, a refusal raises, an allowed change is made.

    A channel that answers a repeat or a refusal its own way (the email's pages) checks first and
    hands its check here, so the state machine runs once per request.
    """
    action, to, channel = check.action, check.target, check.channel
    now = utcnow()
    today = local_today(user.timezone, at=now)
    if to == ActionState.SNOOZED:
        if until is None:
            raise ValidationError("pick a date to snooze until: tomorrow, in 3 days, next Monday, in 2 weeks or a date")
        check_snooze_until(until, today=today)
    elif until is not None:
        raise ValidationError(f"only a snooze takes a date; leave the date out to {VERBS[to]}")

    if check.verdict is Verdict.REPEAT:
        return _repeat(session, user=user, action=action, until=until, channel=channel, at=now)
    if check.verdict is Verdict.REFUSED:
        raise check.refusal()

    if to in (ActionState.SENT, ActionState.REPLIED):
        followups.close_waiting(session, action=action, at=now)
    from_state, due_before = action.state, action.due_date
    action.state = to
    if to in COMPLETION_STATES:
        action.completed_at = now
    if until is not None:  # a snooze: only a snooze takes a date (checked above)
        action.snooze_until = action.due_date = until
    if from_state == ActionState.SNOOZED:
        action.snooze_until = None
        action.due_date = today  # the system unsnoozes in SQL (core.housekeeping): this is by hand
    # One flush writes the change and its event (record_event flushes).
    change = record_event(session, action=action, from_state=from_state, channel=channel, at=now,
                          due_date_before=due_before if action.due_date != due_before else None)

    created = followups.apply_rules(session, user=user, action=action, at=now)
    if to in COMPLETION_STATES and channel != Channel.SYSTEM:
        count_completion(session, user=user, today=today)
    actions_changed(session, user_id=user.id, channel=channel)
    return TransitionResult(action=action, changed=True, created=created, moved=check.moved, change=change)


#: The action ``:action_id`` of the user ``:user_id``, freshly read and locked (built once).
_LOCK_ACTION = (select(Action).where(Action.id == bindparam("action_id"), Action.user_id == bindparam("user_id"))
                .with_for_update().execution_options(populate_existing=True))


def locked_action(session: Session, *, user: User, action_id: uuid.UUID) -> Action:
    """The user's action, freshly read and row-locked, after its lead's lock (same order everywhere).

    The lead is found and locked in one statement (the action's ``person_id`` never changes), then
    the action: two round trips on every change, which every press, link and command makes."""
    ids = {"action_id": action_id, "user_id": user.id}
    session.scalars(followups.LOCK_LEAD_OF_ACTION, ids).one_or_none()
    action = session.scalars(_LOCK_ACTION, ids).one_or_none()
    if action is None:
        raise NotFound(NOT_FOUND)
    return action


def _repeat(session: Session, *, user: User, action: Action, until: date | None, channel: Channel,
            at: datetime) -> TransitionResult:
    """Already in the asked state: a no-op, except that a snooze to another date moves the date, a
    change logged SNOOZED → SNOOZED with the date it replaces (module rules), so Undo can put it back."""
    if action.state == ActionState.SNOOZED and until is not None and until != action.snooze_until:
        due_before = action.due_date
        action.snooze_until = action.due_date = until
        change = record_event(session, action=action, from_state=ActionState.SNOOZED, channel=channel, at=at,
                              due_date_before=due_before)
        actions_changed(session, user_id=user.id, channel=channel)
        return TransitionResult(action=action, changed=True, created=(), change=change)
    return TransitionResult(action=action, changed=False, created=())
