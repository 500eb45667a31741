"""Button presses and menu choices (block_actions).

A press on a plan item (Done, Sent, Replied, Snooze, Undo) is acknowledged at once, then runs one
unit of work: who is pressing, the change through the core, and what the pressed message shows
next. Once it is committed, the pressed message is redrawn in place (a plan message by
chat.update, the ephemeral "waiting" list by its response_url):

* Done or a snooze of an open item, and the undo of one, change nothing but the item's own row:
  that row is drawn anew from what the change holds, in the message as Slack sent it with the press.
* Any other change (Sent adds a row to the waiting list, Replied brings "Reply to …" into the plan)
  reads the plan of the day the message shows, in the same unit of work, and redraws it whole.
* Replied on a message the system closed goes to the lead's message waiting now (the core decides):
  the pressed row is not the one that changed, so an ephemeral answer says where the reply went.

The other places that show the plan (App Home, today's plan DM, and a message whose row
alone was redrawn, for its streak) are left to a coalesced job (``bot.slack.redraws``): ten
presses in a second redraw them once, off the request path. Pressing the same button twice, or a
press Slack delivers twice, changes nothing the second time: the core answers "already in that
state" and the redraw simply shows it.

The Undo offered with the answer to a typed mark (``/nbm done 2``) takes back the change that
answer names and says what it did in place of it (:func:`undo_typed_mark`).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from slack_bolt import App

from bot.slack import ids
from bot.slack.blocks.modals import add_lead_modal, connect_calendar_modal, connect_ics_modal
from bot.slack.blocks.replies import moved_reply, undone
from bot.slack.blocks.text import escape, section
from bot.slack.delivery import summary_shown
from bot.slack.listeners import forms
from bot.slack.listeners.common import Request, guarded
from bot.slack.surfaces import ROW_ONLY, Message, Shown, shown_after_press, update_message
from core.actions.service import change_state
from core.actions.undo import NOTHING_TO_UNDO, undo_last_change
from core.calendars import service as calendars
from core.calendars.disconnection import disconnect_calendar as disconnect_calendar_of
from core.clock import local_today
from core.config import get_settings
from core.errors import ValidationError
from core.models import ActionState, CalendarProvider, Channel, WeeklySummary
from core.planner.service import build_plan
from core.planner.sizing import planning_as_user
from core.planner.titles import title_of
from core.summaries.content import save_draft
from core.users import acting_as_user, get_settings_for


def register(app: App) -> None:
    for action_id in ids.MARKS:
        app.action(action_id)(guarded(mark))
    app.action(ids.SNOOZE_PRESET)(guarded(snooze))
    app.action(ids.SNOOZE_DATE)(guarded(snooze))
    app.action(ids.UNDO)(guarded(undo))
    app.action(ids.SAVE_DRAFT)(guarded(save_summary_draft))
    app.action(ids.OPEN_ADD_LEAD)(guarded(open_add_lead))
    app.action(ids.OPEN_LOG_CALL)(guarded(log_call_button))
    app.action(ids.OPEN_SETTINGS)(guarded(settings_button))
    app.action(ids.REFRESH_PLAN)(guarded(refresh_plan))
    for action_id in ids.CONNECT_CALENDARS:
        app.action(action_id)(guarded(connect_calendar))
    app.action(ids.DISCONNECT_CALENDAR)(guarded(disconnect_calendar))
    app.action(ids.OPEN_LINK)(lambda ack: ack())  # the browser opens the link; nothing to do here


def _action(request: Request) -> dict[str, Any]:
    return request.body["actions"][0]


def mark(request: Request) -> None:
    request.ack()
    action = _action(request)
    apply(request, to=ids.MARKS[action["action_id"]], until=None)


def snooze(request: Request) -> None:
    request.ack()
    action = _action(request)
    raw = action.get("selected_date") or (action.get("selected_option") or {}).get("value", "")
    try:
        until = date.fromisoformat(raw)
    except ValueError:
        raise ValidationError("pick a snooze date from the menu or the date picker") from None
    apply(request, to=ActionState.SNOOZED, until=until)


def undo(request: Request) -> None:
    """Take back the user's last change of the pressed item today, then redraw as after a press; the
    Undo of a typed mark's answer is :func:`undo_typed_mark`."""
    request.ack()
    pressed_control = _action(request)
    surface, action_id = ids.parse_item_block_id(pressed_control["block_id"])
    if surface is ids.Surface.MARKED:
        undo_typed_mark(request, action_id=action_id, change_id=ids.parse_change_value(pressed_control.get("value")))
        return
    pressed = _pressed_message(request) if surface is ids.Surface.PLAN else None
    with request.acting() as (session, user):
        result = undo_last_change(session, user=user, action_id=action_id, channel=Channel.SLACK)
        row_only = result.undone in ROW_ONLY and result.action.state == ActionState.NEW
        shown = shown_after_press(session, user=user, surface=surface, pressed=pressed,
                                  message=request.body.get("message"), action=result.action, row_only=row_only,
                                  undoable=False, page=ids.waiting_page_of(pressed_control["block_id"]))
    if not result.changed:
        request.reply(f"{NOTHING_TO_UNDO}.")
    _redraw_pressed(request, pressed, shown)


def undo_typed_mark(request: Request, *, action_id: uuid.UUID, change_id: uuid.UUID) -> None:
    """The Undo of a typed mark's answer takes back the change that answer names, and nothing if
    another change came since (its numbers and words would no longer say what is undone). What it
    did replaces the answer, button and all, so a second press (or Slack's retry) finds nothing to
    undo and says so there; the plan DM and App Home are redrawn as after any press."""
    with request.acting() as (session, user):
        result = undo_last_change(session, user=user, action_id=action_id, channel=Channel.SLACK,
                                  change_id=change_id)
        text = undone(result, title_of(result.action), today=local_today(user.timezone))
    try:
        request.replace(text, blocks=[section(text)])
    finally:
        if result.changed:
            request.redraw_later()


def apply(request: Request, *, to: ActionState, until: date | None) -> None:
    """Change the pressed item's action, then redraw where it was pressed (and, soon after, everywhere else)."""
    block_id = _action(request)["block_id"]
    surface, action_id = ids.parse_item_block_id(block_id)
    pressed = _pressed_message(request) if surface is ids.Surface.PLAN else None
    with request.acting() as (session, user):
        result = change_state(session, user=user, action_id=action_id, to=to, channel=Channel.SLACK, until=until)
        shown = shown_after_press(session, user=user, surface=surface, pressed=pressed,
                                  message=request.body.get("message"), action=result.action,
                                  row_only=result.changed and to in ROW_ONLY, undoable=True,
                                  page=ids.waiting_page_of(block_id))
        said = moved_reply(result) if result.moved is not None else None
    if said is not None:  # the reply went to another message than the row pressed: say which
        request.reply(said)
    _redraw_pressed(request, pressed, shown)


def _redraw_pressed(request: Request, pressed: Message | None, shown: Shown | None) -> None:
    """After the commit: the pressed message from ``shown``, then (whatever became of that) the
    coalesced redraw of the rest, the pressed message with it unless it was just drawn whole."""
    try:
        if shown is not None and pressed is not None:
            update_message(request.client, pressed, text=shown.text, blocks=shown.blocks)
        elif shown is not None:
            request.replace(shown.text, blocks=shown.blocks)
    finally:
        request.redraw_later(None if shown is not None and shown.whole else pressed)


def _pressed_message(request: Request) -> Message | None:
    container = request.body.get("container") or {}
    message = request.body.get("message") or {}
    channel, ts = container.get("channel_id"), container.get("message_ts")
    if not channel or not ts:
        return None
    return Message(channel, ts, ids.plan_day(message.get("blocks") or []))


def save_summary_draft(request: Request) -> None:
    """Save the draft, then redraw the message pressed (DM or ephemeral) with every saved draft."""
    request.ack()
    summary_id, kind = ids.parse_draft_value(_action(request)["value"])
    with acting_as_user(request.user_id) as (session, user):
        save_draft(session, user=user, summary_id=summary_id, kind=kind)
        text, blocks = summary_shown(session, user=user, summary=session.get_one(WeeklySummary, summary_id))
    container = request.body.get("container") or {}
    if container.get("is_ephemeral"):
        request.replace(text, blocks=blocks)
    elif container.get("channel_id") and container.get("message_ts"):
        request.client.chat_update(channel=container["channel_id"], ts=container["message_ts"],
                                   text=text, blocks=blocks)


def connect_calendar(request: Request) -> None:
    """App Home's Connect, Reconnect and Replace address buttons (and the expired-calendar DM's):
    the connect link of Google or Outlook (our page naming the account, then the provider's sign-in:
    ``bot.web.calendar_routes``), or the form for an iCal address."""
    request.ack()
    kind = _provider(_action(request).get("value"), to="connect")
    if kind == CalendarProvider.ICS:
        request.open_modal(connect_ics_modal())
        return
    with acting_as_user(request.user_id) as (session, user):
        url = calendars.oauth_start(session, user=user, kind=kind, settings=get_settings())
        guests = get_settings_for(session, user).call_detection  # oauth_start asked to read them too
    request.open_modal(connect_calendar_modal(calendars.NAMES[kind], url, guests=guests))


def disconnect_calendar(request: Request) -> None:
    """App Home's Disconnect button, pressed once Slack's confirmation was accepted: the calendar is
    disconnected as ``nbm calendar disconnect`` does it, the answer says what follows for the plans
    (``core.calendars.disconnection``), and App Home is redrawn without it."""
    request.ack()
    kind = _provider(_action(request).get("value"), to="disconnect")
    with request.acting() as (session, user):
        outcome = disconnect_calendar_of(session, user=user, kind=kind)
    request.reply(escape(outcome.said))
    if outcome.removed:
        request.redraw()


def _provider(value: Any, *, to: str) -> CalendarProvider:
    """The calendar a Connect or Disconnect button names; a value the app never sends is refused plainly."""
    try:
        return CalendarProvider(value)
    except ValueError:
        raise ValidationError(f"that button no longer matches a calendar; open App Home again to {to} one") from None


def open_add_lead(request: Request) -> None:
    request.ack()
    request.open_modal(add_lead_modal())


def log_call_button(request: Request) -> None:
    request.ack()
    forms.open_log_call(request)


def settings_button(request: Request) -> None:
    request.ack()
    forms.open_settings(request)


def refresh_plan(request: Request) -> None:
    """Refill today's plan (done items stay) and show it in App Home and today's plan DM."""
    request.ack()
    with planning_as_user(request.user_id) as (session, user, calendar):
        build_plan(session, user=user, refresh=True, calendar=calendar)
    request.redraw()
