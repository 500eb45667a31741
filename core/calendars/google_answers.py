"""What Google Calendar's answers mean: busy time from ``freebusy.query`` and meetings from
``events.list`` (core.calendars.google makes the requests; the rules are in its docstring and in
core.calendars.providers.Meeting)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.calendars.providers import CalendarExpired, CalendarUnavailable, Interval, Meeting


def busy_of(answer: Any, calendar_id: str) -> list[Interval]:
    calendar = (answer.get("calendars") or {}).get(calendar_id) if isinstance(answer, dict) else None
    if not isinstance(calendar, dict):
        raise CalendarUnavailable("Google Calendar's answer does not include the calendar")
    errors = calendar.get("errors") or []
    if errors:
        reasons = sorted({str(error.get("reason"))[:60] for error in errors if isinstance(error, dict)})
        if "notFound" in reasons:
            raise CalendarExpired("Google Calendar no longer finds the calendar (notFound): reconnect Google Calendar")
        raise CalendarUnavailable(f"Google Calendar could not read the calendar ({', '.join(reasons) or 'error'})")
    intervals = []
    for span in calendar.get("busy") or []:
        try:
            start, end = datetime.fromisoformat(span["start"]), datetime.fromisoformat(span["end"])
        except (KeyError, TypeError, ValueError):
            raise CalendarUnavailable("Google Calendar answered a busy time that cannot be read") from None
        if start.tzinfo is None or end.tzinfo is None:
            raise CalendarUnavailable("Google Calendar answered a busy time without a timezone")
        if start < end:
            intervals.append(Interval(start, end))
    return intervals


def meetings_of(answer: Any, *, start: datetime, end: datetime) -> list[Meeting]:
    """The meetings of one page of ``events.list`` (the provider contract: timed, starting in the
    window, not cancelled, not declined by the owner, with someone else invited)."""
    items = answer.get("items") if isinstance(answer, dict) else None
    if not isinstance(items, list):
        raise CalendarUnavailable("Google Calendar answered something that is not a list of events")
    found = []
    for item in items:
        when = (item.get("start") or {}).get("dateTime") if isinstance(item, dict) else None
        if not when or item.get("status") == "cancelled" or not item.get("id"):
            continue  # all-day (a "date", no "dateTime"), cancelled, or not an event
        try:
            began = datetime.fromisoformat(str(when))
        except ValueError:
            raise CalendarUnavailable("Google Calendar answered an event time that cannot be read") from None
        people = [*(item.get("attendees") or []), item.get("organizer") or {}]
        if began.tzinfo is None or not start <= began < end or any(
                person.get("self") and person.get("responseStatus") == "declined" for person in people):
            continue
        others = frozenset(str(person["email"]).lower() for person in people
                           if person.get("email") and not person.get("self"))
        if others:
            found.append(Meeting(key=str(item["id"]), start=began, attendees=others))
    return found
