"""``nbm calendar``: connect a calendar, see what it says of a day, disconnect it."""

from __future__ import annotations

from datetime import UTC, date

import click

from bot.cli.common import DATE, acting_as_email, emit, json_option, user_option
from core import preferences
from core.access import has_service
from core.calendars import service
from core.calendars.call_detection import CallsFound, detection_said, searchable
from core.calendars.disconnection import disconnect_calendar
from core.calendars.plans_sized import NO_CALENDAR
from core.calendars.service import DayRead
from core.clock import local_today, utcnow, zone
from core.config import get_settings
from core.errors import NotFound, ValidationError
from core.models import CalendarConnection, CalendarProvider, Channel
from core.planner.replan import find_calls_and_replan
from core.text import short_date_from
from core.users import get_settings_for

KINDS = [kind.value for kind in CalendarProvider]


@click.group("calendar")
def calendar_group() -> None:
    """Calendars that size the plan: Google, Outlook, or any private iCal address."""


@calendar_group.command("connect")
@user_option
@click.argument("kind", type=click.Choice(KINDS, case_sensitive=False))
@click.argument("address", required=False)
@json_option
def connect_command(email: str, kind: str, address: str | None, as_json: bool) -> None:
    """Connect KIND: google or outlook print the address to open (a page naming the user's account, whose
    Continue leads to the provider's sign-in); ics takes the private iCal ADDRESS."""
    provider = CalendarProvider(kind.lower())
    settings = get_settings()
    if provider not in service.offered(settings):
        raise ValidationError(f"{provider.value} calendars are not set up on this server; it offers "
                              f"{', '.join(k.value for k in service.offered(settings))}")
    with acting_as_email(email) as (session, user):
        if provider == CalendarProvider.ICS:
            if not address:
                raise ValidationError("give the calendar's private iCal address: nbm calendar connect ics URL")
            connection = service.connect_ics(session, user=user, url=address)
            emit(as_json, connection_json(connection), lambda: f"Connected {describe(connection)}.")
            return
        if address:
            raise ValidationError(f"{provider.value} connects by signing in; leave the address out")
        url = service.oauth_start(session, user=user, kind=provider, settings=settings)
        owner = user.email
    emit(as_json, {"url": url}, lambda: f"Open this address to connect {provider.value} to the account of {owner} "
         f"(its page names the account, then Continue leads to the sign-in; valid 10 minutes):\n{url}")


@calendar_group.command("list")
@user_option
@json_option
def list_command(email: str, as_json: bool) -> None:
    """The user's calendar connections and their health."""
    with acting_as_email(email) as (session, user):
        connections = service.list_connections(session, user=user)
        rows = [connection_json(c) for c in connections]
        lines = [describe(c) for c in connections]
    emit(as_json, rows, lambda: "\n".join(lines) or NO_CALENDAR)


@calendar_group.command("sync")
@user_option
@click.option("--date", "day", type=DATE, help="Local date to read (default: the user's today).")
@json_option
def sync_command(email: str, day: date | None, as_json: bool) -> None:
    """Read the calendars for a day: busy time inside working hours, free minutes, capacity; with call
    detection on, also search today and the next 7 days for calls with leads (today's plan, if made,
    then takes in a prep due today, or refills the slot of one a cancelled call removed)."""
    with acting_as_email(email) as (session, user):
        read = service.read_day(session, user=user, day=day or local_today(user.timezone))
        detecting = get_settings_for(session, user).call_detection
        calls = find_calls_and_replan(session, user=user, channel=Channel.CLI) if detecting else None
        tz = user.timezone
    answer = day_json(read) | ({"calls": calls_json(calls)} if calls else {})
    emit(as_json, answer, lambda: "\n".join([format_day(read, tz), *([format_calls(calls)] if calls else [])]))


@calendar_group.command("calls")
@user_option
@click.argument("switch", type=click.Choice(["on", "off"], case_sensitive=False))
@json_option
def calls_command(email: str, switch: str, as_json: bool) -> None:
    """Turn call detection on or off: meetings with a lead's email in the next 7 days become logged calls."""
    on = switch.lower() == "on"
    with acting_as_email(email) as (session, user):
        reconnect = preferences.set_call_detection(session, user=user, on=on)
        connections = service.list_connections(session, user=user)
        served = has_service(session, user.id)
    lines = [detection_said(on=on, connections=connections, service=served)]
    if on and not connections:
        kinds = "|".join(kind.value for kind in service.offered(get_settings()))
        lines.append(f"Connect one with `nbm calendar connect --user {email} {kinds}` (ics takes the calendar's "
                     "private iCal address).")
    elif on and searchable(connections):
        lines.append("`nbm calendar sync` searches them whenever you run it.")
    lines += [f"Connect {kind.value} again (nbm calendar connect --user {email} {kind.value}) to let it read who "
              "attends your events." for kind in reconnect]
    emit(as_json, {"call_detection": on, "said": lines[0], "reconnect": [kind.value for kind in reconnect]},
         lambda: "\n".join(lines))


@calendar_group.command("disconnect")
@user_option
@click.argument("kind", type=click.Choice(KINDS, case_sensitive=False))
@json_option
def disconnect_command(email: str, kind: str, as_json: bool) -> None:
    """Disconnect KIND as Slack and the preferences page do (core.calendars.disconnection), saying what
    became of its grant and what sizes the user's next plans. With no KIND connected, nothing changes:
    the sentence says so, exit code 2."""
    provider = CalendarProvider(kind.lower())
    with acting_as_email(email) as (session, user):
        outcome = disconnect_calendar(session, user=user, kind=provider)
    if not outcome.removed:
        raise NotFound(outcome.said)
    emit(as_json, {"disconnected": True, "provider": provider.value, "said": outcome.said}, lambda: outcome.said)


@calendar_group.command("hours")
@user_option
@click.argument("span", metavar="HH:MM-HH:MM")
@json_option
def hours_command(email: str, span: str, as_json: bool) -> None:
    """Set the working hours whose free time sizes the plan (default 09:00-17:00, local time)."""
    start, end = preferences.parse_working_hours(span)
    with acting_as_email(email) as (session, user):
        preferences.set_working_hours(session, user=user, start=start, end=end)
    emit(as_json, {"start": f"{start:%H:%M}", "end": f"{end:%H:%M}"},
         lambda: f"Working hours: {start:%H:%M}-{end:%H:%M}.")


def connection_json(connection: CalendarConnection) -> dict[str, object]:
    return {"provider": connection.provider.value, "calendar": connection.calendar_id,
            "status": connection.status.value, "last_sync_at": connection.last_sync_at,
            "error": connection.error_message, "reads_events": connection.reads_events}


def describe(connection: CalendarConnection) -> str:
    """``ics (calendar.example.com): active, last read Tue 25 Nov 07:30 UTC``; never the address itself.
    A read months ago says its year (``core.text.short_date_from``)."""
    at = connection.last_sync_at.astimezone(UTC) if connection.last_sync_at else None
    synced = f", last read {short_date_from(at.date(), today=utcnow().date())} {at:%H:%M} UTC" if at else ""
    problem = f" ({connection.error_message})" if connection.error_message else ""
    return f"{connection.provider.value} ({connection.calendar_id}): {connection.status.value}{problem}{synced}"


def day_json(read: DayRead) -> dict[str, object]:
    return {"date": read.day, "window": [read.window.start, read.window.end],
            "busy": [[b.start, b.end] for b in read.busy], "free_minutes": read.free_minutes,
            "capacity": read.capacity.value, "problems": list(read.problems)}


def calls_json(calls: CallsFound) -> dict[str, object]:
    return {"logged": calls.logged, "moved": calls.moved, "removed": calls.removed,
            "problems": list(calls.problems), "reconnect": [kind.value for kind in calls.need_grant]}


def format_calls(calls: CallsFound) -> str:
    lines = [f"Calls found: {calls.logged} logged, {calls.moved} moved, {calls.removed} removed"]
    lines += [f"  could not read {problem}" for problem in calls.problems]
    lines += [f"  {kind.value} must be connected again to read who attends events" for kind in calls.need_grant]
    return "\n".join(lines)


def format_day(read: DayRead, tz: str) -> str:
    """The day read, named as a person names it (with its year when months from the user's today)."""
    local, day = zone(tz), short_date_from(read.day, today=local_today(tz))
    lines = [f"{day}: working hours {read.window.start.astimezone(local):%H:%M}-"
             f"{read.window.end.astimezone(local):%H:%M} ({tz})"]
    lines += [f"  busy {b.start.astimezone(local):%H:%M}-{b.end.astimezone(local):%H:%M}" for b in read.busy]
    free = "unknown" if read.free_minutes is None else f"{read.free_minutes} min"
    lines.append(f"Free: {free}, capacity {read.capacity.value}")
    lines += [f"  could not read {problem}" for problem in read.problems]
    return "\n".join(lines)
