"""Modal submissions: add a lead, log a call, settings, an iCal address.

Invalid input is answered inside the modal (``response_action="errors"``) on the field at fault,
using the core's own validators and messages, and nothing is saved. A saved lead or call turns the
modal into a short confirmation; saved settings close it. App Home is redrawn after each change.
An iCal address, whose read may outlast the 3 seconds Slack waits, is acknowledged with a "Reading
your calendar…" modal first, and its outcome shown in that modal once read (``submit_connect_ics``);
if the person closed it meanwhile, the outcome comes as a DM instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot.slack import ids
from bot.slack.blocks.modals import connect_ics_modal, notice_modal
from bot.slack.blocks.replies import calendar_connected, call_logged
from bot.slack.blocks.text import Block, escape, section
from bot.slack.delivery import post_dm, recipient_for
from bot.slack.errors import api_error_code, log, user_message
from bot.slack.listeners.common import Request, guarded
from bot.slack.listeners.forms import add_lead_then_plan
from core.access import has_service
from core.actions.records import check_text
from core.calendars import service as calendars
from core.calendars.call_detection import detection_said
from core.calendars.feed import validate_address
from core.calendars.health import hiding_guests
from core.calendars.plans_sized import after_connecting
from core.clock import local_today, zone
from core.config import get_settings
from core.errors import NbmError, NotFound, ValidationError
from core.leads import DuplicateLead, get_lead, validate_email, validate_url
from core.models import CalendarProvider, Channel
from core.names import validate_name
from core.planner.replan import log_call_and_replan
from core.preferences import parse_delivery_time, parse_work_days, set_call_detection, update_preferences
from core.users import acting_as_user, set_timezone


def register(app: App) -> None:
    app.view(ids.ADD_LEAD_VIEW)(guarded(submit_add_lead))
    app.view(ids.LOG_CALL_VIEW)(guarded(submit_log_call))
    app.view(ids.SETTINGS_VIEW)(guarded(submit_settings))
    app.view(ids.CONNECT_ICS_VIEW)(guarded(submit_connect_ics))


def _values(request: Request) -> dict[str, Any]:
    """``field → element state`` of the submitted modal."""
    state = request.body["view"]["state"]["values"]
    return {field: elements.get("value", {}) for field, elements in state.items()}


def _check(errors: dict[str, str], block: str, check: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a core validator; its refusal becomes the error shown on the modal's ``block``."""
    try:
        return check(*args, **kwargs)
    except ValidationError as error:
        errors[block] = user_message(error)
        return None


def submit_add_lead(request: Request) -> None:
    """Every field is checked before anything is saved, so all mistakes show at once; a link the
    user already has is shown on the link field, naming the lead that has it.

    The answer comes within Slack's 3 s, and a calendar may take longer to read: when today's plan is
    still to be made and a calendar sizes it, the lead is added before the answer and the plan made
    after it, the calendar read in between (:func:`bot.slack.listeners.forms.add_lead_then_plan`)."""
    values = _values(request)
    name, url = values["name"].get("value") or "", values["url"].get("value") or ""
    notes = values.get("notes", {}).get("value")
    email = values.get("email", {}).get("value")
    errors: dict[str, str] = {}
    _check(errors, "name", validate_name, name)
    _check(errors, "url", validate_url, url)
    _check(errors, "email", validate_email, email or "")
    _check(errors, "notes", check_text, notes, field="the note")
    if errors:
        request.ack(response_action="errors", errors=errors)
        return
    try:
        add_lead_then_plan(request, name=name, url=url, notes=notes, email=email, answer=lambda text: request.ack(
            response_action="update", view=notice_modal("Lead added", text)))
    except DuplicateLead as error:
        request.ack(response_action="errors", errors={"email" if error.by_email else "url": user_message(error)})


def submit_log_call(request: Request) -> None:
    """A lead that is not (or no longer) theirs is answered on the lead field; any other refusal
    (a date more than a year away) on the date field."""
    values = _values(request)
    raw_lead = (values["lead"].get("selected_option") or {}).get("value", "")
    raw_date = values["date"].get("selected_date") or ""
    try:
        lead_id, call_date = uuid.UUID(raw_lead), date.fromisoformat(raw_date)
    except ValueError:
        request.ack(response_action="errors", errors={"lead": "Choose a lead and a date."})
        return
    try:
        with acting_as_user(request.user_id) as (session, user):
            result = log_call_and_replan(session, user=user, lead_id=lead_id, call_date=call_date,
                                         channel=Channel.SLACK)
            text = call_logged(get_lead(session, user=user, lead_id=lead_id).name, result,
                               today=local_today(user.timezone))
    except NotFound as error:
        request.ack(response_action="errors", errors={"lead": user_message(error)})
        return
    except NbmError as error:
        request.ack(response_action="errors", errors={"date": user_message(error)})
        return
    request.ack(response_action="update", view=notice_modal("Call logged", text))
    request.redraw()


def submit_settings(request: Request) -> None:
    """Delivery time, channels and work days are saved as the email preferences page saves them;
    the timezone must be an IANA name our tz database knows. Call detection turned on with a calendar
    hiding its guests is answered as the page answers it (``core.calendars.health.hiding_guests``):
    connect it again, with its command, only where this server offers that; turned on with no calendar
    or without service, with the sentence App Home says of it."""
    values = _values(request)
    errors: dict[str, str] = {}
    delivery = _check(errors, "delivery_time", parse_delivery_time,
                      values["delivery_time"].get("selected_time") or "")
    timezone = (values["timezone"].get("value") or "").strip()
    _check(errors, "timezone", zone, timezone)
    days = _check(errors, "work_days", parse_work_days,
                  [option["value"] for option in values["work_days"].get("selected_options") or []])
    channels = {option["value"] for option in values["channels"].get("selected_options") or []}
    # A settings form opened before working hours were in it has no such fields: they stay as they are.
    hours = None
    if "hours_start" in values or "hours_end" in values:
        start = _check(errors, "hours_start", parse_delivery_time,
                       values.get("hours_start", {}).get("selected_time") or "")
        end = _check(errors, "hours_end", parse_delivery_time, values.get("hours_end", {}).get("selected_time") or "")
        if start is not None and end is not None and start >= end:
            errors["hours_end"] = "Working hours must end after they start, on the same day."
        hours = (start, end)
    # So is call detection, for a form opened before it was there.
    detect = (bool(values["call_detection"].get("selected_options")) if "call_detection" in values else None)
    if errors:
        request.ack(response_action="errors", errors=errors)
        return
    with acting_as_user(request.user_id) as (session, user):
        update_preferences(session, user=user, delivery_time=delivery, email="email" in channels,
                           slack="slack" in channels, work_days=days, working_hours=hours)
        set_timezone(session, user=user, timezone=timezone)
        reconnect = set_call_detection(session, user=user, on=detect) if detect is not None else ()
        connections = calendars.list_connections(session, user=user)
        served = has_service(session, user.id)
    again, lost = hiding_guests(reconnect, calendars.offered(get_settings()))
    said = [*([_connect_again(again)] if again else []), *lost]
    if detect and (not connections or not served):  # on, with nothing searched: said as App Home says it
        said.append(detection_said(on=True, connections=connections, service=served) + (
            " Connect one from App Home or with `/nbm connect`." if not connections else ""))
    if said:
        request.ack(response_action="update", view=notice_modal("Settings saved", " ".join(["Saved.", *said])))
    else:
        request.ack()
    request.redraw()


def _connect_again(kinds: Sequence[CalendarProvider]) -> str:
    """How to let ``kinds`` (offered here, hiding their guests) show them: their `/nbm connect` commands."""
    names = " and ".join(calendars.NAMES[kind] for kind in kinds)
    commands = ", ".join(f"`/nbm connect {kind.value}`" for kind in kinds)
    it = "it" if len(kinds) == 1 else "them"
    return (f"To find your calls, connect {names} again ({commands}) and allow {it} to see who attends your "
            f"events; until then your calls with leads are not found in {it}.")


def submit_connect_ics(request: Request) -> None:
    """A private iCal address is connected after one good read of it, which can take longer than the
    3 seconds Slack waits for an answer. So an address that is not one is refused at once, on its
    field; a well-formed one is answered by turning the modal into "Reading your calendar…", then
    read, then the modal is updated (``views.update``) with the outcome: connected, or the form again
    with the reason above it, to paste a corrected address."""
    address = (_values(request)["address"].get("value") or "").strip()
    try:
        validate_address(address)
    except ValidationError as refused:
        request.ack(response_action="errors", errors={"address": user_message(refused)})
        return
    request.ack(response_action="update", view=notice_modal(
        "Add an iCal address", "Reading your calendar… This can take a few seconds."))
    view_id = request.body["view"]["id"]
    try:
        with acting_as_user(request.user_id) as (session, user):
            connection = calendars.connect_ics(session, user=user, url=address)
            sized = after_connecting(session, user=user)
    except ValidationError as refused:
        said = escape(user_message(refused))
        _show_outcome(request, view_id, connect_ics_modal(refused=said), said=f":warning: {said}")
        return
    try:
        said = calendar_connected(connection.calendar_id, sized)
        _show_outcome(request, view_id, notice_modal("Calendar connected", said), said=f"✅ {said}")
    finally:
        request.redraw()  # App Home shows the calendar even when the modal was closed while it was read


def _show_outcome(request: Request, view_id: str, view: Block, *, said: str) -> None:
    """Show an iCal address's outcome in the modal the person waited in, or, when Slack refuses to
    update it (closed while the calendar was read: ``not_found``), ``said`` (mrkdwn) in their DM with
    the app, so a refused address is never answered nowhere."""
    try:
        request.client.views_update(view_id=view_id, view=view)
    except SlackApiError as unreachable:
        log.info("the iCal address modal could not be updated (%s); its outcome goes to the DM",
                 api_error_code(unreachable))
        to = recipient_for(team_id=request.context.team_id or "", slack_user_id=request.slack_user_id)
        post_dm(request.client, to, text=said, blocks=[section(said)])
