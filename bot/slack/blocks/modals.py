"""Modals: add a lead, log a call, settings, and a short notice.

Every input block's ``block_id`` names the field and its element's ``action_id`` is ``value``, so a
submission reads as ``state.values[field]["value"]`` and an error answers on the same ``field``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bot.slack import ids
from bot.slack.blocks.text import OPTION_TEXT, Block, cut, option, plain, section
from core.calendars.service import what_is_read
from core.lead_lookup import told_apart
from core.models import Lead, UserSettings
from core.preferences import email_is_on
from core.workdays import WEEKDAYS

CHANNELS = (("slack", "Slack DM"), ("email", "Email digest"))
#: Slack shows at most 100 options in a static menu.
MAX_OPTIONS = 100


def _modal(callback_id: str, title: str, blocks: list[Block], *, submit: str | None) -> Block:
    view: Block = {"type": "modal", "callback_id": callback_id, "title": plain(title, 24),
                   "close": plain("Cancel" if submit else "Close", 24), "blocks": blocks}
    if submit:
        view["submit"] = plain(submit, 24)
    return view


def _input(field: str, label: str, element: Block, *, optional: bool = False, hint: str | None = None) -> Block:
    block: Block = {"type": "input", "block_id": field, "label": plain(label, 2000),
                    "element": {**element, "action_id": "value"}, "optional": optional}
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def _text(placeholder: str, *, max_length: int, multiline: bool = False, initial: str | None = None) -> Block:
    element: Block = {"type": "plain_text_input", "max_length": max_length, "multiline": multiline,
                      "placeholder": plain(placeholder, 150)}
    if initial:
        element["initial_value"] = initial
    return element


def add_lead_modal() -> Block:
    return _modal(ids.ADD_LEAD_VIEW, "Add a lead", [
        _input("name", "Name", _text("Ann Lee", max_length=200)),
        _input("url", "Link", _text("https://www.linkedin.com/in/ann-lee", max_length=2000),
               hint="A https://, http:// or mailto: link: the one you open to reach them."),
        _input("email", "Email", _text("ann@acme.io", max_length=254), optional=True,
               hint="With call detection on, a meeting they are invited to becomes a logged call."),
        _input("notes", "Notes", _text("How you met, what they need…", max_length=3000, multiline=True),
               optional=True),
    ], submit="Add lead")


def log_call_modal(leads: Sequence[Lead], *, today: date) -> Block:
    """Pick one of ``leads`` (the live ones) and the call's date; without any, say how to add one
    instead. Leads of the same name are told apart by their link in the option, as ``/nbm call``
    asks for it (:func:`core.lead_lookup.told_apart`)."""
    if not leads:
        return notice_modal("Log a call", "You have no leads yet. Add one with `/nbm add`, then log the call.")
    labels = told_apart(leads, limit=OPTION_TEXT)
    menu = {"type": "static_select", "placeholder": plain("Choose a lead", 150),
            "options": [option(label, str(lead.id)) for lead, label in zip(leads[:MAX_OPTIONS], labels, strict=False)]}
    more = (f"Only the first {MAX_OPTIONS} leads fit here; for the others type `/nbm call <name or link> <date>`."
            if len(leads) > MAX_OPTIONS else None)
    return _modal(ids.LOG_CALL_VIEW, "Log a call", [
        _input("lead", "Lead", menu, hint=more),
        _input("date", "Date of the call", {"type": "datepicker", "initial_date": today.isoformat()},
               hint="We'll plan the prep the work day before and the follow-up the work day after."),
    ], submit="Log call")


def settings_modal(settings: UserSettings, *, timezone: str, calls: str) -> Block:
    """The settings form; ``calls``, call detection as it stands now
    (:func:`core.calendars.call_detection.detection_hint`), is the hint beside its box."""
    channels = [option(label, value) for value, label in CHANNELS]
    enabled = {"slack": settings.slack_enabled, "email": email_is_on(settings)}
    days = [option(name, str(number)) for number, name in enumerate(WEEKDAYS, start=1)]
    channel_box: Block = {"type": "checkboxes", "options": channels}
    chosen = [o for o in channels if enabled[o["value"]]]
    if chosen:
        channel_box["initial_options"] = chosen
    find_calls = option("Find my calls with leads", "on")
    calls_box: Block = {"type": "checkboxes", "options": [find_calls]}
    if settings.call_detection:
        calls_box["initial_options"] = [find_calls]
    return _modal(ids.SETTINGS_VIEW, "Settings", [
        _input("delivery_time", "Morning plan at", {"type": "timepicker",
                                                     "initial_time": settings.delivery_time.strftime("%H:%M")},
               hint="Your local time, on your work days."),
        _input("channels", "Deliver my plan by", channel_box, optional=True,
               hint="Untick both to pause deliveries; your plan stays in App Home and /nbm today."),
        _input("timezone", "Timezone", _text("Europe/Paris", max_length=64, initial=timezone),
               hint="An IANA name such as Europe/Paris, America/New_York or Asia/Tokyo."),
        _input("work_days", "Work days", {
            "type": "checkboxes", "options": days,
            "initial_options": [days[number - 1] for number in sorted(settings.work_days)],
        }),
        _input("hours_start", "Working hours start", {"type": "timepicker",
                                                       "initial_time": settings.working_hours_start.strftime("%H:%M")},
               hint="The free time of your connected calendars between these hours sizes your plan."),
        _input("hours_end", "Working hours end", {"type": "timepicker",
                                                   "initial_time": settings.working_hours_end.strftime("%H:%M")}),
        _input("call_detection", "Calls in your calendar", calls_box, optional=True, hint=calls),
    ], submit="Save")


def connect_calendar_modal(name: str, url: str, *, guests: bool = False) -> Block:
    """The connect link of a calendar provider, as a button (opening it leaves Slack for our page that
    names the account before the provider's sign-in: ``bot.web.calendar_routes``); ``guests`` when the
    link also asks to see who attends events (call detection is on)."""
    return _modal("nbm_notice", "Connect a calendar", [
        {"type": "section", "text": {"type": "mrkdwn", "text": (
            f"The link opens a page naming your NextBestMove account; press Continue there, then sign in to {name} "
            f"and allow NextBestMove to read {what_is_read(guests=guests)}. The link works for one sign-in, "
            "within 10 minutes.")},
         "accessory": {"type": "button", "text": plain(f"Connect {name}", 75), "url": url,
                       "action_id": ids.OPEN_LINK, "style": "primary"}},
    ], submit=None)


def connect_ics_modal(*, refused: str | None = None) -> Block:
    """Paste a private iCal address; ``refused`` (mrkdwn: the caller escapes it) says why the last one
    was refused, above an empty field: the address is a secret, so it is never sent back."""
    said = [section(f":warning: {refused}")] if refused else []
    return _modal(ids.CONNECT_ICS_VIEW, "Add an iCal address", [
        *said,
        _input("address", "Private iCal address", _text("https://calendar.google.com/calendar/ical/…/basic.ics",
                                                        max_length=2000),
               hint="In your calendar's settings: 'Secret address in iCal format' (Google), 'Publish calendar' "
                    "(Outlook), 'Public/Private calendar link' (iCloud). Only busy times are read, and who "
                    "attends when call detection is on."),
    ], submit="Connect")


def notice_modal(title: str, text: str) -> Block:
    """A modal that only tells something (a confirmation, or why something could not be done).

    ``text`` is mrkdwn: the caller escapes what came from a person."""
    return _modal("nbm_notice", cut(title, 24), [section(text)], submit=None)
