"""`nbm leads snooze|unsnooze|archive` as a person uses them: today's plan follows the lead's status at
once, a repeat says it changed nothing, and a snooze date is bounded and shown with its year when far."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import Connection

from tests.test_cli_core import nbm, ok_json, refused

NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)  # Wed 25 Nov, 09:00 in New York
EMAIL = "ann@example.com"
#: Adds a lead by name, answering its id.
Add = Callable[[str], str]


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture()
def user(connection: Connection) -> str:
    assert nbm("users", "add", EMAIL, "--name", "Ann Lee", "--tz", "America/New_York").exit_code == 0
    return EMAIL


@pytest.fixture()
def add(user: str, clock: time_machine.Traveller) -> Add:
    """Adds a lead (its outreach is due today and joins today's plan), a minute after the one before,
    so the plan's order (oldest lead first) is known; answers its id."""

    def add_lead(name: str) -> str:
        lead = ok_json("leads", "add", "--user", user, name, f"https://x.io/{name.split()[0].lower()}")
        clock.shift(timedelta(minutes=1))
        return str(lead["id"])

    return add_lead


def titles(user: str) -> list[tuple[str, str]]:
    """Today's plan as ``nbm plan`` lists it: (title, state) in order."""
    return [(item["title"], item["state"]) for item in ok_json("plan", "--user", user)["items"]]


def test_an_archived_leads_open_action_leaves_todays_plan_and_what_was_done_stays(user: str, add: Add) -> None:
    hannah, _ = add("Hannah Becker"), add("Bo Chen")
    (outreach,) = [a["id"] for a in ok_json("actions", "list", "--user", user) if a["lead_id"] == hannah]
    ok_json("mark", "--user", user, outreach, "sent")
    ok_json("mark", "--user", user, outreach, "replied")
    assert ("Reply to Hannah Becker", "NEW") in titles(user)

    assert nbm("leads", "archive", "--user", user, hannah).exit_code == 0

    assert titles(user) == [("Reach out to Hannah Becker", "REPLIED"), ("Reach out to Bo Chen", "NEW")]
    assert "Reply to Hannah Becker" not in nbm("plan", "--user", user).output


def test_snoozing_a_lead_takes_it_out_of_todays_plan_and_unsnoozing_brings_it_back(user: str, add: Add) -> None:
    hannah, _ = add("Hannah Becker"), add("Bo Chen")
    assert ("Reach out to Hannah Becker", "NEW") in titles(user)

    assert nbm("leads", "snooze", "--user", user, hannah, "--until", "2026-12-15").exit_code == 0
    assert titles(user) == [("Reach out to Bo Chen", "NEW")]

    assert nbm("leads", "unsnooze", "--user", user, hannah).exit_code == 0
    assert ("Reach out to Hannah Becker", "NEW") in titles(user)


def test_a_repeated_status_change_says_already_and_changes_nothing(user: str, add: Add) -> None:
    hannah = add("Hannah Becker")

    first = json.loads(nbm("leads", "snooze", "--user", user, hannah, "--until", "2026-12-15", "--json").output)
    again = nbm("leads", "snooze", "--user", user, hannah, "--until", "2026-12-15")
    assert (first["status"], first["changed"]) == ("SNOOZED", True)
    assert again.exit_code == 0 and again.output.startswith("already snoozed: ")
    moved = ok_json("leads", "snooze", "--user", user, hannah, "--until", "2026-12-16")
    assert (moved["snooze_until"], moved["changed"]) == ("2026-12-16", True)

    assert nbm("leads", "unsnooze", "--user", user, hannah).output.startswith("active again: ")
    not_snoozed = nbm("leads", "unsnooze", "--user", user, hannah)
    assert not_snoozed.exit_code == 0
    assert not_snoozed.output.startswith("Hannah Becker is not snoozed; nothing changed")
    assert ok_json("leads", "unsnooze", "--user", user, hannah)["changed"] is False

    assert nbm("leads", "archive", "--user", user, hannah).output.startswith("archived: ")
    assert nbm("leads", "archive", "--user", user, hannah).output.startswith("already archived: ")
    assert ok_json("leads", "archive", "--user", user, hannah)["changed"] is False


def test_a_lead_snooze_is_bounded_like_an_actions_and_changes_nothing_when_refused(user: str, add: Add) -> None:
    hannah = add("Hannah Becker")
    refused(nbm("leads", "snooze", "--user", user, hannah, "--until", "2030-01-01"),
            "a snooze can last at most 365 days")
    refused(nbm("leads", "snooze", "--user", user, hannah, "--until", "2026-11-25"), "must end after today")
    (lead,) = ok_json("leads", "list", "--user", user)
    assert (lead["status"], lead["snooze_until"]) == ("ACTIVE", None)
    assert ("Reach out to Hannah Becker", "NEW") in titles(user)


def test_a_snooze_months_away_is_shown_with_its_year(user: str, add: Add) -> None:
    """Today is Wed 25 Nov 2026: a date next month reads well without a year; one next autumn does not."""
    hannah, bo = add("Hannah Becker"), add("Bo Chen")
    assert "[snoozed until Fri 1 Oct 2027]" in nbm("leads", "snooze", "--user", user, hannah,
                                                   "--until", "2027-10-01").output
    nbm("leads", "snooze", "--user", user, bo, "--until", "2026-12-15")
    listed = nbm("leads", "list", "--user", user).output
    assert "Bo Chen  https://x.io/bo  [snoozed until Tue 15 Dec]" in listed
    assert "Hannah Becker  https://x.io/hannah  [snoozed until Fri 1 Oct 2027]" in listed
