"""Calls found in the calendar, through the CLI: a private iCal address on a real calendar server
(tests/calendars/feeds.py) whose events the test writes and then moves or cancels."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import Connection, select

from core.calendars.call_detection import FINDS
from core.db import unit_of_work
from core.models import LoggedCall
from tests.cli import nbm

WEDNESDAY = datetime(2026, 10, 14, 6, 0, tzinfo=UTC)  # 07:00 in London
OWNER = "cleo@example.com"


def event(uid: str, start: str, *, guests: tuple[str, ...] = (), organizer: str = OWNER, status: str = "CONFIRMED",
          declined_by_me: bool = False, all_day: bool = False) -> str:
    """One VEVENT; ``start`` is London local time as ``20261016T100000`` (or a date for ``all_day``)."""
    when = (f"DTSTART;VALUE=DATE:{start}" if all_day else
            f"DTSTART;TZID=Europe/London:{start}\r\nDURATION:PT30M")
    me = f"ATTENDEE;PARTSTAT={'DECLINED' if declined_by_me else 'ACCEPTED'}:mailto:{OWNER}"
    people = "".join(f"ATTENDEE;PARTSTAT=ACCEPTED;CN=Guest:mailto:{guest}\r\n" for guest in guests)
    return (f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261001T080000Z\r\n{when}\r\nSUMMARY:Meeting\r\n"
            f"STATUS:{status}\r\nORGANIZER:mailto:{organizer}\r\n{me}\r\n{people}END:VEVENT\r\n")


def calendar(*events: str) -> bytes:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nX-WR-CALNAME:cleo@example.com\r\n"
            "X-WR-TIMEZONE:Europe/London\r\n" + "".join(events) + "END:VCALENDAR\r\n").encode()


@pytest.fixture()
def pinned() -> Iterator[None]:
    with time_machine.travel(WEDNESDAY, tick=False):
        yield


@pytest.fixture()
def cleo(connection: Connection, pinned: None, live_feed: tuple[str, dict[str, bytes]]) -> dict[str, bytes]:
    """Cleo in London with leads Ann (email added) and Bob (a mailto: lead), her iCal address connected."""
    address, feeds = live_feed
    assert nbm("users", "add", OWNER, "--name", "Cleo", "--tz", "Europe/London").exit_code == 0
    ann = nbm("leads", "add", "--user", OWNER, "Ann Lee", "https://linkedin.com/in/ann", "--email", "Ann@Acme.io")
    assert ann.exit_code == 0, ann.output
    assert nbm("leads", "add", "--user", OWNER, "Bob Ray", "mailto:bob@ray.dev").exit_code == 0
    feeds["cleo.ics"] = calendar()
    assert nbm("calendar", "connect", "--user", OWNER, "ics", f"{address}/cleo.ics").exit_code == 0
    return feeds


def sync() -> dict[str, object]:
    answer = nbm("calendar", "sync", "--user", OWNER, "--json")
    assert answer.exit_code == 0, answer.output
    return json.loads(answer.output)


def call_actions() -> list[tuple[str, str, str, str]]:
    """(type, due date, state, description) of Cleo's call actions, by due date."""
    actions = json.loads(nbm("actions", "list", "--user", OWNER, "--json").output)
    return sorted((a["type"], a["due_date"], a["state"], a["description"]) for a in actions
                  if a["type"] in ("CALL_PREP", "POST_CALL"))


def test_call_detection_is_off_until_turned_on(cleo: dict[str, bytes]) -> None:
    cleo["cleo.ics"] = calendar(event("m1", "20261016T100000", guests=("ann@acme.io",)))
    assert "calls" not in sync()
    assert call_actions() == []
    turned = nbm("calendar", "calls", "--user", OWNER, "on")
    assert turned.output == (f"Call detection is on: {FINDS}. Your calendars are searched every hour.\n"
                             "`nbm calendar sync` searches them whenever you run it.\n")
    assert sync()["calls"] == {"logged": 1, "moved": 0, "removed": 0, "problems": [], "reconnect": []}


def test_a_meeting_with_a_lead_becomes_one_call_with_its_prep_and_post_call(cleo: dict[str, bytes]) -> None:
    nbm("calendar", "calls", "--user", OWNER, "on")
    cleo["cleo.ics"] = calendar(
        event("m1", "20261016T100000", guests=("ANN@acme.io", "someone@else.org")),  # Friday, Ann invited
        event("m2", "20261015T090000", organizer="bob@ray.dev"),  # Thursday, Bob's own invitation
        event("m3", "20261019T090000", guests=("nobody@else.org",)),  # no lead
        event("m4", "20261020T090000", guests=("ann@acme.io",), declined_by_me=True),
        event("m5", "20261021T090000", guests=("ann@acme.io",), status="CANCELLED"),
        event("m6", "20261022", guests=("ann@acme.io",), all_day=True),
        event("m7", "20261030T090000", guests=("ann@acme.io",)),  # beyond the next 7 days
    )
    assert sync()["calls"] == {"logged": 2, "moved": 0, "removed": 0, "problems": [], "reconnect": []}
    assert call_actions() == [
        ("CALL_PREP", "2026-10-14", "NEW", "Prepare for your call with Bob Ray on Thu 15 Oct"),
        ("CALL_PREP", "2026-10-15", "NEW", "Prepare for your call with Ann Lee on Fri 16 Oct"),
        ("POST_CALL", "2026-10-16", "NEW", "Follow up on your call with Bob Ray on Thu 15 Oct"),
        ("POST_CALL", "2026-10-19", "NEW", "Follow up on your call with Ann Lee on Fri 16 Oct"),
    ]
    again = sync()["calls"]
    assert (again["logged"], again["moved"], again["removed"]) == (0, 0, 0)
    assert len(call_actions()) == 4


def test_a_moved_meeting_moves_its_untouched_actions(cleo: dict[str, bytes]) -> None:
    nbm("calendar", "calls", "--user", OWNER, "on")
    cleo["cleo.ics"] = calendar(event("m1", "20261016T100000", guests=("ann@acme.io",)))
    sync()
    cleo["cleo.ics"] = calendar(event("m1", "20261020T150000", guests=("ann@acme.io",)))  # to next Tuesday
    assert sync()["calls"]["moved"] == 1
    assert call_actions() == [
        ("CALL_PREP", "2026-10-19", "NEW", "Prepare for your call with Ann Lee on Tue 20 Oct"),
        ("POST_CALL", "2026-10-21", "NEW", "Follow up on your call with Ann Lee on Tue 20 Oct"),
    ]


def test_a_cancelled_meeting_removes_what_is_untouched_and_keeps_what_was_done(cleo: dict[str, bytes]) -> None:
    nbm("calendar", "calls", "--user", OWNER, "on")
    cleo["cleo.ics"] = calendar(event("m1", "20261016T100000", guests=("ann@acme.io",)),
                                event("m2", "20261015T090000", guests=("bob@ray.dev",)))
    sync()
    actions = json.loads(nbm("actions", "list", "--user", OWNER, "--json").output)
    bobs_prep = next(a["id"] for a in actions if a["description"] == "Prepare for your call with Bob Ray on Thu 15 Oct")
    assert nbm("mark", "--user", OWNER, bobs_prep, "done").exit_code == 0
    cleo["cleo.ics"] = calendar(event("m2", "20261015T090000", guests=("bob@ray.dev",), status="CANCELLED"))
    calls = sync()["calls"]
    assert (calls["logged"], calls["moved"], calls["removed"]) == (0, 0, 1)  # Ann's call; Bob's stays, acted on
    assert call_actions() == [("CALL_PREP", "2026-10-14", "DONE", "Prepare for your call with Bob Ray on Thu 15 Oct")]


def test_a_calendar_that_cannot_be_read_cancels_nothing(cleo: dict[str, bytes]) -> None:
    nbm("calendar", "calls", "--user", OWNER, "on")
    cleo["cleo.ics"] = calendar(event("m1", "20261016T100000", guests=("ann@acme.io",)))
    sync()
    del cleo["cleo.ics"]  # the server answers 503
    calls = sync()["calls"]
    assert calls["removed"] == 0 and calls["problems"] == ["ics: 127.0.0.1 answered 503: a temporary server error"]
    assert len(call_actions()) == 2


def test_a_lead_email_must_be_an_address_and_is_one_per_lead(cleo: dict[str, bytes]) -> None:
    bad = nbm("leads", "add", "--user", OWNER, "Dee", "https://dee.io", "--email", "dee at dee.io")
    assert bad.exit_code == 2 and "is not an email address; one looks like ann@example.com" in bad.output
    twin = nbm("leads", "add", "--user", OWNER, "Annie", "https://annie.io", "--email", "ann@acme.io")
    assert twin.exit_code == 2 and "you already have Ann Lee with the email ann@acme.io" in twin.output
    names = [lead["name"] for lead in json.loads(nbm("leads", "list", "--user", OWNER, "--json").output)]
    assert names == ["Ann Lee", "Bob Ray"]


def test_each_occurrence_of_a_recurring_meeting_is_its_own_call_and_moves_alone(cleo: dict[str, bytes]) -> None:
    nbm("calendar", "calls", "--user", OWNER, "on")
    series = event("weekly", "20261015T090000", guests=("ann@acme.io",)).replace(
        "SUMMARY:", "RRULE:FREQ=WEEKLY;BYDAY=TH,MO\r\nSUMMARY:")
    cleo["cleo.ics"] = calendar(series)  # Thu 15 and Mon 19 Oct in the next 7 days
    assert sync()["calls"]["logged"] == 2
    moved = event("weekly", "20261020T090000", guests=("ann@acme.io",)).replace(
        "SUMMARY:", "RECURRENCE-ID;TZID=Europe/London:20261019T090000\r\nSUMMARY:")
    cleo["cleo.ics"] = calendar(series, moved)  # Monday's occurrence moved to Tuesday
    calls = sync()["calls"]
    assert (calls["logged"], calls["moved"], calls["removed"]) == (0, 1, 0)
    with unit_of_work(service=True) as session:
        assert sorted(session.scalars(select(LoggedCall.call_date))) == [date(2026, 10, 15), date(2026, 10, 20)]
    # One pending prep and post-call per lead (core.calls): the prep for the soonest call (Thursday's),
    # the follow-up after the latest (Tuesday's, moved there with its call).
    assert [(kind, due) for kind, due, _, _ in call_actions()] == [("CALL_PREP", "2026-10-14"),
                                                                    ("POST_CALL", "2026-10-21")]


def test_a_meeting_after_a_call_logged_by_hand_takes_its_untouched_follow_up(cleo: dict[str, bytes]) -> None:
    """One follow-up pending per lead (core.calls): the one after the latest call, found in the calendar
    as when logged by hand."""
    nbm("calendar", "calls", "--user", OWNER, "on")
    assert nbm("call", "--user", OWNER, "Ann", "2026-10-12").exit_code == 0  # Monday: follow-up due today
    cleo["cleo.ics"] = calendar(event("m1", "20261016T100000", guests=("ann@acme.io",)))
    assert sync()["calls"]["logged"] == 1
    assert call_actions() == [
        ("CALL_PREP", "2026-10-15", "NEW", "Prepare for your call with Ann Lee on Fri 16 Oct"),
        ("POST_CALL", "2026-10-19", "NEW", "Follow up on your call with Ann Lee on Fri 16 Oct"),
    ]


def test_turning_call_detection_on_without_a_calendar_says_so_and_how_to_connect_one(
    connection: Connection, pinned: None
) -> None:
    """It said that meetings become logged calls, checked every hour: not with no calendar to read."""
    assert nbm("users", "add", "dora@example.com", "--name", "Dora").exit_code == 0
    turned = nbm("calendar", "calls", "--user", "dora@example.com", "on")
    assert turned.exit_code == 0
    assert turned.output == (
        "Call detection is on, but no calendar is connected: once one is, meetings with a lead (by the lead's "
        "email) today and in the next 7 days become logged calls, with a prep before and a follow-up after.\n"
        "Connect one with `nbm calendar connect --user dora@example.com ics` (ics takes the calendar's private "
        "iCal address).\n")


def test_a_lead_imported_from_linkedin_is_found_by_its_email(cleo: dict[str, bytes], tmp_path: Path) -> None:
    export = tmp_path / "Connections.csv"
    export.write_text("First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
                      "Dia,Moe,https://www.linkedin.com/in/dia,Dia@Moe.io,Acme,CTO,12 Nov 2026\n")
    assert nbm("leads", "import", "--user", OWNER, str(export)).exit_code == 0
    nbm("calendar", "calls", "--user", OWNER, "on")
    cleo["cleo.ics"] = calendar(event("m1", "20261016T100000", guests=("dia@moe.io",)))
    assert sync()["calls"]["logged"] == 1
    assert [description for _, _, _, description in call_actions()] == [
        "Prepare for your call with Dia Moe on Fri 16 Oct", "Follow up on your call with Dia Moe on Fri 16 Oct"]


@pytest.mark.parametrize("then", ["gone", "with Bob"])
def test_a_call_found_in_the_calendar_is_no_day_of_hers_once_its_meeting_is_gone(
    cleo: dict[str, bytes], then: str
) -> None:
    """Cleo adds her leads on Wednesday; on Thursday a call is found, and she does nothing; on Friday she
    does its prep, then the meeting is gone (or now with another lead). The call stays, acted on, and
    Thursday is still not a day she was active."""
    nbm("calendar", "calls", "--user", OWNER, "on")
    cleo["cleo.ics"] = calendar(event("m1", "20261016T150000", guests=("ann@acme.io",)))
    with time_machine.travel(datetime(2026, 10, 15, 9, 0, tzinfo=UTC), tick=False):  # Thursday
        assert sync()["calls"]["logged"] == 1
    with time_machine.travel(datetime(2026, 10, 16, 9, 0, tzinfo=UTC), tick=False):  # Friday
        actions = json.loads(nbm("actions", "list", "--user", OWNER, "--json").output)
        prep = next(a["id"] for a in actions if a["type"] == "CALL_PREP")
        assert nbm("mark", "--user", OWNER, prep, "done").exit_code == 0
        cleo["cleo.ics"] = calendar(*([event("m1", "20261016T150000", guests=("bob@ray.dev",))]
                                      if then == "with Bob" else []))
        assert sync()["calls"]["removed"] == 0  # Ann's call stays: its prep was done
    with time_machine.travel(datetime(2026, 10, 19, 8, 0, tzinfo=UTC), tick=False):  # the Monday after
        shown = nbm("summary", "--user", OWNER).output
    calls = "2 calls" if then == "with Bob" else "1 call"
    assert f"2 active days, 1 action done, 0 replies, {calls} booked" in shown, shown  # Wednesday and Friday
