"""A user disconnects (or replaces) a calendar themselves from Slack: App Home's Disconnect button,
`/nbm disconnect`, and the Replace address / Reconnect buttons of a calendar that cannot be read."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs

import pytest
import responses
from flask.testing import FlaskClient
from sqlalchemy import select

from core.calendars import google
from core.db import unit_of_work
from core.models import CalendarConnection, CalendarConnectionStatus, CalendarProvider, User
from tests.factories import make_calendar_connection
from tests.slack.conftest import block_action, command, event, interact, replies
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")

NO_CALENDAR_LEFT = ("With no calendar connected, your next plans use the default capacity of 5 actions a day (or "
                    "the capacity you set for a day).")


def connect(user: User, kind: CalendarProvider, **fields: Any) -> None:
    with unit_of_work(service=True) as session:
        make_calendar_connection(session, session.get_one(User, user.id), provider=kind, **fields)


def connected(user: User) -> dict[CalendarProvider, CalendarConnectionStatus]:
    """The user's connections as the database has them, and whether the user counts as connected."""
    with unit_of_work(service=True) as session:
        rows = session.scalars(select(CalendarConnection).where(CalendarConnection.user_id == user.id))
        found = {row.provider: row.status for row in rows}
        assert session.get_one(User, user.id).calendar_connected == bool(found)
        return found


def open_home(web: FlaskClient, fake: FakeSlack) -> list[dict[str, Any]]:
    fake.calls.clear()
    event(web, {"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home"})
    return list(fake.calls_to("views.publish")[-1].args["view"]["blocks"])


def calendar_buttons(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The calendar section's buttons by label (``Disconnect <calendar>`` for each connection's)."""
    found: dict[str, dict[str, Any]] = {}
    for block in blocks:
        accessory = block.get("accessory") or {}
        if accessory.get("action_id") == "nbm_disconnect_calendar":
            found[f"Disconnect {block['text']['text'].split('*')[1]}"] = accessory
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            if element["action_id"].startswith("nbm_connect_calendar"):
                found[element["text"]["text"]] = element
    return found


def press(web: FlaskClient, fake: FakeSlack, button: dict[str, Any]) -> str:
    """Press an App Home button; the text of the notice it opened."""
    fake.calls.clear()
    interact(web, block_action(fake, {"type": "button", "block_id": "b", "action_id": button["action_id"],
                                      "value": button["value"]}))
    (opened,) = fake.calls_to("views.open")
    return str(opened.args["view"]["blocks"][0]["text"]["text"])


def test_app_home_disconnects_a_calendar_after_slack_asks_and_says_what_sizes_the_plan_now(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    connect(ann, CalendarProvider.ICS, calendar_id="cal.example", refresh_token="https://cal.example/secret.ics")
    button = calendar_buttons(open_home(web, fake))["Disconnect iCal address"]
    assert button["confirm"]["title"]["text"] == "Disconnect your iCal address?"
    assert button["confirm"]["text"]["text"].startswith("NextBestMove stops reading it and deletes its address.")

    said = press(web, fake, button)

    assert said == f"Disconnected your iCal address: the address is deleted and no longer read. {NO_CALENDAR_LEFT}"
    assert connected(ann) == {}
    home = str(fake.calls_to("views.publish")[-1].args["view"]["blocks"])  # redrawn in the same request
    assert "No calendar connected" in home and "cal.example" not in home

    again = press(web, fake, button)  # a Home tab drawn before, pressed again
    assert again == "Nothing to disconnect: you have no iCal address connected."
    assert fake.calls_to("views.publish") == []


def test_nbm_disconnect_google_revokes_it_and_says_the_calendar_left_still_sizes_the_plan(
    web: FlaskClient, fake: FakeSlack, ann: User, google_on: None
) -> None:
    connect(ann, CalendarProvider.GOOGLE, refresh_token="1//the-refresh-token")
    connect(ann, CalendarProvider.ICS, calendar_id="cal.example")
    with responses.RequestsMock() as google_api:
        revoked = google_api.post(google.REVOKE_URI, status=200)
        command(web, fake, "disconnect Google")

    assert revoked.call_count == 1
    assert parse_qs(str(revoked.calls[0].request.body)) == {"token": ["1//the-refresh-token"]}
    assert replies(fake) == ["Disconnected your Google Calendar: NextBestMove asked Google to revoke its access, "
                             "and deleted it. Your iCal address still sizes your next plans."]
    assert connected(ann) == {CalendarProvider.ICS: CalendarConnectionStatus.ACTIVE}
    home = str(fake.calls_to("views.publish")[-1].args["view"]["blocks"])
    assert "*Google Calendar*" not in home and "*iCal address* (cal.example)" in home
    assert "'text': 'Connect Google Calendar'" in home


def test_google_failing_to_revoke_is_logged_and_the_disconnection_stands(
    web: FlaskClient, fake: FakeSlack, ann: User, google_on: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Google is asked once the deletion is committed (core.calendars.service): whatever goes wrong
    then is logged, and the person is told what was done, not an apology."""
    connect(ann, CalendarProvider.GOOGLE, refresh_token="1//the-refresh-token")
    with responses.RequestsMock() as google_api, caplog.at_level(logging.WARNING):
        google_api.post(google.REVOKE_URI, body=RuntimeError("the connection broke in an unexpected way"))
        command(web, fake, "disconnect google")

    assert replies(fake) == [f"Disconnected your Google Calendar: NextBestMove asked Google to revoke its access, and "
                             f"deleted it. {NO_CALENDAR_LEFT}"]
    assert connected(ann) == {}
    assert "revoking a google grant failed; its connection is deleted all the same" in caplog.text
    assert "the-refresh-token" not in caplog.text


def test_nbm_disconnect_says_what_it_takes_and_changes_nothing_when_there_is_nothing_to_disconnect(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    command(web, fake, "disconnect")
    connect(ann, CalendarProvider.ICS, calendar_id="cal.example")
    command(web, fake, "disconnect")
    command(web, fake, "disconnect <myspace>")
    command(web, fake, "disconnect outlook")

    usage = ("Disconnect a calendar with `/nbm disconnect ics` (iCal address): it is no longer read, and its "
             "address or sign-in is deleted.")
    assert replies(fake) == [
        "You have no calendar connected: there is nothing to disconnect.",
        usage,
        f"“&lt;myspace&gt;” is not a calendar, so nothing was disconnected. {usage}",
        "Nothing to disconnect: you have no Outlook connected.",
    ]
    assert connected(ann) == {CalendarProvider.ICS: CalendarConnectionStatus.ACTIVE}
    assert fake.calls_to("views.publish") == []
    command(web, fake, "help")
    assert "`/nbm disconnect`: stop one being read" in replies(fake)[-1]


def test_a_calendar_that_cannot_be_read_offers_replace_address_or_reconnect_beside_disconnect(
    web: FlaskClient, fake: FakeSlack, ann: User, google_on: None
) -> None:
    connect(ann, CalendarProvider.ICS, calendar_id="cal.example", status=CalendarConnectionStatus.ERROR,
            error_message="the server answered 503")
    connect(ann, CalendarProvider.GOOGLE, status=CalendarConnectionStatus.ERROR, error_message="HTTP 500")
    blocks = open_home(web, fake)
    assert "*iCal address* (cal.example): ⚠️ could not be read" in str(blocks)
    buttons = calendar_buttons(blocks)
    assert sorted(buttons) == ["Disconnect Google Calendar", "Disconnect iCal address", "Reconnect Google Calendar",
                               "Replace address"]

    fake.calls.clear()
    interact(web, block_action(fake, {"type": "button", "block_id": "b", **{
        key: buttons["Replace address"][key] for key in ("action_id", "value")}}))
    (opened,) = fake.calls_to("views.open")
    assert opened.args["view"]["callback_id"] == "nbm_connect_ics"  # the form that replaces the address

    fake.calls.clear()
    interact(web, block_action(fake, {"type": "button", "block_id": "b", **{
        key: buttons["Reconnect Google Calendar"][key] for key in ("action_id", "value")}}))
    (opened,) = fake.calls_to("views.open")
    assert "sign in to Google Calendar" in str(opened.args["view"]["blocks"])


def test_a_calendar_left_expired_is_said_to_make_the_plans_take_the_default_capacity(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    """An expired calendar makes every day the default capacity (core.calendars.service.split_expired),
    however many others still read: the answer says so, not that the others still size the plans."""
    connect(ann, CalendarProvider.ICS, calendar_id="cal.example", refresh_token="https://cal.example/secret.ics")
    connect(ann, CalendarProvider.GOOGLE, refresh_token="1//the-refresh-token")
    connect(ann, CalendarProvider.OUTLOOK, status=CalendarConnectionStatus.EXPIRED)
    said = press(web, fake, calendar_buttons(open_home(web, fake))["Disconnect iCal address"])
    assert said == ("Disconnected your iCal address: the address is deleted and no longer read. Your Outlook "
                    "needs reconnecting, so until then your next plans use the default capacity of 5 actions "
                    "a day (or the capacity you set for a day).")


@pytest.mark.parametrize(("others", "what_follows"), [
    ({}, NO_CALENDAR_LEFT),
    ({CalendarProvider.GOOGLE: CalendarConnectionStatus.ERROR}, "Your Google Calendar still sizes your next plans."),
    ({CalendarProvider.GOOGLE: CalendarConnectionStatus.ACTIVE,
      CalendarProvider.OUTLOOK: CalendarConnectionStatus.EXPIRED},
     "Your Outlook needs reconnecting, so until then your next plans use the default capacity of 5 actions a day "
     "(or the capacity you set for a day)."),
])
def test_slack_asks_to_disconnect_saying_what_sizes_the_plans_as_the_answer_after_it_does(
    web: FlaskClient, fake: FakeSlack, ann: User, others: dict[CalendarProvider, CalendarConnectionStatus],
    what_follows: str,
) -> None:
    """The confirmation said "sized by your other calendars, or at the default capacity" whatever was
    left: an expired calendar left sizes nothing (core.calendars.service.split_expired), and the default
    capacity is then the rule, as the answer after disconnecting says (one sentence, plans_after)."""
    connect(ann, CalendarProvider.ICS, calendar_id="cal.example", refresh_token="https://cal.example/secret.ics")
    for kind, status in others.items():
        connect(ann, kind, status=status)
    button = calendar_buttons(open_home(web, fake))["Disconnect iCal address"]

    asked = button["confirm"]["text"]["text"]
    said = press(web, fake, button)

    assert asked == f"NextBestMove stops reading it and deletes its address. {what_follows}"
    assert said == f"Disconnected your iCal address: the address is deleted and no longer read. {what_follows}"
