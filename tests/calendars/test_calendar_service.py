"""Connecting a private iCal address and sizing the plan with it, through the CLI, Slack and the
morning run: a real calendar server on 127.0.0.1 serving real iCal files (tests/calendars/data)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import time_machine
from sqlalchemy import Connection, select

from core import config
from core.calendars import feed
from core.calendars import service as calendar_service
from core.calendars.morning import free_minutes_for_users
from core.calendars.service import connect_ics
from core.crypto import Secret
from core.db import unit_of_work
from core.models import CalendarConnection, CalendarConnectionStatus, CalendarProvider, CalendarSyncLog, User
from tests.calendars.feeds import REQUESTED, SECRET, FeedHandler, serving_feeds
from tests.cli import nbm
from tests.factories import deleted_afterwards, make_calendar_connection, make_user

WEDNESDAY = datetime(2026, 10, 14, 6, 0, tzinfo=UTC)  # 07:00 in London, before the working day


@pytest.fixture()
def pinned() -> Iterator[None]:
    with time_machine.travel(WEDNESDAY, tick=False):
        yield


@pytest.fixture()
def cleo(connection: Connection, pinned: None) -> str:
    assert nbm("users", "add", "cleo@example.com", "--name", "Cleo", "--tz", "Europe/London").exit_code == 0
    return "cleo@example.com"


def test_an_ical_address_sizes_the_day_and_is_never_shown_back(cleo: str, server: str) -> None:
    connected = nbm("calendar", "connect", "--user", cleo, "ics", f"{server}/cal/day.ics")
    assert connected.exit_code == 0, connected.output
    assert connected.output == "Connected ics (127.0.0.1): active.\n"
    listed = json.loads(nbm("calendar", "list", "--user", cleo, "--json").output)
    assert [(c["provider"], c["calendar"], c["status"]) for c in listed] == [("ics", "127.0.0.1", "active")]
    day = nbm("calendar", "sync", "--user", cleo, "--date", "2026-10-14")
    assert day.output.splitlines() == [
        "Wed 14 Oct: working hours 09:00-17:00 (Europe/London)",
        "  busy 09:30-11:00", "  busy 11:30-11:45", "  busy 15:00-15:30", "  busy 16:00-17:00",
        "Free: 285 min, capacity standard",
    ]
    for output in (connected.output, day.output, json.dumps(listed)):
        assert SECRET not in output


def test_json_writes_times_in_iso_8601_with_its_t(cleo: str, server: str) -> None:
    """`--json` wrote each time as str() does, "2026-10-14 08:00:00+00:00": a space where ISO 8601 (and
    every JSON reader's date parser) has a 'T'. Dates stay YYYY-MM-DD."""
    assert nbm("calendar", "connect", "--user", cleo, "ics", f"{server}/cal/day.ics").exit_code == 0
    day = json.loads(nbm("calendar", "sync", "--user", cleo, "--date", "2026-10-14", "--json").output)
    assert day["date"] == "2026-10-14"
    assert day["window"] == ["2026-10-14T09:00:00+01:00", "2026-10-14T17:00:00+01:00"]  # London's working hours
    assert day["busy"][0] == ["2026-10-14T08:30:00+00:00", "2026-10-14T10:00:00+00:00"]
    (listed,) = json.loads(nbm("calendar", "list", "--user", cleo, "--json").output)
    assert listed["last_sync_at"] == "2026-10-14T06:00:00+00:00"


def test_no_calendar_listed_says_what_sizes_the_next_plans_a_capacity_set_for_a_day_included(cleo: str) -> None:
    """It said "the plan uses the default capacity", whatever capacity the user set for the day."""
    assert nbm("plan", "--user", cleo, "--capacity", "light").exit_code == 0
    listed = nbm("calendar", "list", "--user", cleo)
    assert listed.exit_code == 0 and listed.output == (
        "No calendar connected: your next plans use the default capacity of 5 actions a day (or the capacity you "
        "set for a day).\n")


def test_a_bad_or_unreadable_address_is_refused_and_nothing_is_connected(cleo: str, server: str) -> None:
    for address, said in ((f"ftp://{server[7:]}/cal/day.ics", "http"), (f"{server}/status/404", "could not be read"),
                          (f"{server}/html", "could not be read")):
        refused = nbm("calendar", "connect", "--user", cleo, "ics", address)
        assert refused.exit_code == 2 and said in refused.output and SECRET not in refused.output
    assert json.loads(nbm("calendar", "list", "--user", cleo, "--json").output) == []


def test_an_address_on_an_internal_network_is_refused_before_any_request(
    cleo: str, server: str, public_only: Callable[[], None]
) -> None:
    public_only()
    port = urlsplit(server).port
    asked = len(REQUESTED)
    for address, host in ((f"{server}/cal/day.ics", "127.0.0.1"),
                          (f"http://localhost:{port}/{SECRET}/cal/day.ics", "localhost"),
                          (f"http://[::ffff:127.0.0.1]:{port}/{SECRET}/cal/day.ics", "::ffff:127.0.0.1"),
                          (f"webcal://169.254.169.254/{SECRET}/basic.ics", "169.254.169.254")):
        refused = nbm("calendar", "connect", "--user", cleo, "ics", address)
        assert refused.exit_code == 2
        assert refused.output == (
            f"Error: that iCal address could not be read: {host} is on an internal network, not the public "
            "internet, and this server refuses such addresses (its operator can allow them with "
            "ICAL_ALLOW_PRIVATE_NETWORK=true). Nothing was connected.\n")
        assert SECRET not in refused.output
    assert len(REQUESTED) == asked
    assert json.loads(nbm("calendar", "list", "--user", cleo, "--json").output) == []


def test_a_stored_address_now_on_an_internal_network_is_not_read(cleo: str, server: str,
                                                                 public_only: Callable[[], None]) -> None:
    """An address connected while its host was public, whose host now leads inside (DNS changed):
    the morning's read is refused like a provider that is down, and the plan takes the default."""
    assert nbm("calendar", "connect", "--user", cleo, "ics", f"{server}/cal/day.ics").exit_code == 0
    public_only()
    asked = len(REQUESTED)
    day = json.loads(nbm("calendar", "sync", "--user", cleo, "--date", "2026-10-14", "--json").output)
    assert (day["free_minutes"], day["capacity"]) == (None, "default")
    assert len(REQUESTED) == asked


@pytest.fixture()
def inside_server() -> Iterator[tuple[str, list[str]]]:
    """A calendar server on 127.0.0.2, standing for one on the server's own network: its base URL
    and the path of every request it was sent."""
    seen: list[str] = []

    class Inside(FeedHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            super().do_GET()

    with serving_feeds(Inside, host="127.0.0.2") as base:
        yield base, seen


def test_a_redirect_from_a_public_address_to_an_internal_one_is_not_followed(
    cleo: str, server: str, inside_server: tuple[str, list[str]], public_only: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """A public calendar server answering with a redirect into the server's own network: the hop is
    checked as the first address was, so nothing inside is read and nothing is connected."""
    inside, seen = inside_server
    public_only()
    # This machine stands in for both: 127.0.0.1 for the internet, anything else for the inside.
    monkeypatch.setattr(feed, "is_internal", lambda address: address != "127.0.0.1")
    asked = len(REQUESTED)

    refused = nbm("calendar", "connect", "--user", cleo, "ics",
                  f"{server}/away?to={quote(f'{inside}/cal/day.ics', safe='')}")

    assert refused.exit_code == 2
    assert ("could not be read: 127.0.0.2 is on an internal network, not the public internet, and this server "
            "refuses such addresses (its operator can allow them with ICAL_ALLOW_PRIVATE_NETWORK=true). Nothing "
            "was connected.") in refused.output
    assert len(REQUESTED) == asked + 1  # the public server's redirect
    assert seen == []
    assert json.loads(nbm("calendar", "list", "--user", cleo, "--json").output) == []


def test_an_expired_calendar_beside_a_readable_one_leaves_the_day_at_default(cleo: str, server: str) -> None:
    """The iCal address reads fine, but the Google calendar beside it expired: its busy time is
    unknown, so the day is not sized by the iCal address alone as if the Google calendar were free."""
    assert nbm("calendar", "connect", "--user", cleo, "ics", f"{server}/cal/day.ics").exit_code == 0
    with unit_of_work(service=True) as session:
        user = session.scalars(select(User).where(User.email == cleo)).one()
        make_calendar_connection(session, user, provider=CalendarProvider.GOOGLE,
                                 status=CalendarConnectionStatus.EXPIRED,
                                 error_message="Google refused the grant (invalid_grant); connect it again")

    day = nbm("calendar", "sync", "--user", cleo, "--date", "2026-10-14")

    assert day.output.splitlines()[-2:] == [
        "Free: unknown, capacity default",
        "  could not read google: expired (Google refused the grant (invalid_grant); connect it again)",
    ]


def test_working_hours_change_the_free_time_and_a_disconnect_forgets_the_calendar(cleo: str, server: str) -> None:
    nbm("calendar", "connect", "--user", cleo, "ics", f"{server}/cal/day.ics")
    assert nbm("calendar", "hours", "--user", cleo, "17:00-09:00").exit_code == 2
    assert nbm("calendar", "hours", "--user", cleo, "12:00-14:00").output == "Working hours: 12:00-14:00.\n"
    assert json.loads(nbm("calendar", "sync", "--user", cleo, "--date", "2026-10-14", "--json").output)[
        "free_minutes"] == 120
    assert nbm("calendar", "disconnect", "--user", cleo, "ics").exit_code == 0
    day = json.loads(nbm("calendar", "sync", "--user", cleo, "--date", "2026-10-14", "--json").output)
    assert (day["free_minutes"], day["capacity"]) == (None, "default")


def test_nbm_calendar_disconnect_says_what_slack_says_and_refuses_when_nothing_is_connected(
    cleo: str, server: str
) -> None:
    """The terminal says the sentence Slack and the preferences page say (core.calendars.disconnection)."""
    nbm("calendar", "connect", "--user", cleo, "ics", f"{server}/cal/day.ics")

    disconnected = nbm("calendar", "disconnect", "--user", cleo, "ics")

    assert disconnected.exit_code == 0
    assert disconnected.output == (
        "Disconnected your iCal address: the address is deleted and no longer read. With no calendar connected, "
        "your next plans use the default capacity of 5 actions a day (or the capacity you set for a day).\n")
    assert json.loads(nbm("calendar", "list", "--user", cleo, "--json").output) == []
    again = nbm("calendar", "disconnect", "--user", cleo, "ics", "--json")
    assert again.exit_code == 2
    assert again.output == "Error: Nothing to disconnect: you have no iCal address connected.\n"


def test_every_read_is_logged_without_the_address(cleo: str, server: str, connection: Connection) -> None:
    nbm("calendar", "connect", "--user", cleo, "ics", f"{server}/cal/day.ics")
    nbm("calendar", "sync", "--user", cleo, "--date", "2026-10-14")
    with unit_of_work(service=True) as session:
        logs = session.scalars(select(CalendarSyncLog)).all()
        assert [(log.status, log.error_message) for log in logs] == [("ok", None), ("ok", None)]
        assert all(SECRET not in json.dumps(log.metadata_) for log in logs)


@pytest.fixture()
def committed(engine: object) -> Iterator[uuid.UUID]:
    """A London user committed for real (the morning reads calendars in threads of its own)."""
    with unit_of_work(service=True) as session:
        user_id = make_user(session, email=f"cal-{uuid.uuid4().hex[:8]}@example.com", timezone="Europe/London").id
    with deleted_afterwards(user_id):
        yield user_id


def test_the_morning_reads_calendars_within_its_budget(committed: uuid.UUID, server: str,
                                                       silent_server: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(calendar_service, "READ_TIMEOUT", 2.0)  # the hung read ends soon after the test
    with time_machine.travel(WEDNESDAY, tick=True):
        with unit_of_work(user_id=committed) as session:
            connect_ics(session, user=session.get_one(User, committed), url=f"{server}/cal/day.ics")
        assert free_minutes_for_users([committed], at=WEDNESDAY, budget=10) == {committed: 285}
        # The same calendar now hangs: the morning gives up on it within the budget, default capacity.
        with unit_of_work(service=True) as session:
            session.execute(CalendarSyncLog.__table__.delete())
        with unit_of_work(user_id=committed) as session:
            row = session.scalars(select(CalendarConnection)).one()
            row.refresh_token = Secret(silent_server)
        assert free_minutes_for_users([committed], at=WEDNESDAY, budget=1) == {committed: None}
    # The late read still keeps what it found (module rules): let it, before the user is deleted
    # under it (the two would deadlock).
    for thread in threading.enumerate():
        if thread.name.startswith("nbm-calendar"):
            thread.join(timeout=30)


def test_an_expired_address_is_told_once_and_the_plan_falls_back_to_default(
    cleo: str, server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EMAIL_BACKEND", "outbox")
    config.get_settings.cache_clear()
    nbm("calendar", "connect", "--user", cleo, "ics", f"{server}/cal/day.ics")
    with unit_of_work(service=True) as session:  # the address was reset in the calendar's settings
        session.scalars(select(CalendarConnection)).one().refresh_token = Secret(f"{server}/status/410")
    for _ in range(2):
        day = json.loads(nbm("calendar", "sync", "--user", cleo, "--date", "2026-10-14", "--json").output)
        assert (day["free_minutes"], day["capacity"]) == (None, "default")
    listed = json.loads(nbm("calendar", "list", "--user", cleo, "--json").output)
    (only,) = listed
    assert only["status"] == "expired" and "the address was reset or removed" in only["error"]
    told = [BytesParser(policy=policy.default).parsebytes(path.read_bytes()) for path in
            (tmp_path / "outbox").glob("*.eml")]
    assert [str(message["Subject"]) for message in told] == ["Your iCal address needs reconnecting"]
    assert "the address was reset or removed" in told[0].get_body(("plain",)).get_content()
    config.get_settings.cache_clear()


def test_a_plan_made_before_the_morning_is_sized_by_the_calendar_as_the_morning_would(cleo: str, server: str) -> None:
    """Adding leads, then `nbm plan`, before the morning run: the plan the first add made is the
    day's plan (the morning never overwrites one), so it is sized by the calendar then."""
    nbm("calendar", "connect", "--user", cleo, "ics", f"{server}/cal/weekly.ics")  # Mondays only: 8 h free today
    for n in range(1, 10):
        assert nbm("leads", "add", "--user", cleo, f"Lead {n}", f"https://example.com/{n}").exit_code == 0
    plan = nbm("plan", "--user", cleo)
    assert plan.output.splitlines()[0] == (
        "Wed 14 Oct — 8 actions, ~80 min  (capacity heavy, 480 min free in your calendar, streak 0 days)")


def test_a_plan_made_before_the_morning_without_its_calendar_read_uses_the_default(
    cleo: str, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A calendar that cannot be read when `nbm plan` makes the day's plan: `default`, as in the morning."""
    monkeypatch.setattr(calendar_service, "RETRY_DELAYS", ())  # the server is down for good in this test
    nbm("calendar", "connect", "--user", cleo, "ics", f"{server}/cal/weekly.ics")
    with unit_of_work(service=True) as session:
        session.scalars(select(CalendarConnection)).one().refresh_token = Secret(f"{server}/status/503")
    nbm("leads", "add", "--user", cleo, "Ann", "https://example.com/ann")
    assert nbm("plan", "--user", cleo).output.splitlines()[0] == (
        "Wed 14 Oct — 1 action, ~10 min  (capacity default, streak 0 days)")
    (listed,) = json.loads(nbm("calendar", "list", "--user", cleo, "--json").output)
    assert listed["status"] == "error"
