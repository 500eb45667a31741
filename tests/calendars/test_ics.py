"""core.calendars.ics against real iCal files served over HTTP from 127.0.0.1 (no database).

The files in ``data/`` are written the way Google and Outlook export them (CRLF, folded lines,
VTIMEZONE blocks, Outlook's own zone names and X-MICROSOFT-CDO properties). Every date is pinned.
"""

from __future__ import annotations

import logging
import re
import socket
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

import pytest

from core.calendars import feed, ics
from core.calendars.feed import display_name, validate_address
from core.calendars.freetime import free_minutes, working_window
from core.calendars.ics import PROVIDER, IcsProvider, busy_intervals, owner_addresses
from core.calendars.providers import CalendarExpired, CalendarUnavailable, Interval, Provider
from core.crypto import Secret
from core.errors import ValidationError
from core.models import CalendarConnection, CalendarProvider
from tests.calendars.feeds import DATA, SECRET

LONDON = ZoneInfo("Europe/London")
SYDNEY = ZoneInfo("Australia/Sydney")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def ics_connection(url: str) -> CalendarConnection:
    """An unsaved connection holding ``url`` as its secret, as the service stores it."""
    return CalendarConnection(refresh_token=Secret(url), provider=CalendarProvider.ICS,
                              calendar_id=display_name(url), user_id=uuid.uuid4())


def read(url: str, start: datetime, end: datetime, *, provider: Provider = PROVIDER,
         timeout: float = 5.0) -> list[Interval]:
    return provider.busy(ics_connection(url), start=start, end=end, timeout=timeout)


def day_read(url: str, day: date, tz: str = "Europe/London",
             hours: tuple[clock_time, clock_time] = (clock_time(9), clock_time(17))) -> tuple[list[Interval], int]:
    """What the service does for one morning: the working window, the busy time in it, the free minutes."""
    window = working_window(day, tz, *hours)
    busy = read(url, window.start, window.end)
    return busy, free_minutes(busy, window)


# --- the provider contract ----------------------------------------------------------------------

def test_the_module_offers_an_ics_provider() -> None:
    provider: Provider = ics.PROVIDER
    assert provider.kind is CalendarProvider.ICS
    assert isinstance(provider, IcsProvider)


# --- recurrences, overrides, zones --------------------------------------------------------------

def test_weekly_series_with_an_exdate_a_moved_and_a_cancelled_occurrence(server: str) -> None:
    # Mondays 10:00–11:00 London from 5 Oct, six times; 12 Oct removed by EXDATE; 19 Oct moved to
    # Tuesday 20 Oct 14:00–15:30 by a RECURRENCE-ID override; 2 Nov cancelled by an override.
    # 26 Oct and 9 Nov fall after the clocks went back: 10:00 London is then 10:00 UTC, not 09:00.
    url = f"{server}/cal/weekly.ics"
    assert read(url, utc(2026, 10, 1), utc(2026, 12, 1)) == [
        Interval(utc(2026, 10, 5, 9), utc(2026, 10, 5, 10)),
        Interval(utc(2026, 10, 20, 13), utc(2026, 10, 20, 14, 30)),
        Interval(utc(2026, 10, 26, 10), utc(2026, 10, 26, 11)),
        Interval(utc(2026, 11, 9, 10), utc(2026, 11, 9, 11)),
    ]
    assert day_read(url, date(2026, 10, 5))[1] == 420
    assert day_read(url, date(2026, 10, 12)) == ([], 480)  # EXDATE
    assert day_read(url, date(2026, 10, 19)) == ([], 480)  # moved away
    assert day_read(url, date(2026, 10, 20)) == ([Interval(utc(2026, 10, 20, 13), utc(2026, 10, 20, 14, 30))], 390)
    assert day_read(url, date(2026, 10, 26)) == ([Interval(utc(2026, 10, 26, 10), utc(2026, 10, 26, 11))], 420)
    assert day_read(url, date(2026, 11, 2)) == ([], 480)  # cancelled occurrence
    assert day_read(url, date(2026, 11, 16)) == ([], 480)  # after COUNT=6


def test_one_busy_day_transparent_cancelled_declined_and_new_york_events(server: str) -> None:
    # Wednesday 14 Oct 2026, London on BST: the window 09:00–17:00 is 08:00–16:00 UTC.
    busy, free = day_read(f"{server}/cal/day.ics", date(2026, 10, 14))
    assert busy == [
        Interval(utc(2026, 10, 14, 8, 30), utc(2026, 10, 14, 9, 30)),  # 09:30–10:30 London
        Interval(utc(2026, 10, 14, 9), utc(2026, 10, 14, 10)),  # 09:00–10:00Z, overlaps it
        Interval(utc(2026, 10, 14, 10, 30), utc(2026, 10, 14, 10, 45)),  # DTSTART + DURATION:PT15M
        Interval(utc(2026, 10, 14, 14), utc(2026, 10, 14, 14, 30)),  # accepted; another attendee declined
        Interval(utc(2026, 10, 14, 15), utc(2026, 10, 14, 15, 30)),  # 11:00–11:30 New York (EDT)
        Interval(utc(2026, 10, 14, 15, 15), utc(2026, 10, 14, 16, 45)),  # runs past 17:00 London: unclipped
    ]
    # Left out: Outlook "Free" 11:00, the zero-length reminder, TRANSPARENT lunch, the cancelled board
    # prep, the demo the owner (X-WR-CALNAME) declined, and tomorrow's meeting.
    # Busy inside the window: 90 + 15 + 30 + 60 (15:00–16:00 UTC, clipped) = 195 minutes.
    assert free == 480 - 195


def test_an_outlook_vtimezone_by_its_own_rules_across_the_us_and_uk_changes(server: str) -> None:
    # 09:00 "(UTC-05:00) Eastern Time (US & Canada)" every Monday, a VTIMEZONE that only Outlook
    # names so: 14:00 UTC before 8 March, 13:00 UTC after; London changes only on 29 March.
    url = f"{server}/cal/dst.ics"
    assert read(url, utc(2026, 3, 1), utc(2026, 4, 1)) == [
        Interval(utc(2026, 3, 2, 14), utc(2026, 3, 2, 15)),
        Interval(utc(2026, 3, 8, 6), utc(2026, 3, 8, 8)),
        Interval(utc(2026, 3, 9, 13), utc(2026, 3, 9, 14)),
        Interval(utc(2026, 3, 16, 13), utc(2026, 3, 16, 14)),
        Interval(utc(2026, 3, 23, 13), utc(2026, 3, 23, 14)),
        Interval(utc(2026, 3, 30, 13), utc(2026, 3, 30, 14)),
    ]
    assert day_read(url, date(2026, 3, 2))[1] == 420  # 14:00–15:00 London (GMT)
    assert day_read(url, date(2026, 3, 9)) == ([Interval(utc(2026, 3, 9, 13), utc(2026, 3, 9, 14))], 420)
    assert day_read(url, date(2026, 3, 30)) == ([Interval(utc(2026, 3, 30, 13), utc(2026, 3, 30, 14))], 420)


def test_dst_change_days_in_london_and_new_york(server: str) -> None:
    url = f"{server}/cal/dst.ics"
    # Europe/London, Sunday 25 Oct 2026: 00:30 BST → 03:00 GMT is 3 h 30; the window 00:00–04:00 is 5 h.
    busy, free = day_read(url, date(2026, 10, 25), hours=(clock_time(0), clock_time(4)))
    assert busy == [Interval(utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 3))]
    assert free == 300 - 210
    # America/New_York, Sunday 8 Mar 2026: 01:00 EST → 04:00 EDT is 2 h; the window 00:00–06:00 is 5 h.
    busy, free = day_read(url, date(2026, 3, 8), tz="America/New_York", hours=(clock_time(0), clock_time(6)))
    assert busy == [Interval(utc(2026, 3, 8, 6), utc(2026, 3, 8, 8))]
    assert free == 300 - 120


# --- all-day events -----------------------------------------------------------------------------

@pytest.mark.parametrize(("day", "free"), [
    (date(2026, 10, 5), 480),  # TRANSPARENT (Google's "Available"): a marker, not an absence
    (date(2026, 10, 6), 480),  # no TRANSP, no DTEND (a birthday): ignored despite RFC 5545's default
    (date(2026, 10, 7), 0),  # Outlook X-MICROSOFT-CDO-BUSYSTATUS:OOF ("Away")
    (date(2026, 10, 8), 0),  # TRANSP:OPAQUE written out (Google "Busy")
    (date(2026, 10, 9), 480),  # Outlook FREE
    (date(2026, 10, 12), 0),  # a three-day OOF holiday: 12, 13 and 14 Oct
    (date(2026, 10, 13), 0),
    (date(2026, 10, 14), 0),
    (date(2026, 10, 15), 480),  # DTEND is exclusive
    (date(2026, 10, 16), 450),  # all-day TENTATIVE and WORKINGELSEWHERE ignored; a timed TENTATIVE 30 min counts
])
def test_all_day_events_count_only_when_they_mark_the_person_away(server: str, day: date, free: int) -> None:
    assert day_read(f"{server}/cal/allday.ics", day)[1] == free


def test_all_day_dates_are_read_in_the_zone_of_start(server: str) -> None:
    url = f"{server}/cal/allday.ics"
    # start in London: 7 Oct is 7 Oct 00:00–24:00 London (BST), i.e. 23:00–23:00 UTC.
    assert read(url, datetime(2026, 10, 7, 9, tzinfo=LONDON), datetime(2026, 10, 7, 17, tzinfo=LONDON)) == [
        Interval(utc(2026, 10, 6, 23), utc(2026, 10, 7, 23))]
    # A Sydney user away on 7 Oct: working hours 09:00–17:00 AEDT are 22:00 (6 Oct)–06:00 UTC.
    window = working_window(date(2026, 10, 7), "Australia/Sydney")
    assert window == Interval(utc(2026, 10, 6, 22), utc(2026, 10, 7, 6))
    local = read(url, window.start.astimezone(SYDNEY), window.end.astimezone(SYDNEY))
    assert local == [Interval(utc(2026, 10, 6, 13), utc(2026, 10, 7, 13))]
    assert free_minutes(local, window) == 0
    # Given UTC instants and a feed without X-WR-TIMEZONE, the date can only be read in UTC:
    # 7 Oct 00:00–24:00 UTC leaves Sydney's first two working hours free. Callers pass the user's zone.
    assert free_minutes(read(url, window.start, window.end), window) == 120


def test_floating_times_use_x_wr_timezone_then_the_zone_of_start() -> None:
    def feed(header: str) -> bytes:
        return (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\n{header}BEGIN:VEVENT\r\nUID:f\r\n"
                "DTSTART:20261014T090000\r\nDTEND:20261014T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").encode()

    day = (utc(2026, 10, 13), utc(2026, 10, 16))
    new_york = feed("X-WR-TIMEZONE:America/New_York\r\n")
    assert busy_intervals(new_york, start=day[0], end=day[1]) == [
        Interval(utc(2026, 10, 14, 13), utc(2026, 10, 14, 14))]
    plain = feed("")
    assert busy_intervals(plain, start=day[0].astimezone(LONDON), end=day[1]) == [
        Interval(utc(2026, 10, 14, 8), utc(2026, 10, 14, 9))]
    assert busy_intervals(plain, start=day[0], end=day[1]) == [Interval(utc(2026, 10, 14, 9), utc(2026, 10, 14, 10))]
    unknown_zone = feed("X-WR-TIMEZONE:Middle/Earth\r\n")  # ignored, not fatal
    assert busy_intervals(unknown_zone, start=day[0], end=day[1]) == [
        Interval(utc(2026, 10, 14, 9), utc(2026, 10, 14, 10))]


def test_a_broken_series_or_an_event_without_a_start_is_skipped() -> None:
    body = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\n"
            b"BEGIN:VEVENT\r\nUID:bad\r\nDTSTART:20261014T090000Z\r\nDTEND:20261014T100000Z\r\n"
            b"RRULE:FREQ=SOMETIMES\r\nEND:VEVENT\r\n"
            b"BEGIN:VEVENT\r\nUID:no-start\r\nSUMMARY:an event with no DTSTART\r\nEND:VEVENT\r\n"
            b"BEGIN:VEVENT\r\nUID:good\r\nDTSTART:20261014T110000Z\r\nDTEND:20261014T120000Z\r\nEND:VEVENT\r\n"
            b"END:VCALENDAR\r\n")
    assert busy_intervals(body, start=utc(2026, 10, 14), end=utc(2026, 10, 15)) == [
        Interval(utc(2026, 10, 14, 11), utc(2026, 10, 14, 12))]


# --- declined events ----------------------------------------------------------------------------

def test_declined_events_are_ignored_when_the_owner_is_known_from_googles_address(server: str) -> None:
    day = (utc(2026, 10, 14), utc(2026, 10, 15))
    morning = Interval(utc(2026, 10, 14, 8), utc(2026, 10, 14, 9))
    demo = Interval(utc(2026, 10, 14, 13), utc(2026, 10, 14, 14))
    google = f"{server}/calendar/ical/alice%40example.com/{SECRET}/basic.ics"
    assert owner_addresses(google) == {"alice@example.com"}
    assert read(google, *day) == [morning]
    # The same feed at an address that does not name its owner: the decline cannot be told apart.
    assert owner_addresses(f"{server}/cal/declined.ics") == frozenset()
    assert read(f"{server}/cal/declined.ics", *day) == [morning, demo]


# --- how the server answers ---------------------------------------------------------------------

def test_a_redirect_is_followed(server: str) -> None:
    window = working_window(date(2026, 10, 14), "Europe/London")
    assert read(f"{server}/redirect/day.ics", window.start, window.end) == read(
        f"{server}/cal/day.ics", window.start, window.end)


@pytest.mark.parametrize("status", [404, 410])
def test_a_removed_address_is_expired(server: str, status: int) -> None:
    with pytest.raises(CalendarExpired) as raised:
        read(f"{server}/status/{status}", utc(2026, 10, 14), utc(2026, 10, 15))
    assert raised.value.reason.startswith(f"127.0.0.1 answered {status}: the address was reset or removed")


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_address_is_expired(server: str, status: int) -> None:
    with pytest.raises(CalendarExpired, match=f"answered {status}: the address is no longer shared"):
        read(f"{server}/status/{status}", utc(2026, 10, 14), utc(2026, 10, 15))


@pytest.mark.parametrize(("status", "reason"), [
    (500, "answered 500: a temporary server error"),
    (503, "answered 503: a temporary server error"),
    (429, "answered 429: too many requests"),
    (418, "answered HTTP 418"),
])
def test_server_trouble_is_temporary(server: str, status: int, reason: str) -> None:
    with pytest.raises(CalendarUnavailable, match=reason):
        read(f"{server}/status/{status}", utc(2026, 10, 14), utc(2026, 10, 15))


def test_a_body_announced_over_the_cap_is_refused_before_it_is_read(server: str) -> None:
    began = time.monotonic()
    with pytest.raises(CalendarUnavailable, match="more than 5 MB"):
        read(f"{server}/big", utc(2026, 10, 14), utc(2026, 10, 15))
    assert time.monotonic() - began < 2


def test_a_body_over_the_cap_without_a_length_is_refused_while_reading(server: str) -> None:
    small = IcsProvider(max_bytes=1000)
    with pytest.raises(CalendarUnavailable, match="more than 1000 bytes"):
        read(f"{server}/big-unannounced", utc(2026, 10, 14), utc(2026, 10, 15), provider=small)
    exact = IcsProvider(max_bytes=(DATA / "day.ics").stat().st_size)  # a body of exactly the cap is read
    assert read(f"{server}/cal/day.ics", utc(2026, 10, 14), utc(2026, 10, 15), provider=exact)


def test_a_server_that_never_answers_times_out_fast(silent_server: str) -> None:
    began = time.monotonic()
    with pytest.raises(CalendarUnavailable, match=r"127\.0\.0\.1 did not answer within 0\.3 seconds"):
        read(silent_server, utc(2026, 10, 14), utc(2026, 10, 15), timeout=0.3)
    assert time.monotonic() - began < 2


def test_a_server_that_trickles_its_body_is_cut_off_at_the_deadline(server: str) -> None:
    # Each byte arrives well within the timeout; the whole body would take 3 s.
    began = time.monotonic()
    with pytest.raises(CalendarUnavailable, match=r"did not answer within 0\.4 seconds"):
        read(f"{server}/drip", utc(2026, 10, 14), utc(2026, 10, 15), timeout=0.4)
    assert time.monotonic() - began < 1.5


def test_a_closed_port_is_temporary() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.raises(CalendarUnavailable, match=r"could not read from 127\.0\.0\.1 \(ConnectionRefusedError\)"):
        read(f"http://127.0.0.1:{port}/{SECRET}/basic.ics", utc(2026, 10, 14), utc(2026, 10, 15))


@pytest.mark.parametrize(("route", "reason"), [
    ("/html", "answered with a web page, not an iCal calendar"),
    ("/text", "not an iCal calendar (it does not begin with BEGIN:VCALENDAR)"),
    ("/empty", "answered with an empty body"),
    ("/broken", "an iCal calendar that could not be parsed"),
    ("/gzip", "gzip-compressed body"),
    ("/redirect-ftp", "redirected to an address that is not http"),
    ("/redirect-loop", "redirected more than 5 times"),
])
def test_what_is_not_a_calendar_is_refused_with_the_reason(server: str, route: str, reason: str) -> None:
    with pytest.raises(CalendarUnavailable, match=re.escape(reason)):
        read(f"{server}{route}", utc(2026, 10, 14), utc(2026, 10, 15))


def test_an_unusable_stored_address_is_expired_without_a_request() -> None:
    with pytest.raises(CalendarExpired, match="connect the calendar again"):
        read(f"ftp://127.0.0.1/{SECRET}/basic.ics", utc(2026, 10, 14), utc(2026, 10, 15))


def test_a_redirect_from_https_to_http_is_refused() -> None:
    with pytest.raises(CalendarUnavailable, match="from https to plain http") as raised:
        feed._redirect_target(f"https://calendar.example.com/{SECRET}/a.ics", f"http://calendar.example.com/{SECRET}")
    assert SECRET not in raised.value.reason


def test_the_address_never_appears_in_an_error_or_a_log(
    server: str, silent_server: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    failing = [f"{server}/status/404", f"{server}/status/403", f"{server}/status/500", f"{server}/html",
               f"{server}/broken", f"{server}/redirect-loop", f"{server}/redirect-ftp", silent_server,
               f"ftp://127.0.0.1/{SECRET}"]
    for url in failing:
        with pytest.raises((CalendarExpired, CalendarUnavailable)) as raised:
            read(url, utc(2026, 10, 14), utc(2026, 10, 15), timeout=0.3)
        error = raised.value
        assert SECRET not in str(error) and SECRET not in repr(error)
        chained = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
        assert chained is None  # no lower-level exception (which might quote the address) to print
    assert SECRET not in caplog.text


# --- addresses ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("given", "stored"), [
    ("https://calendar.google.com/calendar/ical/alice%40example.com/private-abc/basic.ics",
     "https://calendar.google.com/calendar/ical/alice%40example.com/private-abc/basic.ics"),
    ("  webcal://p52-caldav.icloud.com/published/2/MTIzNDU2  ",
     "https://p52-caldav.icloud.com/published/2/MTIzNDU2"),
    ("WEBCALS://Outlook.Office365.com/owa/calendar/x/reachcalendar.ics",
     "https://outlook.office365.com/owa/calendar/x/reachcalendar.ics"),
    ("http://nextcloud.lan:8080/remote.php/dav/public-calendars/abc?export#frag",
     "http://nextcloud.lan:8080/remote.php/dav/public-calendars/abc?export"),
    ("https://kalender.bücher.example/feed.ics", "https://kalender.xn--bcher-kva.example/feed.ics"),
    ("https://example.com", "https://example.com/"),
])
def test_addresses_that_are_accepted(given: str, stored: str) -> None:
    assert validate_address(given) == stored


@pytest.mark.parametrize(("given", "reason"), [
    ("", "the iCal address is empty"),
    ("calendar.google.com/calendar/ical/x/basic.ics", "that is not a web address"),
    ("ftp://example.com/private-abc.ics", "ftp:// addresses are not accepted"),
    ("file:///etc/passwd", "that is not a web address"),
    ("javascript:alert(1)", "that is not a web address"),
    ("https:///private-abc.ics", "that is not a web address"),
    ("https://user:pa55@example.com/private-abc.ics", "with a user name or password"),
    ("https://example.com/private abc.ics", "spaces or control characters"),
    ("https://example.com:99999/private-abc.ics", "not a valid web address"),
    ("https://example.com/" + "a" * 2048, "longer than 2048 characters"),
])
def test_addresses_that_are_refused_say_what_is_accepted(given: str, reason: str) -> None:
    with pytest.raises(ValidationError) as raised:
        validate_address(given)
    message = str(raised.value)
    assert reason in message
    assert "http:// or https:// address (webcal:// is read as https://)" in message
    assert "private-abc" not in message and "pa55" not in message


def test_display_name_is_the_host_only() -> None:
    assert display_name("https://calendar.google.com/calendar/ical/alice%40example.com/private-abc/basic.ics") == (
        "calendar.google.com")
    assert display_name("https://user:pa55@Outlook.Office365.com:443/owa/x.ics") == "outlook.office365.com"
    assert display_name("not a url") == "the iCal address"
    assert display_name("https://[::1]:99999/x") == "::1"


def test_busy_intervals_need_aware_bounds() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        busy_intervals(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", start=datetime(2026, 10, 14), end=utc(2026, 10, 15))
    assert busy_intervals(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", start=utc(2026, 10, 14),
                          end=utc(2026, 10, 14) + timedelta(days=1)) == []
