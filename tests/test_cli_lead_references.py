"""A lead named on the command line by its id, link or name, as in Slack: two leads of the same name are
told apart by their links, and a name both share is refused listing each with its link."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from core.models import LoggedCall
from tests.test_cli_core import EMAIL, nbm, ok_json, pinned_clock, refused  # noqa: F401 - the clock fixture, shared

FIRST, SECOND = "https://www.linkedin.com/in/bea-stone-1", "https://www.linkedin.com/in/bea-stone-2"


@pytest.fixture()
def beas(connection: Connection) -> list[str]:
    """A user (:data:`EMAIL`) and the ids of their two leads called Bea Stone."""
    assert nbm("users", "add", EMAIL, "--name", "Ann Lee", "--tz", "America/New_York").exit_code == 0
    return [str(ok_json("leads", "add", "--user", EMAIL, "Bea Stone", url)["id"]) for url in (FIRST, SECOND)]


def _statuses() -> dict[str, str]:
    return {lead["id"]: lead["status"] for lead in ok_json("leads", "list", "--user", EMAIL)}


def test_call_by_link_logs_the_call_with_that_lead(beas: list[str], service: Session) -> None:
    call = ok_json("call", "--user", EMAIL, SECOND, "2026-11-27")
    assert {action["lead_id"] for action in call["actions"]} == {beas[1]}
    assert [str(lead_id) for lead_id in service.scalars(select(LoggedCall.lead_id))] == [beas[1]]


def test_status_changes_by_link_change_that_lead_only(beas: list[str]) -> None:
    assert nbm("leads", "snooze", "--user", EMAIL, "HTTPS://WWW.LinkedIn.com/in/bea-stone-1/",
               "--until", "2026-12-15").exit_code == 0
    assert _statuses() == {beas[0]: "SNOOZED", beas[1]: "ACTIVE"}

    assert nbm("leads", "archive", "--user", EMAIL, SECOND).exit_code == 0
    again = nbm("leads", "archive", "--user", EMAIL, SECOND)  # an archived lead is still named by its link
    assert again.exit_code == 0 and again.output.startswith("already archived: ")
    assert _statuses() == {beas[0]: "SNOOZED", beas[1]: "ARCHIVED"}


def test_edit_by_name_when_one_lead_has_it(beas: list[str]) -> None:
    ok_json("leads", "add", "--user", EMAIL, "Carl Diaz", "https://x.io/carl")
    assert ok_json("leads", "edit", "--user", EMAIL, "carl", "--notes", "met at SaaStr")["notes"] == "met at SaaStr"


def test_a_shared_name_is_refused_listing_each_lead_with_its_link(beas: list[str],
                                                                  service: Session) -> None:
    refused(nbm("call", "--user", EMAIL, "Bea Stone", "2026-11-27"),
            f"'Bea Stone' matches Bea Stone ({FIRST}), Bea Stone ({SECOND}); use the URL to pick one, or the id "
            "`nbm leads list` shows")
    refused(nbm("leads", "archive", "--user", EMAIL, "https://www.linkedin.com/in/bea-stone-3"),
            "no lead has the link 'https://www.linkedin.com/in/bea-stone-3'; `nbm leads list` lists yours")
    assert service.scalars(select(LoggedCall)).all() == []
    assert _statuses() == {beas[0]: "ACTIVE", beas[1]: "ACTIVE"}


def test_the_help_says_what_names_a_lead() -> None:
    said = " ".join(nbm("call", "--help").output.split())
    assert "LEAD is the lead's id, link or name (`nbm leads list` shows them)" in said
