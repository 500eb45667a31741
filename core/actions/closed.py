"""Replied asked of a message the system closed: the reply goes to the lead's message waiting now.

A lead has one message waiting for a reply (``core.actions.followups.close_waiting``): sending or
answering another closes the earlier one as the system (SENT → DONE, channel ``system``). Its row in
an older plan DM or email still offers Replied, and the lead did reply, so the reply must not be lost:

* **The lead has a message waiting** (SENT): Replied is asked of that one, as if pressed on it (the
  same check, the same rules: pending chasers archived, "Reply to <name>" due today), and every
  channel says where it went (:class:`core.actions.rules.MovedReply`). Its Undo is that message's.
* **Nothing is waiting**: refused, saying what is true: the lead's reply already recorded since the
  close (and on which day), or else that nothing of theirs is waiting any more.
* **A person's own Done** is left to the state table (refused): they finished it themselves.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.actions.rules import Check, MovedReply, Verdict, check_change
from core.clock import local_today
from core.models import ACTION_LOG, ACTION_SENT_AT, Action, ActionState, Channel, Lead, User
from core.text import short_date_from


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
        return Check(action, ActionState.REPLIED, channel, Verdict.REFUSED,
                     _nothing_waiting(session, user=user, lead=lead, since=closed_at))
    sent_at = session.scalar(select(ACTION_SENT_AT).where(Action.id == waiting.id))
    moved = MovedReply(asked=action, lead_name=lead.name, sent_on=local_today(user.timezone, at=sent_at),
                       today=today)
    return replace(check_change(waiting, ActionState.REPLIED, channel=channel), moved=moved)


def _nothing_waiting(session: Session, *, user: User, lead: Lead, since: datetime) -> str:
    """Why there is nowhere to put the reply: the lead's reply recorded at or after the close (the
    latest, on the user's local date), else that none of their messages is waiting any more."""
    log = ACTION_LOG.c
    replied_at = session.scalar(
        select(func.max(log.created_at)).join(Action, Action.id == log.action_id)
        .where(Action.person_id == lead.id, log.to_state == ActionState.REPLIED, log.created_at >= since)
    )
    if replied_at is not None:
        on = short_date_from(local_today(user.timezone, at=replied_at), today=local_today(user.timezone))
        return f"{lead.name}'s reply was already recorded on {on}, and no message to them is waiting for a reply now"
    return (f"this message was closed when you marked another one to {lead.name}, and none is waiting for "
            "their reply now")
