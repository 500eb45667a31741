"""Today's plan in a user's DM with the app: one message a day, whoever posts it first.

The morning delivery posts the day's plan DM and records it (``deliveries.external_id``,
``channel:ts``). Asked for the plan (``/nbm today``, "today" typed in the DM), the app brings the
message already there up to date and points to it (:func:`permalink`) rather than posting a second
copy; it posts one only when the day has none yet, or when Slack says the one it had is gone
(deleted: :data:`GONE`), and records it (:func:`record_posted`, ``slack_plan_messages``). The
morning delivery of a day whose plan was posted so takes that message over, updated in place,
instead of posting another (``bot.slack.delivery``). Every redraw draws each of
:func:`plan_messages` (``bot.slack.surfaces``): two at most, when a request and the morning's
delivery crossed, or the morning's message was deleted and the plan posted again.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from bot.slack.blocks.text import Block
from bot.slack.errors import api_error_code, delivery_error
from core.db import unit_of_work
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


def record_posted(user_id: uuid.UUID, message: Message) -> None:
    """Remember ``message``, just posted on request, in place of any earlier one (in its own unit of
    work: it is posted after the plan's was committed)."""
    assert message.day is not None, "a plan message shows a day"
    values = {"day": message.day, "channel": message.channel, "ts": message.ts}
    with unit_of_work(user_id=user_id) as session:
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
