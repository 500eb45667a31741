"""Redrawing what shows a user's plan after a change made in Slack.

Three places may show the plan: the message the person pressed in, the plan DM delivered this
morning (the jobs record it in ``deliveries.external_id`` as ``channel:ts``), and App Home. All of
them are redrawn from one fresh read of the data, after the change is committed. A redraw that
fails (message deleted, Slack hiccup) is logged and skipped: the change itself is already saved
and the person has been answered.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.slack.acting import acting_as
from bot.slack.billing import billing_view
from bot.slack.blocks.home import HomeData, home_view
from bot.slack.blocks.plan import WAITING_PAGE, Block, plan_message, waiting_message
from bot.slack.delivery import reach
from bot.slack.errors import SlackDeliveryError, api_error_code
from core.calendars import service as calendars
from core.config import get_settings
from core.leads import list_leads
from core.models import Channel, Delivery, DeliveryKind, User
from core.planner.service import get_plan
from core.planner.view import PlanView, build_plan_view, count_waiting, plan_view, waiting_items
from core.users import get_settings_for

log = logging.getLogger("nbm.slack.surfaces")


@dataclass(frozen=True)
class Message:
    """A message in Slack: where it is, and the day of the plan it shows."""

    channel: str
    ts: str
    day: date | None = None


def home_content(session: Session, *, user: User, view: PlanView | None = None) -> dict[str, Any]:
    """The Home tab; opening it builds today's plan if the morning has not yet (so it is never empty
    just because the morning job has not run for this user)."""
    return home_view(HomeData(
        plan=view or build_plan_view(session, user=user), leads=list_leads(session, user=user),
        settings=get_settings_for(session, user), timezone=user.timezone,
        calendars=calendars.list_connections(session, user=user), offered=calendars.offered(get_settings()),
        billing=billing_view(session, user=user),
    ))


def publish_home(client: WebClient, *, slack_user_id: str, user_id: uuid.UUID) -> None:
    """Publish App Home once the plan it shows is committed (Slack is called outside the transaction)."""
    with acting_as(user_id) as (session, user):
        home = home_content(session, user=user)
    _safely(client.views_publish, user_id=slack_user_id, view=home)


def redraw(client: WebClient, *, slack_user_id: str, user_id: uuid.UUID, pressed: Message | None = None) -> None:
    """Redraw the pressed plan message, this morning's plan DM and App Home."""
    with acting_as(user_id) as (session, user):
        view = build_plan_view(session, user=user)
        delivered = delivered_plan(session, user=user, day=view.date)
        messages: dict[Message, PlanView] = {delivered: view} if delivered is not None else {}
        if pressed is not None and pressed.day is not None:
            other = get_plan(session, user=user, day=pressed.day) if pressed.day != view.date else None
            messages[pressed] = plan_view(session, user=user, plan=other) if other is not None else view
        drawn = {message: plan_message(shown) for message, shown in messages.items()}
        home = home_content(session, user=user, view=view)
    for message, (text, blocks) in drawn.items():
        _safely(client.chat_update, channel=message.channel, ts=message.ts, text=text, blocks=blocks)
    _safely(client.views_publish, user_id=slack_user_id, view=home)


def redraw_after_change(user_id: uuid.UUID, channel: Channel) -> None:
    """After a change made outside Slack (an email link, the CLI), redraw this morning's plan DM and
    App Home. Changes made in Slack redraw themselves, with the pressed message; users who never
    used Slack have nothing to redraw."""
    if channel == Channel.SLACK:
        return
    try:
        client, recipient = reach(user_id)
    except SlackDeliveryError:
        return
    redraw(client, slack_user_id=recipient.slack_user_id, user_id=user_id)


def delivered_plan(session: Session, *, user: User, day: date) -> Message | None:
    """The plan DM the morning job sent for ``day``, if it recorded one."""
    external_id = session.scalar(select(Delivery.external_id).where(
        Delivery.user_id == user.id, Delivery.kind == DeliveryKind.PLAN, Delivery.channel == Channel.SLACK,
        Delivery.period == day, Delivery.external_id.is_not(None)))
    channel, sep, ts = (external_id or "").partition(":")
    return Message(channel, ts, day) if sep and channel and ts else None


def _safely(call: Any, **kwargs: Any) -> None:
    try:
        call(**kwargs)
    except SlackApiError as error:
        log.warning("could not redraw a Slack surface (%s): %s", call.__name__, api_error_code(error))


def waiting_page(session: Session, *, user: User, page: int) -> tuple[str, list[Block]]:
    """Page ``page`` of `/nbm waiting`, read from the core."""
    rows = waiting_items(session, user=user, limit=WAITING_PAGE, offset=(page - 1) * WAITING_PAGE)
    return waiting_message(rows, total=count_waiting(session, user=user), page=page)
