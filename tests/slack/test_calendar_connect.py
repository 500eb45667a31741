"""Connecting a calendar from Slack: /nbm connect ics, App Home's buttons and its calendar health."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from core.models import User
from tests.calendars.feeds import REQUESTED, SECRET
from tests.slack.conftest import block_action, command, event, interact, replies, view_submission
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")


def _home(fake: FakeSlack) -> str:
    return str(fake.calls_to("views.publish")[-1].args["view"]["blocks"])


def test_nbm_connect_ics_connects_and_app_home_shows_its_health(
    web: FlaskClient, fake: FakeSlack, ann: User, server: str
) -> None:
    event(web, {"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home"})
    before = _home(fake)
    assert "No calendar connected" in before and "'value': 'ics'" in before  # the Connect button

    command(web, fake, f"connect ics <{server}/cal/day.ics>")
    (answer,) = replies(fake)
    assert answer.startswith("✅ Connected your calendar at 127.0.0.1") and SECRET not in answer
    after = _home(fake)
    assert "*iCal address* (127.0.0.1): ✅ connected" in after and SECRET not in after


def test_a_refused_address_says_its_reason_and_its_advice_once(
    web: FlaskClient, fake: FakeSlack, ann: User, server: str
) -> None:
    command(web, fake, f"connect ics {server}/status/404")
    command(web, fake, f"connect ics {server}/text")
    assert replies(fake) == [
        "That iCal address could not be read: 127.0.0.1 answered 404: the address was reset or removed; copy the "
        "new private address from your calendar's settings. Nothing was connected.",
        "That iCal address could not be read: the address answered with something that is not an iCal calendar "
        "(it does not begin with BEGIN:VCALENDAR); use the calendar's private iCal (.ics) address. Nothing was "
        "connected.",
    ]


def test_a_bad_address_is_refused_in_the_modal_and_nothing_is_connected(
    web: FlaskClient, fake: FakeSlack, ann: User, server: str
) -> None:
    interact(web, block_action(fake, {"type": "button", "action_id": "nbm_connect_calendar", "block_id": "x",
                                      "value": "ics"}))
    (opened,) = fake.calls_to("views.open")
    assert opened.args["view"]["callback_id"] == "nbm_connect_ics"
    def submit(address: str) -> Any:
        return interact(web, view_submission("nbm_connect_ics", {"address": {"value": address}})).get_json()

    answer = submit(f"{server}/status/410")
    assert answer["response_action"] == "errors" and "could not be read" in answer["errors"]["address"]
    assert SECRET not in str(answer)
    answer = submit(f"{server}/cal/day.ics")
    assert answer["response_action"] == "update" and "Connected your calendar at 127.0.0.1" in str(answer)


def test_an_address_on_an_internal_network_is_refused_in_the_modal(
    web: FlaskClient, fake: FakeSlack, ann: User, server: str, public_only: Callable[[], None]
) -> None:
    public_only()
    asked = len(REQUESTED)
    answer = interact(web, view_submission("nbm_connect_ics", {"address": {"value": f"{server}/cal/day.ics"}}))
    errors = answer.get_json()["errors"]
    assert errors["address"] == ("That iCal address could not be read: 127.0.0.1 is on an internal network, not "
                                 "the public internet, and this server refuses such addresses (its operator can "
                                 "allow them with ICAL_ALLOW_PRIVATE_NETWORK=true). Nothing was connected.")
    assert len(REQUESTED) == asked
    event(web, {"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home"})
    assert "No calendar connected" in _home(fake)


def test_only_configured_providers_are_offered(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    command(web, fake, "connect google")
    assert replies(fake) == ["Connect a calendar with `/nbm connect ics <private iCal address>`. Its free time "
                             "then sizes your plan."]
