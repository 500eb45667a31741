"""App Home: published when opened, with today's plan, streak, leads, quick add, settings,
calendars and billing; its buttons open the forms and refresh the plan."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from bot.cli import main
from core.calendars.call_detection import FINDS
from core.crypto import Secret
from core.db import unit_of_work
from core.models import CalendarProvider, SlackInstallation, User
from core.preferences import set_call_detection
from tests.factories import make_calendar_connection
from tests.slack.conftest import add_leads, block_action, event, interact, plan_of
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")


def _open_home(web: FlaskClient, fake: FakeSlack, event_id: str = "Ev1") -> dict[str, Any]:
    event(web, {"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home"}, event_id=event_id)
    (published,) = fake.calls_to("views.publish")
    assert published.args["user_id"] == "U1"
    return published.args["view"]


def _texts(view: dict[str, Any]) -> str:
    return str(view["blocks"])


def test_opening_app_home_publishes_everything_it_shows(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz")
    view = _open_home(web, fake)
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    assert view["blocks"][0]["text"]["text"] == "Today · Wed 25 Nov"
    texts = _texts(view)
    assert "Fast Win" in texts  # two 10-minute outreaches: the oldest lead's is the Fast Win
    for expected in ("Reach out to Bea Stone", "Reach out to Carl Diaz", "~20 min",
                     "Leads (2)", "*Morning plan at*\\n07:30", "Mon, Tue, Wed, Thu, Fri", "Europe/London",
                     "No calendar connected", "Billing is not set up on this server"):
        assert expected in texts, expected
    buttons = [e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert {"nbm_open_add_lead", "nbm_open_log_call", "nbm_refresh_plan", "nbm_done"} <= set(buttons)


def test_a_lead_snoozed_for_months_shows_the_year_it_comes_back(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    (bea,) = add_leads(ann, "Bea Stone")
    assert CliRunner().invoke(main, ["leads", "snooze", "--user", ann.email, str(bea.id),
                                     "--until", "2027-10-01"]).exit_code == 0
    assert "Bea Stone>  💤 until Fri 1 Oct 2027" in _texts(_open_home(web, fake))


def test_the_messages_tab_does_not_publish_home(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    event(web, {"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "messages"})
    assert fake.calls_to("views.publish") == []


@pytest.mark.parametrize(("action_id", "callback_id"), [
    ("nbm_open_add_lead", "nbm_add_lead"), ("nbm_open_log_call", "nbm_log_call"), ("nbm_open_settings", "nbm_settings"),
])
def test_home_buttons_open_their_forms(web: FlaskClient, fake: FakeSlack, ann: User, action_id: str,
                                       callback_id: str) -> None:
    add_leads(ann, "Bea Stone")
    interact(web, block_action(fake, {"type": "button", "action_id": action_id, "block_id": "x"}))
    (opened,) = fake.calls_to("views.open")
    assert (opened.args["trigger_id"], opened.args["view"]["callback_id"]) == ("trigger-2", callback_id)


def test_refresh_refills_the_plan_and_republishes(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone")
    plan_of(ann)
    add_leads(ann, "Carl Diaz")
    interact(web, block_action(fake, {"type": "button", "action_id": "nbm_refresh_plan", "block_id": "x"}))
    assert [item.lead_name for item in plan_of(ann).items] == ["Bea Stone", "Carl Diaz"]
    assert "Reach out to Carl Diaz" in _texts(fake.calls_to("views.publish")[0].args["view"])


def test_app_home_says_why_when_the_account_cannot_be_set_up(web: FlaskClient, fake: FakeSlack,
                                                            installed: SlackInstallation) -> None:
    fake.add_user("U9", email=None, name="No Mail")
    event(web, {"type": "app_home_opened", "user": "U9", "channel": "DU9", "tab": "home"})
    (published,) = fake.calls_to("views.publish")
    assert published.args["user_id"] == "U9" and published.args["view"]["type"] == "home"
    assert "could not read your email address from Slack" in str(published.args["view"]["blocks"])


def test_app_home_says_whether_calls_are_found_and_offers_to_reconnect_a_calendar_that_hides_guests(
    web: FlaskClient, fake: FakeSlack, ann: User, server: str
) -> None:
    with unit_of_work(service=True) as session:  # a readable address: opening App Home reads it to make the plan
        user = session.get_one(User, ann.id)
        make_calendar_connection(session, user, provider=CalendarProvider.ICS, calendar_id="cal.example",
                                 refresh_token=Secret(f"{server}/cal/day.ics"), reads_events=True)
    assert "Call detection is off. Edit settings to find your calls with leads." in _texts(_open_home(web, fake))
    with unit_of_work(user_id=ann.id) as session:
        set_call_detection(session, user=session.get_one(User, ann.id), on=True)
    fake.calls.clear()
    view = _open_home(web, fake, event_id="Ev2")
    assert f"Call detection is on: {FINDS}. Your calendars are searched every hour." in _texts(view)
    buttons = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert not any(e["action_id"].startswith("nbm_connect_calendar") for e in buttons)  # an iCal address shows guests


def test_app_home_says_no_calls_are_found_without_a_calendar(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    """As `nbm calendar calls on` says it (core.calendars.call_detection.detection_said)."""
    with unit_of_work(user_id=ann.id) as session:
        set_call_detection(session, user=session.get_one(User, ann.id), on=True)
    view = _open_home(web, fake)
    assert (f"Call detection is on, but no calendar is connected: once one is, {FINDS}. Connect one below."
            in _texts(view))
    buttons = [e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert any(action.startswith("nbm_connect_calendar") for action in buttons)
