"""Redrawing what shows a user's plan after a change made in Slack.

Three places may show the plan: the message the person pressed in, today's plan DM (the one the
morning delivered, and one posted on request: ``bot.slack.plan_dm``), and App Home. A
press redraws its own message at once, from its own unit of work (:func:`shown_after_press`):
only the pressed row, from what the change holds, when the change shows nowhere else, else the
whole message read afresh. :func:`redraw`, run by a coalesced job (``bot.slack.redraws``), then
draws App Home, today's plan DM and any message whose row alone was redrawn, whole, from
one fresh read. Every redraw happens after the change is committed and only reads: it never builds
a plan (opening App Home does, :func:`publish_home`). A redraw that fails (message
deleted, Slack hiccup) is logged and skipped: the change itself is already saved and the person
has been answered.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.slack.billing import billing_view
from bot.slack.blocks.home import HomeData, home_view
from bot.slack.blocks.plan import WAITING_PAGE, plan_message, waiting_message, with_item_redrawn
from bot.slack.blocks.text import Block
from bot.slack.delivery import reach
from bot.slack.errors import SlackDeliveryError, api_error_code
from bot.slack.ids import Surface
from bot.slack.plan_dm import Message, plan_messages
from core.actions.rules import EFFORT_MINUTES
from core.billing.status import NoService
from core.calendars import service as calendars
from core.clock import local_today
from core.config import get_settings
from core.leads import list_leads
from core.models import Action, ActionState, Channel, DailyPlan, DailyPlanAction, Lead, User
from core.planner.sizing import planning_as_user
from core.planner.view import (
    PlanItem,
    PlanView,
    action_title,
    count_waiting,
    day_plan_view,
    plan_view_building_if_missing,
    waiting_items,
)
from core.text import one_line
from core.users import acting_as_user, get_settings_for

log = logging.getLogger("nbm.slack.surfaces")


def home_content(session: Session, *, user: User, view: PlanView | None) -> Block:
    """The Home tab around ``view``, today's plan (None: not made yet)."""
    return home_view(HomeData(
        plan=view, leads=list_leads(session, user=user),
        settings=get_settings_for(session, user), timezone=user.timezone,
        calendars=calendars.list_connections(session, user=user), offered=calendars.offered(get_settings()),
        billing=billing_view(session, user=user), today=local_today(user.timezone),
    ))


def publish_home(client: WebClient, *, slack_user_id: str, user_id: uuid.UUID) -> None:
    """Publish App Home when the person opens it, building today's plan if the morning has not yet
    (so it is never empty just because the morning job has not run for this user); Slack is called
    once the plan is committed, outside the transaction. Without service none is made: the tab shows
    the rest, led by the billing banner that says why."""
    with planning_as_user(user_id) as (session, user, calendar):
        try:
            view: PlanView | None = plan_view_building_if_missing(session, user=user, calendar=calendar)
        except NoService:
            view = None
        home = home_content(session, user=user, view=view)
    _safely(client.views_publish, user_id=slack_user_id, view=home)


def redraw(client: WebClient, *, slack_user_id: str, user_id: uuid.UUID, pressed: Sequence[Message] = ()) -> None:
    """Redraw the pressed plan messages (those that say their day), today's plan DM (each copy:
    ``bot.slack.plan_dm.plan_messages``) and App Home.

    A redraw only reads: it builds no plan. Without a plan today there is no plan DM to redraw, and
    App Home says the plan is not made yet (opening it makes it: :func:`publish_home`)."""
    with acting_as_user(user_id) as (session, user):
        today = day_plan_view(session, user=user)
        messages: dict[Message, PlanView] = (
            dict.fromkeys(plan_messages(session, user_id=user.id, day=today.date), today) if today else {})
        for message in pressed:
            if message.day is not None and message not in messages:
                shown = pressed_view(session, user=user, day=message.day, today=today)
                if shown is not None:
                    messages[message] = shown
        drawn = {message: plan_message(shown) for message, shown in messages.items()}
        home = home_content(session, user=user, view=today)
    for message, (text, blocks) in drawn.items():
        update_message(client, message, text=text, blocks=blocks)
    _safely(client.views_publish, user_id=slack_user_id, view=home)


def pressed_view(session: Session, *, user: User, day: date, today: PlanView | None) -> PlanView | None:
    """What a plan message showing ``day`` shows now: that day's plan, or today's (``today``) when
    that day has none; None when neither was built. It only reads."""
    if today is None or day != today.date:
        shown = day_plan_view(session, user=user, day=day)
        if shown is not None:
            return shown
    return today


def pressed_item(session: Session, *, user: User, action: Action, day: date | None, undoable: bool) -> PlanItem:
    """``action`` as its plan row shows it now, from what the press's unit of work already holds (the
    action and its lead, locked by the change): the row a press redraws at once. A row that opens
    again (an undo) also reads whether it is the Fast Win of the plan of ``day``, the one thing its
    open row shows that the settled row did not."""
    lead = session.get(Lead, action.person_id) if action.person_id is not None else None
    fast_win = action.state == ActionState.NEW and day is not None and bool(session.scalar(
        select(DailyPlanAction.is_fast_win).join(DailyPlan, DailyPlan.id == DailyPlanAction.daily_plan_id)
        .where(DailyPlan.user_id == user.id, DailyPlan.date == day, DailyPlanAction.action_id == action.id)))
    return PlanItem(
        number=0,  # unread: the row keeps the number its message shows (blocks.plan.with_item_redrawn)
        action_id=action.id, action_type=action.action_type, state=action.state,
        title=action_title(action.action_type, lead_name=lead.name if lead else None, description=action.description),
        lead_id=action.person_id, lead_name=lead.name if lead else None, lead_url=lead.url if lead else None,
        is_fast_win=fast_win, minutes=EFFORT_MINUTES[action.action_type], due_date=action.due_date,
        note=one_line(action.notes or (lead.notes if lead else None)), undoable=undoable,
    )


#: Changes that show only in the pressed item's own row (and in the streak, which the redraw job draws).
ROW_ONLY = frozenset({ActionState.DONE, ActionState.SNOOZED})


@dataclass(frozen=True)
class Shown:
    """What a pressed message shows next; ``whole`` when drawn from a fresh read of the plan, not
    just its pressed row (then the redraw job need not draw it again)."""

    text: str
    blocks: list[Block]
    whole: bool


def shown_after_press(session: Session, *, user: User, surface: Surface, pressed: Message | None,
                      message: dict[str, Any] | None, action: Action, row_only: bool, undoable: bool,
                      page: int = 1) -> Shown | None:
    """What the message pressed in (``message``, as Slack sent it with the press) shows after the
    change to ``action``, from the press's own unit of work: the waiting list's ``page``, the one
    pressed in (or its new last page, when the change left fewer pages); or
    the plan message with only the pressed row drawn anew, from what the change holds, when the
    change shows nowhere else (``row_only``: see :data:`ROW_ONLY`) and the message has that row;
    else the plan of the day it shows (today's when that day has none), read whole. None for App
    Home (the redraw job's), for a message that does not say which day's plan it shows, and when
    there is no plan to show."""
    if surface is Surface.WAITING:
        return Shown(*waiting_page(session, user=user, page=page, clamped=True), whole=True)
    if pressed is None:
        return None
    blocks = (message or {}).get("blocks")
    if row_only and blocks:
        item = pressed_item(session, user=user, action=action, day=pressed.day, undoable=undoable)
        work_days = get_settings_for(session, user).work_days if item.is_open else ()
        redrawn = with_item_redrawn(blocks, item, today=local_today(user.timezone), work_days=work_days)
        if redrawn is not None:
            header = (redrawn[0].get("text") or {}).get("text") if redrawn else None
            return Shown(str((message or {}).get("text") or header or "Your plan"), redrawn, whole=False)
    if pressed.day is None:
        return None
    shown = day_plan_view(session, user=user, day=pressed.day) or day_plan_view(session, user=user)
    return Shown(*plan_message(shown), whole=True) if shown is not None else None


def update_message(client: WebClient, message: Message, *, text: str, blocks: list[Block]) -> None:
    """Redraw a plan message in place; Slack's refusal (the message was deleted, say) is logged."""
    _safely(client.chat_update, channel=message.channel, ts=message.ts, text=text, blocks=blocks)


def redraw_after_change(user_id: uuid.UUID, channel: Channel) -> None:
    """After a change made with the CLI, redraw today's plan DM and App Home at once. Changes
    made in Slack redraw themselves, with the pressed message; a change made from an email page is
    redrawn by the coalesced job the page schedules (``bot.slack.redraws``), never inside the web
    request; users who never used Slack have nothing to redraw."""
    if channel in (Channel.SLACK, Channel.EMAIL):
        return
    try:
        client, recipient = reach(user_id)
    except SlackDeliveryError:
        return
    redraw(client, slack_user_id=recipient.slack_user_id, user_id=user_id)


def _safely(call: Any, **kwargs: Any) -> None:
    try:
        call(**kwargs)
    except SlackApiError as error:
        log.warning("could not redraw a Slack surface (%s): %s", call.__name__, api_error_code(error))


def waiting_page(session: Session, *, user: User, page: int, clamped: bool = False) -> tuple[str, list[Block]]:
    """Page ``page`` of `/nbm waiting`, read from the core; ``clamped``, the last page instead of one
    past it (a press redraws its own page, which its change may have emptied; a page typed past the
    end is said to be so)."""
    total = count_waiting(session, user=user)
    if clamped:
        page = max(1, min(page, -(-total // WAITING_PAGE)))
    rows = waiting_items(session, user=user, limit=WAITING_PAGE, offset=(page - 1) * WAITING_PAGE)
    return waiting_message(rows, total=total, today=local_today(user.timezone), page=page)
