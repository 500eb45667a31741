"""Replied asked of a message the system closed: the reply goes to the lead's message waiting now.

A lead has one message waiting for a reply (``core.actions.followups.close_waiting``): sending or
answering another closes the earlier one as the system (SENT → DONE, channel ``system``). Its row in
an older plan DM or email still offers Replied, and the lead did reply, so the reply must not be lost:

* **The lead has a message waiting** (SENT): Replied is asked of that one, as if pressed on it (the
  same check, the same rules: pending chasers archived, "Reply to <name>" due today), and every
  channel says where it went (:class:`core.actions.rules.MovedReply`). Its Undo is that message's.
* **Nothing is waiting, and the lead's reply was recorded since the close** (this very Replied asked
  a moment ago and moved, a double click, a retry, the link opened twice, or Replied marked on the
  message that was waiting): a repeat, not an error. The check is of the action holding that reply
  (the latest that stands), so every channel answers as it answers any repeat, with that action as
  it is now; nothing is written.
* **Nothing is waiting, and no reply since the close**: refused, saying that nothing of theirs is
  waiting any more.
* **A person's own Done** is left to the state table (refused): they finished it themselves.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actions.rules import Check, MovedReply, Verdict, check_change
from core.clock import local_today
from core.models import ACTION_LOG, ACTION_SENT_AT, Action, ActionState, Channel, Lead, User


def closed_by_system_at(session: Session, *, action: Action) -> datetime | None:
    """When the system closed ``action``: its change to DONE that stands came from channel ``system``.
    None when it is not done, or a person did it."""
    if action.state != ActionState.DONE or action.person_id is None:
        return None
    log = ACTION_LOG.c
    last = session.execute(
        select(log.channel, log.created_at).where(log.action_id == action.id, log.to_state == ActionState.DONE)
        .order_by(log.created_at.desc()).limit(1)
    ).first()
    return last.created_at if last is not None and last.channel == Channel.SYSTEM else None


def check_reply_to_closed(session: Session, *, user: User, action: Action, channel: Channel,
                          lock: bool) -> Check | None:
    """The check of Replied asked of ``action`` when the system closed it (module docstring): of the
    lead's waiting message (read ``lock``-ed, to act on it), or a refusal that says why; None when
    the system did not close it (the state table answers)."""
    closed_at = closed_by_system_at(session, action=action)
    if closed_at is None:
        return None
    lead = session.get_one(Lead, action.person_id)
    today = local_today(user.timezone)
    waiting_now = select(Action).where(Action.person_id == lead.id, Action.state == ActionState.SENT)
    if lock:
        waiting_now = waiting_now.with_for_update().execution_options(populate_existing=True)
    waiting = session.scalars(waiting_now).first()
    if waiting is None:
        replied = _reply_since(session, lead=lead, since=closed_at, lock=lock)
        if replied is not None:
            return Check(replied, ActionState.REPLIED, channel, Verdict.REPEAT)
        return Check(action, ActionState.REPLIED, channel, Verdict.REFUSED,
                     f"this message was closed when you marked another one to {lead.name}, and none is waiting "
                     "for their reply now")
    sent_at = session.scalar(select(ACTION_SENT_AT).where(Action.id == waiting.id))
    moved = MovedReply(asked=action, lead_name=lead.name, sent_on=local_today(user.timezone, at=sent_at),
                       today=today)
    return replace(check_change(waiting, ActionState.REPLIED, channel=channel), moved=moved)


def _reply_since(session: Session, *, lead: Lead, since: datetime, lock: bool) -> Action | None:
    """The lead's action holding their reply recorded at or after ``since`` (the latest that stands:
    an Undo takes one out of the log), read ``lock``-ed and afresh; None when none was recorded."""
    log = ACTION_LOG.c
    latest = (select(log.action_id).join(Action, Action.id == log.action_id)
              .where(Action.person_id == lead.id, log.to_state == ActionState.REPLIED, log.created_at >= since)
              .order_by(log.created_at.desc()).limit(1).scalar_subquery())
    replied = select(Action).where(Action.id == latest)
    if lock:
        replied = replied.with_for_update().execution_options(populate_existing=True)
    return session.scalars(replied).first()
