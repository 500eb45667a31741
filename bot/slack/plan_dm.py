"""Today's plan in a user's DM with the app: one message a day, whoever posts it first.

The morning delivery posts the day's plan DM and records it (``deliveries.external_id``,
``channel:ts``). Asked for the plan (``/nbm today``, "today" typed in the DM), the app brings the
message already there up to date and points to it (:func:`permalink`) rather than posting a second
copy; it posts one only when the day has none yet, or when Slack says the one it had is gone
(deleted: :data:`GONE`), and records it (:func:`record_posted`, ``slack_plan_messages``). The
morning delivery of a day whose plan was posted so takes that message over, updated in place,
instead of posting another (``bot.slack.delivery``). Every redraw draws each of
:func:`plan_messages` (``bot.slack.surfaces``): two at most, when the morning's message was deleted
and the plan posted again.

**One poster at a time.** Deciding to post (no copy found) and recording the post must not be
split by another poster, or two requests at the same instant (a double submit, Slack retrying a
slow command), or a request and the morning's delivery, each find none and each post: the user
gets two copies and the one not recorded goes stale. So every poster decides, posts and records in
its user's *turn* (:func:`asked_turn`, :func:`delivery_turn`): a unit of work holding a lock that is
the user's (a transaction-level advisory lock, which needs no row to exist), in which the copies
are read afresh. A request posts inside it and records the message before the turn ends; the
morning's delivery records its message in the ledger from its own unit of work, which holds the
delivery's row until then (``core.jobs.attempts``), so a request's turn first waits for a delivery
of that day being sent. A post that fails ends the turn with nothing recorded: nothing was sent
twice, and the next request (or the delivery's retry) posts. Slack is called inside the turn, the
price of deciding under the lock; the plan shown was read and committed before it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from bot.slack.blocks.text import Block
from bot.slack.errors import api_error_code, delivery_error
from core.db import hold_lock, unit_of_work
from core.models import Channel, Delivery, DeliveryKind, SlackPlanMessage

log = logging.getLogger("nbm.slack.plan_dm")

#: Slack's refusals of ``chat.update`` for a message that is no longer there to update.
GONE = frozenset({"message_not_found", "channel_not_found", "cant_update_message"})


@dataclass(frozen=True)
class Message:
    """A message in Slack: where it is, and the day of the plan it shows."""

    channel: str
    ts: str
    day: date | None = None


def plan_messages(session: Session, *, user_id: uuid.UUID, day: date) -> list[Message]:
    """Every plan message in the user's DM that shows ``day``'s plan, each once: the morning's
    delivery, then the one posted on request."""
    found = (delivered_plan(session, user_id=user_id, day=day), posted_plan(session, user_id=user_id, day=day))
    return list(dict.fromkeys(message for message in found if message is not None))


def delivered_plan(session: Session, *, user_id: uuid.UUID, day: date) -> Message | None:
    """The plan DM the morning job sent for ``day``, if it recorded one."""
    external_id = session.scalar(select(Delivery.external_id).where(
        Delivery.user_id == user_id, Delivery.kind == DeliveryKind.PLAN, Delivery.channel == Channel.SLACK,
        Delivery.period == day, Delivery.external_id.is_not(None)))
    channel, sep, ts = (external_id or "").partition(":")
    return Message(channel, ts, day) if sep and channel and ts else None


def posted_plan(session: Session, *, user_id: uuid.UUID, day: date) -> Message | None:
    """The plan DM posted on request that shows ``day``'s plan, if one was recorded."""
    row = session.get(SlackPlanMessage, user_id)
    return Message(row.channel, row.ts, row.day) if row is not None and row.day == day else None


@contextmanager
def asked_turn(user_id: uuid.UUID, *, day: date) -> Iterator[Session]:
    """The user's turn to post ``day``'s plan DM on request (module docstring): a unit of work in
    their context that first waits for the morning's Slack delivery of ``day`` if one is being sent
    (its job holds the delivery's row until its message is recorded; a share lock on that row, which
    does not hold up the morning's claims), then for any other poster of theirs."""
    with unit_of_work(user_id=user_id) as session:
        session.execute(select(Delivery.id).where(
            Delivery.user_id == user_id, Delivery.kind == DeliveryKind.PLAN, Delivery.channel == Channel.SLACK,
            Delivery.period == day).with_for_update(key_share=True))
        _wait_for_turn(session, user_id)
        yield session


@contextmanager
def delivery_turn(user_id: uuid.UUID) -> Iterator[Session]:
    """The morning delivery's turn to post the user's plan DM (module docstring). Its job holds the
    delivery's row already, which a request's turn takes before the user's lock: the same order."""
    with unit_of_work(user_id=user_id) as session:
        _wait_for_turn(session, user_id)
        yield session


def _wait_for_turn(session: Session, user_id: uuid.UUID) -> None:
    """Hold the user's plan DM lock until ``session``'s transaction ends (keyed by the user alone: one
    message row a user, whatever its day)."""
    hold_lock(session, f"plan-dm:{user_id}")


def record_posted(session: Session, *, user_id: uuid.UUID, message: Message) -> None:
    """Remember ``message``, just posted on request in the user's turn (``session``), in place of
    any earlier one."""
    assert message.day is not None, "a plan message shows a day"
    values = {"day": message.day, "channel": message.channel, "ts": message.ts}
    session.execute(insert(SlackPlanMessage).values(user_id=user_id, **values).on_conflict_do_update(
        index_elements=[SlackPlanMessage.user_id],
        set_={**values, "created_at": insert(SlackPlanMessage).excluded.created_at}))


def updated(client: WebClient, message: Message, *, text: str, blocks: list[Block]) -> bool:
    """Redraw ``message`` in place: False when Slack says it is gone (:data:`GONE`), so the plan must be
    posted afresh; any other refusal raises its delivery error (``bot.slack.errors.delivery_error``)."""
    try:
        client.chat_update(channel=message.channel, ts=message.ts, text=text, blocks=blocks)
    except SlackApiError as error:
        if api_error_code(error) in GONE:
            log.info("a plan message is gone (%s); it is posted again", api_error_code(error))
            return False
        raise delivery_error(error) from error
    return True


def permalink(client: WebClient, message: Message) -> str | None:
    """The address that opens ``message`` in Slack, or None when Slack will not give it (logged): a
    pointer to the message is still true without its link."""
    try:
        return str(client.chat_getPermalink(channel=message.channel, message_ts=message.ts)["permalink"])
    except SlackApiError as error:
        log.warning("could not get a plan message's permalink: %s", api_error_code(error))
        return None
