"""Sending a user's plan or weekly summary as a Slack DM, and who to DM.

The jobs call :func:`plan_sender` and :func:`summary_sender` in their unit of work, in the user's
context: each composes the message there and returns its sending, which the job calls once that unit
has committed, and which returns the message's ``channel:ts``. The job keeps it
(``deliveries.external_id``) so later presses and redraws update the same message.

So the data is read and any plan or summary is built in one committed unit of work *before* Slack
is called: a message never shows something that was then rolled back. Slack's failures are told apart
as :class:`SlackUnreachable` (retrying will not help: the app was uninstalled, the account is
deactivated, the user never used Slack…) or :class:`SlackRateLimited` (retry after ``retry_after``),
which the senders turn into the jobs' permanent and temporary delivery errors. The DM channel is
remembered on the user's Slack link; if Slack says it no longer exists, it is opened afresh once.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.slack import ids
from bot.slack.blocks.plan import plan_message
from bot.slack.blocks.summary import summary_message
from bot.slack.blocks.text import Block, button
from bot.slack.client import web_client
from bot.slack.errors import SlackDown, SlackRateLimited, SlackUnreachable, api_error_code, delivery_error
from bot.slack.plan_dm import Message, delivery_turn, posted_plan, updated
from bot.slack.tokens import workspace_auth
from core.calendars import service as calendars
from core.calendars.plans_sized import needs_reconnecting
from core.clock import local_today
from core.config import get_settings
from core.db import unit_of_work
from core.jobs.channels import ChannelOff, PermanentDeliveryError, Send, TemporaryDeliveryError
from core.models import CalendarProvider, Delivery, SlackUserLink, User, WeeklySummary
from core.planner.view import plan_view_building_if_missing
from core.slack_links import find_slack_link
from core.summaries.content import list_prompts
from core.summaries.service import build_weekly_summary
from core.users import acting_as_user, get_settings_for, get_user

log = logging.getLogger("nbm.slack.delivery")

#: Slack message metadata type that carries a delivery's id (see _deliver).
DELIVERY_EVENT = "nbm_delivery"


@dataclass(frozen=True)
class Recipient:
    """Where a user is reached in Slack: their link (team, Slack user, remembered DM channel)."""

    link_id: uuid.UUID
    slack_user_id: str
    dm_channel_id: str | None


def calendar_expired_dm(user_id: uuid.UUID, provider: CalendarProvider) -> bool:
    """Tell the user in their Slack DM that their ``provider`` calendar needs reconnecting, with a
    Reconnect button (a ``core.calendars.notices`` listener, through bot.channels); False when they
    do not use Slack, a :class:`~bot.slack.errors.SlackDeliveryError` when it could not be posted
    (email is tried next either way)."""
    with acting_as_user(user_id) as (session, user):
        if not get_settings_for(session, user).slack_enabled:
            return False
    client, to = reach(user_id)
    name = calendars.NAMES[provider]
    text = needs_reconnecting([provider])
    post_dm(client, to, text=text, blocks=[
        {"type": "section", "text": {"type": "mrkdwn", "text": f"⚠️ {text}"},
         "accessory": button(f"Reconnect {name}", ids.CONNECT_CALENDAR, provider.value, style="primary")},
    ])
    return True


def slack_on_for(session: Session, user_id: uuid.UUID) -> User:
    """The user a morning or Monday job posts to, refused (:class:`core.jobs.channels.ChannelOff`)
    while their Slack is off: turned off after the tick asked for the delivery, it is not owed, and
    the job gives its claim back untried, as for email (``bot.email.delivery.require_email_on``)."""
    user = get_user(session, user_id)
    if not get_settings_for(session, user).slack_enabled:
        raise ChannelOff(f"Slack is off for {user.email}; nothing was posted")
    return user


def plan_sender(session: Session, *, user_id: uuid.UUID, period: date, delivery_id: uuid.UUID) -> Send:
    """The morning job's Slack sender for a plan (core.jobs.channels.Sender); its send returns ``channel:ts``.
    A plan the user had posted on request that day is that day's plan DM already: it is brought up to
    date and taken as the delivery, not posted twice. Whether there is one is read when sending, in
    the user's turn (bot.slack.plan_dm), not when composing: a request may post one in between."""
    user = slack_on_for(session, user_id)
    text, blocks = plan_message(plan_view_building_if_missing(session, user=user, day=period))

    def send() -> str:
        with delivery_turn(user_id) as turn:
            posted = posted_plan(turn, user_id=user_id, day=period)
            return _post_once(user_id, delivery_id, text=text, blocks=blocks, posted=posted)

    return send


def summary_sender(session: Session, *, user_id: uuid.UUID, period: date, delivery_id: uuid.UUID) -> Send:
    """The Monday job's Slack sender for the summary of the week starting ``period``."""
    text, blocks = summary_content_building_if_missing(session, user=slack_on_for(session, user_id), week_start=period)
    return lambda: _post_once(user_id, delivery_id, text=text, blocks=blocks)


def _post_once(user_id: uuid.UUID, delivery_id: uuid.UUID, *, text: str, blocks: list[Block],
               posted: Message | None = None) -> str:
    """Post once per delivery, even across a crash between Slack's answer and our commit.

    Each message carries the delivery's id in its metadata. When the delivery was attempted before,
    the DM's recent history is searched for that id first, and a message found there is the answer.
    A message ``posted`` already (on request) that is still there is updated instead, and is the
    answer (updating twice is harmless). Slack's failures become the jobs' temporary (retry) or
    permanent (give up) errors.
    """
    try:
        client, to = reach(user_id)
        if posted is not None and updated(client, posted, text=text, blocks=blocks):
            return f"{posted.channel}:{posted.ts}"
        if to.dm_channel_id and _attempted_before(delivery_id):
            found = _already_posted(client, to.dm_channel_id, delivery_id)
            if found:
                return f"{to.dm_channel_id}:{found}"
        metadata = {"event_type": DELIVERY_EVENT, "event_payload": {"delivery_id": str(delivery_id)}}
        channel, ts = post_dm(client, to, text=text, blocks=blocks, metadata=metadata)
    except (SlackRateLimited, SlackDown) as error:
        raise TemporaryDeliveryError(str(error)) from error
    except SlackUnreachable as error:
        raise PermanentDeliveryError(str(error)) from error
    except (SlackRequestError, OSError) as error:
        raise TemporaryDeliveryError(f"could not reach Slack: {error}") from error
    return f"{channel}:{ts}"


def _attempted_before(delivery_id: uuid.UUID) -> bool:
    with unit_of_work(service=True) as session:
        return (session.scalar(select(Delivery.attempts).where(Delivery.id == delivery_id)) or 0) > 1


def _already_posted(client: WebClient, channel: str, delivery_id: uuid.UUID) -> str | None:
    """The ts of a recent message in ``channel`` carrying ``delivery_id``, if there is one."""
    try:
        history = client.conversations_history(channel=channel, limit=20, include_all_metadata=True)
    except SlackApiError as error:
        raise delivery_error(error) from error
    messages: list[dict[str, Any]] = history.get("messages") or []
    for message in messages:
        payload = (message.get("metadata") or {}).get("event_payload") or {}
        if payload.get("delivery_id") == str(delivery_id):
            return str(message["ts"])
    return None


def summary_content_building_if_missing(session: Session, *, user: User, week_start: date | None = None
                                        ) -> tuple[str, list[Block]]:
    """The summary message of a week (default: last week), building the summary if there is none."""
    return summary_shown(session, user=user, summary=build_weekly_summary(session, user=user, week_start=week_start))



def summary_shown(session: Session, *, user: User, summary: WeeklySummary) -> tuple[str, list[Block]]:
    """``summary`` as a message, its drafts shown as saved from the database, never from the message
    pressed: a draft may have been saved from another copy (the DM, or the `/nbm summary` answer)."""
    saved = frozenset(p.type for p in list_prompts(session, user=user) if p.weekly_summary_id == summary.id)
    return summary_message(summary, today=local_today(user.timezone), saved=saved)


def reach(user_id: uuid.UUID) -> tuple[WebClient, Recipient]:
    """A client for the user's workspace and where to DM them (their most recently linked workspace)."""
    settings = get_settings()
    with unit_of_work(service=True) as session:
        link = session.scalar(select(SlackUserLink).where(SlackUserLink.user_id == user_id)
                              .order_by(SlackUserLink.updated_at.desc()).limit(1))
        if link is None:
            raise SlackUnreachable("this user has not used NextBestMove in Slack", error="no_installation")
        to = Recipient(link.id, link.slack_user_id, link.dm_channel_id)
        team_id, enterprise_id = link.team_id, link.enterprise_id
    try:
        auth = workspace_auth(settings, enterprise_id=enterprise_id, team_id=team_id)
    except SlackApiError as error:  # the token could not be refreshed: only a reinstall helps
        raise delivery_error(error) from error
    if auth is None:
        raise SlackUnreachable("NextBestMove is no longer installed in this user's Slack workspace",
                               error="no_installation")
    return web_client(settings, token=auth.token), to


def recipient_for(*, team_id: str, slack_user_id: str) -> Recipient:
    """Where to DM the Slack user who is making a request (their link exists by then)."""
    with unit_of_work(service=True) as session:
        link = find_slack_link(session, team_id=team_id, slack_user_id=slack_user_id)
        if link is None:
            raise SlackUnreachable("this Slack user is not linked to NextBestMove", error="no_installation")
        return Recipient(link.id, link.slack_user_id, link.dm_channel_id)


def post_dm(client: WebClient, recipient: Recipient, *, text: str, blocks: list[Block],
            metadata: dict[str, Any] | None = None) -> tuple[str, str]:
    """Post in the user's DM with the app; a remembered channel Slack no longer knows is reopened once."""
    channel = recipient.dm_channel_id or _open_dm(client, recipient)
    try:
        response = client.chat_postMessage(channel=channel, text=text, blocks=blocks, metadata=metadata)
    except SlackApiError as error:
        if api_error_code(error) != "channel_not_found" or recipient.dm_channel_id is None:
            raise delivery_error(error) from error
        log.info("the remembered DM channel is gone; opening it again")
        channel = _open_dm(client, recipient)
        try:
            response = client.chat_postMessage(channel=channel, text=text, blocks=blocks, metadata=metadata)
        except SlackApiError as retry_error:
            raise delivery_error(retry_error) from retry_error
    return response["channel"], response["ts"]


def _open_dm(client: WebClient, recipient: Recipient) -> str:
    try:
        channel = client.conversations_open(users=recipient.slack_user_id)["channel"]["id"]
    except SlackApiError as error:
        raise delivery_error(error) from error
    with unit_of_work(service=True) as session:
        link = session.get(SlackUserLink, recipient.link_id)
        if link is not None:
            link.dm_channel_id = channel
    return channel
