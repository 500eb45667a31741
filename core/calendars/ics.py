"""A private iCal address as a calendar provider: fetch the feed, expand it, keep the busy time.

The address is a secret (anyone holding it reads the whole calendar). It is stored encrypted in
``CalendarConnection.refresh_token`` and revealed only here, to open the connection. It is never
logged and never put in an error: errors name the host only (``core.calendars.feed.display_name``).

The address is checked and fetched by ``core.calendars.feed`` (a size cap, one deadline, 404/410
expired, 5xx temporary); what comes back is read here.

**Reading** (:func:`busy_intervals`): parsed with ``icalendar``; RRULE, RDATE, EXDATE, RECURRENCE-ID
overrides, VTIMEZONE (also Outlook's Windows zone names) and Google's X-WR-TIMEZONE are expanded by
``recurring_ical_events``. A series the library cannot expand (a broken RRULE) and an event
without a DTSTART are skipped, so the rest of the calendar still counts. Only VEVENTs count. An
occurrence is **free** (left out) when:

1. ``STATUS:CANCELLED`` (a cancelled event, or one cancelled occurrence of a series);
2. the user declined it: an ATTENDEE that is the calendar's owner has ``PARTSTAT=DECLINED``. The
   owner is known only where the feed says who it is: Google names a primary calendar after its
   owner's address (``X-WR-CALNAME:alice@example.com``) and puts the same address in the private
   URL (``/calendar/ical/alice%40example.com/private-…/basic.ics``); when neither is an email
   address, declined events cannot be told apart and count as busy;
3. ``TRANSP:TRANSPARENT`` ("show as free"; RFC 5545: it does not block time);
4. ``X-MICROSOFT-CDO-BUSYSTATUS`` is ``FREE`` or ``WORKINGELSEWHERE`` (Outlook's "Free" and
   "Working elsewhere": the person is working);
5. it is an **all-day** event (DTSTART is a date) that does not mark the person away. An all-day
   event counts as busy only when the feed says so explicitly: Outlook's
   ``X-MICROSOFT-CDO-BUSYSTATUS`` is ``OOF`` ("Away") or ``BUSY``, or, when that property is absent,
   ``TRANSP:OPAQUE`` is written out. Why: Google and Apple export every all-day event as
   ``TRANSPARENT`` unless the user set it to "Busy", and Outlook makes all-day events "Free" unless
   set otherwise, so holidays, birthdays, "Mum visiting", working-location markers stay free, while
   a day booked as busy or out of office takes the whole day. An all-day event *without* TRANSP is
   free even though RFC 5545's default is OPAQUE: the feeds that omit it (holiday and birthday
   calendars, hand-made files) mark a date, not an absence. Outlook's ``TENTATIVE`` all-day event
   is free too; a *timed* tentative event is busy.

Every other event is busy from DTSTART to DTEND (or DTSTART + DURATION; an event with neither lasts
zero time and counts for nothing, an all-day one lasts a day).

**Times without a zone.** A floating time (no TZID, no Z) is read in the calendar's X-WR-TIMEZONE
when it has one; otherwise, like an all-day date, in the *reading zone*: the zone of the ``start``
argument when it is not UTC (the caller knows the user's zone: pass ``start`` and ``end`` in it),
else the calendar's X-WR-TIMEZONE, else UTC. An all-day event on 7 October covers 7 October
00:00–24:00 in that zone (several days when DTEND is later).

The result is the busy intervals overlapping ``[start, end)``, unclipped and unmerged, in UTC;
``core.calendars.freetime`` merges and clips them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as clock_time
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events  # type: ignore[import-untyped]

from core.calendars.feed import MAX_BYTES, MAX_REDIRECTS, fetch, validate_address
from core.calendars.providers import CalendarExpired, CalendarUnavailable, Interval, Meeting, Provider
from core.errors import ValidationError
from core.models import CalendarConnection, CalendarProvider

#: The advice of a reason that says the address led to something other than a calendar.
_USE_ICS = "use the calendar's private iCal (.ics) address"
_EMAIL = re.compile(r"^[^@\s/:]+@[^@\s/:]+\.[^@\s/:]+$")

#: Microsoft's busy statuses that leave the person working (rule 4) or away for an all-day event (rule 5).
_FREE_STATUSES = frozenset({"FREE", "WORKINGELSEWHERE"})
_ALL_DAY_BUSY_STATUSES = frozenset({"OOF", "BUSY"})


def busy_intervals(feed: bytes, *, start: datetime, end: datetime, owners: Iterable[str] = ()) -> list[Interval]:
    """The busy intervals of the iCal ``feed`` overlapping ``[start, end)``, in UTC (module rules).

    ``owners`` are addresses of the calendar's owner known from elsewhere (the private URL); the
    feed's X-WR-CALNAME is added when it is an email address.
    """
    read = _occurrences(feed, start=start, end=end, owners=owners)
    return sorted(span for event, span in read.occurrences
                  if span.start < end and span.end > start and _is_busy(event, read.owners))


def meetings_in(feed: bytes, *, start: datetime, end: datetime, owners: Iterable[str] = ()) -> list[Meeting]:
    """The timed, not cancelled, not declined events of ``feed`` starting in ``[start, end)`` that
    someone other than the owner attends (call detection).

    An occurrence of a recurring event is keyed by its UID and RECURRENCE-ID (its original start), so
    a moved occurrence keeps its key; a single event by its UID.
    """
    found = []
    read = _occurrences(feed, start=start, end=end, owners=owners)
    me = read.owners
    for event, span in read.occurrences:
        if not (start <= span.start < end) or not isinstance(_moment(event, "DTSTART"), datetime):
            continue
        if _text(event, "STATUS") == "CANCELLED" or (me and _declined(event, me)):
            continue
        attendees = frozenset(address for address in _addresses(event) if address not in me)
        uid = str(event.get("UID", "")).strip()
        if attendees and uid:
            recurrence = _moment(event, "RECURRENCE-ID") if uid in read.series else None
            key = uid if recurrence is None else f"{uid}/{_instant(recurrence, span.start.tzinfo or UTC).isoformat()}"
            found.append(Meeting(key=key, start=span.start, attendees=attendees))
    return sorted(found, key=lambda meeting: (meeting.start, meeting.key))


@dataclass(frozen=True)
class _Read:
    """A feed read near a window: each occurrence with when it happens (recurrences expanded, times
    without a zone placed: module rules), the owner's addresses, and the UIDs of recurring events
    (recurring_ical_events gives every occurrence a RECURRENCE-ID, even of a single event)."""

    occurrences: list[tuple[icalendar.Component, Interval]]
    owners: set[str]
    series: set[str]


def _occurrences(feed: bytes, *, start: datetime, end: datetime, owners: Iterable[str]) -> _Read:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    calendar = parse(feed)
    floating_zone = _zone_named(calendar.get("X-WR-TIMEZONE"))
    if floating_zone is None and "X-WR-TIMEZONE" in calendar:
        del calendar["X-WR-TIMEZONE"]  # unknown name: recurring_ical_events would fail on it
    reading_zone = _reading_zone(start) or floating_zone or UTC
    # An event without a start cannot be placed (RFC 5545 allows it only in scheduling messages);
    # recurring_ical_events would fail the whole calendar on it.
    calendar.subcomponents = [component for component in calendar.subcomponents
                              if component.name != "VEVENT" or "DTSTART" in component]
    me = {address.lower() for address in owners}
    calendar_name = str(calendar.get("X-WR-CALNAME", "")).strip()
    if _EMAIL.match(calendar_name):
        me.add(calendar_name.lower())
    try:
        found = []
        for event in recurring_ical_events.of(calendar, skip_bad_series=True).between(
                start.astimezone(reading_zone) - timedelta(days=1), end.astimezone(reading_zone) + timedelta(days=1)):
            span = _span(event, reading_zone)
            if span is not None:
                found.append((event, span))
    except Exception as error:  # a third party's feed: any failure there means "cannot read it"
        raise CalendarUnavailable(f"the calendar could not be read ({type(error).__name__})") from None
    series = {str(component.get("UID", "")).strip() for component in calendar.walk("VEVENT")
              if any(name in component for name in ("RRULE", "RDATE", "RECURRENCE-ID"))}
    return _Read(found, me, series)


def _addresses(event: icalendar.Component) -> set[str]:
    """The email addresses of the event's attendees and organiser, lower case."""
    people = event.get("ATTENDEE", [])
    found = set()
    for person in [*(people if isinstance(people, list) else [people]), event.get("ORGANIZER")]:
        address = str(person or "").strip()
        if address.lower().startswith("mailto:"):
            address = address[len("mailto:"):]
        if _EMAIL.match(address):
            found.add(address.lower())
    return found


def parse(body: bytes) -> icalendar.Calendar:
    """``body`` as one iCal calendar, or CalendarUnavailable saying why it is not one."""
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:512].lower()
    if not head:
        raise CalendarUnavailable(f"the address answered with an empty body, not a calendar; {_USE_ICS}")
    if not head.startswith(b"begin:vcalendar"):
        if head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<")):
            raise CalendarUnavailable(f"the address answered with a web page, not an iCal calendar; {_USE_ICS}, "
                                      "not its web link")
        raise CalendarUnavailable("the address answered with something that is not an iCal calendar "
                                  f"(it does not begin with BEGIN:VCALENDAR); {_USE_ICS}")
    try:
        calendar = icalendar.Calendar.from_ical(body)
    except Exception:  # the parser's message quotes the feed's lines: keep them out of the reason
        raise CalendarUnavailable("the address answered with an iCal calendar that could not be parsed") from None
    if not isinstance(calendar, icalendar.Calendar):  # pragma: no cover - from_ical(multiple=False)
        raise CalendarUnavailable("the address answered with an iCal calendar that could not be parsed")
    return calendar


def owner_addresses(url: str) -> frozenset[str]:
    """The owner's email address when the private URL contains it (Google: ``/ical/<address>/private-…``)."""
    segments = urlsplit(url).path.split("/")
    return frozenset(unquote(segment).lower() for previous, segment in itertools.pairwise(segments)
                     if previous == "ical" and _EMAIL.match(unquote(segment)))


class IcsProvider:
    """Busy time from a private iCal address (``connection.refresh_token`` holds the address)."""

    kind = CalendarProvider.ICS

    def __init__(self, *, max_bytes: int = MAX_BYTES, max_redirects: int = MAX_REDIRECTS) -> None:
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects

    def busy(self, connection: CalendarConnection, *, start: datetime, end: datetime,
             timeout: float) -> list[Interval]:
        url = self._address(connection)
        return busy_intervals(self._fetch(url, timeout), start=start, end=end, owners=owner_addresses(url))

    def meetings(self, connection: CalendarConnection, *, start: datetime, end: datetime,
                 timeout: float) -> list[Meeting]:
        url = self._address(connection)
        return meetings_in(self._fetch(url, timeout), start=start, end=end, owners=owner_addresses(url))

    @staticmethod
    def _address(connection: CalendarConnection) -> str:
        try:
            return validate_address(connection.refresh_token.reveal())
        except ValidationError:
            raise CalendarExpired("the stored iCal address is not usable; connect the calendar again") from None

    def _fetch(self, url: str, timeout: float) -> bytes:
        return fetch(url, timeout=timeout, max_bytes=self.max_bytes, max_redirects=self.max_redirects)


PROVIDER: Provider = IcsProvider()


def _reading_zone(start: datetime) -> tzinfo | None:
    """The zone of ``start`` when it says where the user is (not UTC)."""
    zone = start.tzinfo
    if zone is None or zone is UTC or zone.tzname(start) in ("UTC", "Etc/UTC", "Z"):
        return None
    return zone


def _zone_named(name: object) -> ZoneInfo | None:
    if name is None:
        return None
    try:
        return ZoneInfo(str(name).strip())
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _span(event: icalendar.Component, zone: tzinfo) -> Interval | None:
    """When ``event`` happens, in UTC; None when it lasts no time or has no start."""
    raw_start, raw_end = _moment(event, "DTSTART"), _moment(event, "DTEND")
    if raw_start is None:
        return None
    start = _instant(raw_start, zone)
    if raw_end is not None:
        end = _instant(raw_end, zone)
    else:
        end = start if isinstance(raw_start, datetime) else start + timedelta(days=1)
    return Interval(start, end) if start < end else None


def _moment(event: icalendar.Component, name: str) -> date | None:
    """The date or datetime of property ``name`` (a datetime is also a date), None when absent or odd."""
    value = event.decoded(name, None)
    return value if isinstance(value, date) else None


def _instant(value: date | datetime, zone: tzinfo) -> datetime:
    if isinstance(value, datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=zone)
    else:
        moment = datetime.combine(value, clock_time(0), tzinfo=zone)
    return moment.astimezone(UTC)


def _is_busy(event: icalendar.Component, me: set[str]) -> bool:
    if _text(event, "STATUS") == "CANCELLED":
        return False
    if me and _declined(event, me):
        return False
    transparency = _text(event, "TRANSP")
    status = _text(event, "X-MICROSOFT-CDO-BUSYSTATUS")
    if transparency == "TRANSPARENT" or status in _FREE_STATUSES:
        return False
    if isinstance(_moment(event, "DTSTART"), datetime):
        return True
    if status:
        return status in _ALL_DAY_BUSY_STATUSES
    return transparency == "OPAQUE"


def _declined(event: icalendar.Component, me: set[str]) -> bool:
    attendees = event.get("ATTENDEE", [])
    for attendee in attendees if isinstance(attendees, list) else [attendees]:
        address = str(attendee).strip()
        if address.lower().startswith("mailto:"):
            address = address[len("mailto:"):]
        partstat = str(getattr(attendee, "params", {}).get("PARTSTAT", "")).strip().upper()
        if address.lower() in me and partstat == "DECLINED":
            return True
    return False


def _text(component: icalendar.Component, name: str) -> str:
    return str(component.get(name, "")).strip().upper()
