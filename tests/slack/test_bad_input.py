"""Odd input inside a valid, signed request is the person's to fix: it gets a message saying what is
accepted, never the apology for a bug, and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.slack.errors import APOLOGY
from core.db import unit_of_work
from core.models import ActionState, Lead, User, UserSettings
from tests.slack.conftest import add_leads, command, interact, plan_of, replies, state_of, view_submission
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")


def _leads(user: User) -> list[Lead]:
    with unit_of_work(user_id=user.id) as session:
        return list(session.scalars(select(Lead)))


@pytest.fixture()
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fails the test if anything was logged as an error: odd input is not a bug."""
    yield
    assert [record.getMessage() for record in caplog.get_records("call") if record.levelname == "ERROR"] == []


@pytest.mark.usefixtures("no_errors_logged")
@pytest.mark.parametrize(("text", "answer"), [
    ("done ²", "No lead is called '²'; use a lead's name or link (`/nbm leads` lists yours), or a number "
               "from today's plan (`/nbm today`)"),
    ("snooze ² tomorrow", "No lead is called '²'; use a lead's name or link (`/nbm leads` lists yours), or a number "
                          "from today's plan (`/nbm today`)"),
    ("done " + "9" * 5000, "Today's plan has 2 actions; use a number from 1 to 2, or a lead's name"),
    ("add Ann\x00Lee https://www.linkedin.com/in/ann-lee", "That text holds a character that cannot be saved"),
    ("done Bea\x00", "That text holds a character that cannot be saved"),
])
def test_odd_words_in_a_command_get_a_message_saying_what_is_accepted(
    web: FlaskClient, fake: FakeSlack, ann: User, text: str, answer: str
) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz")
    first, second = plan_of(ann).items
    assert command(web, fake, text).status_code == 200
    (reply,) = replies(fake)
    assert reply.startswith(answer) and reply != APOLOGY
    assert {state_of(ann, item.action_id) for item in (first, second)} == {ActionState.NEW}
    assert sorted(lead.name for lead in _leads(ann)) == ["Bea Stone", "Carl Diaz"]


@pytest.mark.usefixtures("no_errors_logged")
@pytest.mark.parametrize(("name", "notes", "field"), [
    ("Dana\x00Fox", None, "name"),
    ("Dana Fox", "met at the \ud83d meetup", "notes"),  # half of an emoji: JSON can carry it, UTF-8 cannot
])
def test_an_unsavable_character_in_a_forms_field_is_refused_on_that_field_and_the_form_stays_open(
    web: FlaskClient, fake: FakeSlack, ann: User, name: str, notes: str | None, field: str
) -> None:
    response = interact(web, view_submission("nbm_add_lead", {
        "name": {"type": "plain_text_input", "value": name},
        "url": {"type": "plain_text_input", "value": "https://www.linkedin.com/in/dana-fox"},
        "notes": {"type": "plain_text_input", "value": notes}}))
    assert response.json["response_action"] == "errors"
    assert list(response.json["errors"]) == [field]
    assert response.json["errors"][field].startswith("That text holds a character that cannot be saved")
    assert _leads(ann) == []


@pytest.mark.usefixtures("no_errors_logged")
@pytest.mark.parametrize(("callback_id", "values", "missing"), [
    ("nbm_settings", {"delivery_time": {"type": "timepicker", "selected_time": "08:15"},
                      "channels": {"type": "checkboxes", "selected_options": [{"value": "email"}]},
                      "work_days": {"type": "checkboxes", "selected_options": [{"value": "1"}]}}, "timezone"),
    ("nbm_add_lead", {"url": {"type": "plain_text_input", "value": "https://www.linkedin.com/in/dana-fox"}}, "name"),
])
def test_a_form_submitted_without_one_of_its_fields_says_so_and_saves_nothing(
    web: FlaskClient, fake: FakeSlack, ann: User, callback_id: str, values: dict[str, Any], missing: str
) -> None:
    response = interact(web, view_submission(callback_id, values))
    assert response.json["response_action"] == "update"
    (shown,) = response.json["view"]["blocks"]
    assert shown["text"]["text"] == (f"This form has no '{missing}' field (it may have changed since it was opened), "
                                     "so nothing was saved; close it and open it again")
    assert _leads(ann) == []
    with unit_of_work(user_id=ann.id) as session:
        assert session.get_one(UserSettings, ann.id).work_days == [1, 2, 3, 4, 5]


@pytest.mark.usefixtures("no_errors_logged")
@pytest.mark.parametrize(("timezone", "same_clock"), [
    ("localtime", ""), ("Factory", ""), ("CET", "'Europe/Brussels', which keeps the same clock, or "),
], ids=["localtime", "Factory", "CET"])
def test_a_timezone_that_is_neither_a_place_nor_a_fixed_offset_is_refused_on_the_settings_forms_field(
    web: FlaskClient, fake: FakeSlack, ann: User, timezone: str, same_clock: str
) -> None:
    """One that keeps a place's clock is refused naming that place (core.clock.zone)."""
    response = interact(web, view_submission("nbm_settings", {
        "delivery_time": {"type": "timepicker", "selected_time": "08:15"},
        "channels": {"type": "checkboxes", "selected_options": [{"value": "email"}]},
        "timezone": {"type": "plain_text_input", "value": timezone},
        "work_days": {"type": "checkboxes", "selected_options": [{"value": "1"}]}}))
    assert response.json == {"response_action": "errors", "errors": {"timezone": (
        f"{timezone!r} is not an IANA timezone NextBestMove accepts; use {same_clock}the IANA name of a place, like "
        "'Europe/Paris' or 'America/New_York', or 'UTC'")}}
    with unit_of_work(user_id=ann.id) as session:
        assert session.get_one(User, ann.id).timezone == "Europe/London"


def test_a_slack_profile_whose_timezone_links_to_no_place_gets_utc_as_migration_0008_gave(
    web: FlaskClient, fake: FakeSlack, installed: Any
) -> None:
    fake.add_user("U9", email="neo@example.com", name="Neo Park", tz="Factory")
    command(web, fake, "streak", user="U9")
    with unit_of_work(service=True) as session:
        assert session.scalar(select(User.timezone).where(User.email == "neo@example.com")) == "UTC"
