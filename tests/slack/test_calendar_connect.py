"""Connecting a calendar from Slack: /nbm connect ics, App Home's buttons and its calendar health."""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from flask.testing import FlaskClient
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from bot.slack import app as slack_app
from bot.web import create_app
from core.calendars import google
from core.models import CalendarConnectionStatus, CalendarProvider, User
from tests.calendars.feeds import REQUESTED, SECRET, FeedHandler, serving_feeds
from tests.factories import make_calendar_connection
from tests.slack.conftest import (
    add_leads,
    block_action,
    command,
    event,
    interact,
    replies,
    run_redraws,
    view_submission,
)
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

    answer = submit("my google calendar")  # not an address: said at once, on the field
    assert answer["response_action"] == "errors" and answer["errors"]["address"].startswith(
        "That iCal address contains spaces or control characters; give an http:// or https:// address")
    answer = submit(f"{server}/status/410")
    assert answer["response_action"] == "update" and "Reading your calendar" in str(answer)
    (shown,) = fake.calls_to("views.update")
    assert shown.args["view_id"] == "VMODAL" and shown.args["view"]["callback_id"] == "nbm_connect_ics"
    assert ("That iCal address could not be read: 127.0.0.1 answered 410: the address was reset or removed"
            in str(shown.args["view"])) and SECRET not in str(shown.args["view"])
    assert "initial_value" not in str(shown.args["view"])  # the address is a secret: never sent back
    answer = submit(f"{server}/cal/day.ics")  # corrected in the same form
    assert answer["response_action"] == "update" and "Reading your calendar" in str(answer)
    assert "Connected your calendar at 127.0.0.1" in str(fake.calls_to("views.update")[-1].args["view"])
    event(web, {"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home"})
    assert "*iCal address* (127.0.0.1): ✅ connected" in _home(fake)


@pytest.mark.parametrize("error", ["not_found", "view_not_found"])
def test_an_outcome_the_closed_modal_cannot_show_comes_as_a_dm_in_its_words(
    web: FlaskClient, fake: FakeSlack, ann: User, server: str, error: str
) -> None:
    """The person closed the "Reading your calendar…" modal before the read ended, so Slack refuses
    to update it: the outcome, a refusal above all, comes in their DM with the app instead."""
    def submit(address: str) -> None:
        fake.calls.clear()
        fake.queue("views.update", {"ok": False, "error": error})
        answer = interact(web, view_submission("nbm_connect_ics", {"address": {"value": address}})).get_json()
        assert "Reading your calendar" in str(answer["view"])

    submit(f"{server}/status/404")
    (refused,) = fake.calls_to("chat.postMessage")
    assert refused.args["channel"] == "DU1"
    said = ("That iCal address could not be read: 127.0.0.1 answered 404: the address was reset or removed; copy the "
            "new private address from your calendar's settings. Nothing was connected.")
    assert refused.args["text"] == f":warning: {said}" and said in str(refused.args["blocks"])
    assert SECRET not in str(refused.args)

    submit(f"{server}/cal/day.ics")
    (connected,) = fake.calls_to("chat.postMessage")
    assert connected.args["text"] == ("✅ Connected your calendar at 127.0.0.1. From today's plan on, the free time "
                                      "in your working hours (or the capacity you set for a day) sizes your plans.")
    assert "*iCal address* (127.0.0.1): ✅ connected" in _home(fake)


def test_an_outcome_the_open_modal_shows_sends_no_dm(web: FlaskClient, fake: FakeSlack, ann: User, server: str) -> None:
    interact(web, view_submission("nbm_connect_ics", {"address": {"value": f"{server}/status/404"}}))
    assert len(fake.calls_to("views.update")) == 1 and fake.calls_to("chat.postMessage") == []


@pytest.fixture()
def threaded_web(oauth_env: None, connection: Connection, monkeypatch: pytest.MonkeyPatch
                 ) -> Iterator[tuple[FlaskClient, ThreadPoolExecutor]]:
    """The app as it runs in production: a listener carries on in a thread of its own once it has
    acknowledged, and Slack gets the acknowledgement meanwhile (the other tests run listeners inline)."""
    executor = ThreadPoolExecutor(max_workers=1)
    monkeypatch.setattr(slack_app, "new_listener_executor", lambda: executor)
    yield create_app().test_client(), executor
    executor.shutdown(wait=True)


@pytest.fixture()
def slow_calendar() -> Iterator[tuple[str, threading.Event]]:
    """A calendar server that answers day.ics only once the event is set (or after 5 s at most),
    standing for one slower than the 3 seconds Slack waits: its address, and the event."""
    answer = threading.Event()

    class Slow(FeedHandler):
        def do_GET(self) -> None:
            answer.wait(5)
            super().do_GET()

    with serving_feeds(Slow) as base:
        try:
            yield f"{base}/cal/day.ics", answer
        finally:
            answer.set()  # a request still waiting ends before the server stops


def test_the_ical_form_is_acknowledged_before_a_slow_calendar_answers(
    threaded_web: tuple[FlaskClient, ThreadPoolExecutor], fake: FakeSlack, ann: User,
    slow_calendar: tuple[str, threading.Event]
) -> None:
    web, listeners = threaded_web
    address, calendar_answers = slow_calendar

    acknowledged = interact(web, view_submission("nbm_connect_ics", {"address": {"value": address}})).get_json()

    # Slack has its answer while the calendar server still holds its own.
    assert acknowledged["response_action"] == "update" and "Reading your calendar" in str(acknowledged["view"])
    assert fake.calls_to("views.update") == []
    calendar_answers.set()
    listeners.shutdown(wait=True)
    (shown,) = fake.calls_to("views.update")
    assert shown.args["view_id"] == "VMODAL"
    assert "Connected your calendar at 127.0.0.1" in str(shown.args["view"])


def test_an_address_on_an_internal_network_is_refused_in_the_modal(
    web: FlaskClient, fake: FakeSlack, ann: User, server: str, public_only: Callable[[], None]
) -> None:
    public_only()
    asked = len(REQUESTED)
    interact(web, view_submission("nbm_connect_ics", {"address": {"value": f"{server}/cal/day.ics"}}))
    (shown,) = fake.calls_to("views.update")
    assert ("That iCal address could not be read: 127.0.0.1 is on an internal network, not the public internet, "
            "and this server refuses such addresses (its operator can allow them with "
            "ICAL_ALLOW_PRIVATE_NETWORK=true). Nothing was connected.") in str(shown.args["view"])
    assert len(REQUESTED) == asked
    event(web, {"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home"})
    assert "No calendar connected" in _home(fake)


@pytest.mark.parametrize(("before", "said"), [
    ("nothing", "Once one is connected, from today's plan on, the free time in your working hours (or the capacity "
                "you set for a day) sizes your plans."),
    ("today's plan", "Once one is connected, today's plan keeps the size it was made with; from your next plan on, "
                     "the free time in your working hours (or the capacity you set for a day) sizes your plans."),
    ("an expired iCal address", "Your iCal address needs reconnecting, so until then your next plans use the "
                                "default capacity of 5 actions a day (or the capacity you set for a day)."),
], ids=["no plan yet", "plan made", "one expired"])
def test_only_configured_providers_are_offered_with_what_sizes_the_plans(
    web: FlaskClient, fake: FakeSlack, ann: User, service: Session, before: str, said: str
) -> None:
    """The usage line said "Its free time then sizes your plan", whatever the capacity set for a day, today's
    plan made already, or another calendar expired (core.calendars.plans_sized.before_connecting)."""
    _before_connecting(web, fake, ann, service, before)
    command(web, fake, "connect google")
    assert replies(fake) == [f"Connect a calendar with `/nbm connect ics <private iCal address>`. {said}"]


def test_google_connected_in_the_browser_shows_in_app_home_without_opening_it_again(
    web: FlaskClient, fake: FakeSlack, ann: User, google_on: None
) -> None:
    """App Home offered Connect Google Calendar; its modal's link opens the page naming Ann's account,
    whose Continue leads to Google; once Google sends the browser back, the page names the account again
    and App Home says it is connected (Slack redraws a Home tab only when it is published again)."""
    event(web, {"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home"})
    interact(web, block_action(fake, {"type": "button", "action_id": "nbm_connect_calendar", "block_id": "x",
                                      "value": "google"}))
    (opened,) = fake.calls_to("views.open")
    (shown,) = opened.args["view"]["blocks"]
    assert shown["text"]["text"] == (
        "The link opens a page naming your NextBestMove account; press Continue there, then sign in to Google "
        "Calendar and allow NextBestMove to read when you are busy (never what your meetings are). The link works "
        "for one sign-in, within 10 minutes.")
    link = shown["accessory"]["url"]
    assert link.startswith("https://nbm.test/calendar/connect/") and shown["accessory"]["text"]["text"] == (
        "Connect Google Calendar")
    page = web.get(link.removeprefix("https://nbm.test"))  # the browser: `web` keeps its cookies
    assert "Ann Lee (a•••@example.com)" in page.get_data(as_text=True)
    sign_in = web.post(link.removeprefix("https://nbm.test")).headers["Location"]
    assert sign_in.startswith(google.AUTH_URI)
    state = parse_qs(urlsplit(sign_in).query)["state"][0]
    fake.calls.clear()
    with responses.RequestsMock() as google_api:
        google_api.post(google.TOKEN_URI, json={"access_token": "ya29.a", "expires_in": 3599, "token_type": "Bearer",
                                                "refresh_token": "1//r", "scope": google.FREEBUSY_SCOPE})
        back = web.get(f"/oauth/google/callback?state={state}&code=4/0-code&scope={google.FREEBUSY_SCOPE}")
    assert back.status_code == 200 and ("Google Calendar is connected to the NextBestMove account of Ann Lee "
                                        "(a•••@example.com)") in back.get_data(as_text=True)
    run_redraws()
    assert "*Google Calendar*" in _home(fake) and "✅ connected" in _home(fake)


def test_nbm_connect_google_answers_with_the_link_to_the_page_naming_the_account(
    web: FlaskClient, fake: FakeSlack, ann: User, google_on: None
) -> None:
    command(web, fake, "connect google")
    (answer,) = replies(fake)
    link, _, said = answer.removeprefix("<").partition("|")
    assert link.startswith("https://nbm.test/calendar/connect/")
    assert said == ("Connect Google Calendar>: the page names your NextBestMove account; press Continue there to "
                    "sign in (the link works for one sign-in, within 10 minutes).")
    assert "Connect Google Calendar to this NextBestMove account?" in web.get(
        link.removeprefix("https://nbm.test")).get_data(as_text=True)


@pytest.mark.parametrize(("before", "said"), [
    ("nothing", "From today's plan on, the free time in your working hours (or the capacity you set for a day) "
                "sizes your plans."),
    ("today's plan", "Today's plan keeps the size it was made with; from your next plan on, the free time in your "
                     "working hours (or the capacity you set for a day) sizes your plans."),
    ("an expired iCal address", "Your iCal address needs reconnecting, so until then your next plans use the "
                                "default capacity of 5 actions a day (or the capacity you set for a day)."),
], ids=["no plan yet", "plan made", "another expired"])
def test_the_sign_in_page_says_what_sizes_the_plans_now(
    web: FlaskClient, fake: FakeSlack, ann: User, google_on: None, service: Session, before: str, said: str
) -> None:
    """As the planner sizes them (core.planner.sizing, core.calendars.service.split_expired)."""
    _before_connecting(web, fake, ann, service, before)
    command(web, fake, "connect google")
    link = re.search(r"<https://nbm\.test([^|>]+)\|Connect Google Calendar>", replies(fake)[-1])
    assert link is not None
    web.get(link.group(1))  # the page naming the account: the browser keeps its cookie
    state = parse_qs(urlsplit(web.post(link.group(1)).headers["Location"]).query)["state"][0]
    with responses.RequestsMock() as google_api:
        google_api.post(google.TOKEN_URI, json={"access_token": "ya29.a", "expires_in": 3599, "token_type": "Bearer",
                                                "refresh_token": "1//r", "scope": google.FREEBUSY_SCOPE})
        back = web.get(f"/oauth/google/callback?state={state}&code=4/0-code&scope={google.FREEBUSY_SCOPE}")
    page = html.unescape(back.get_data(as_text=True))
    assert back.status_code == 200 and "Google Calendar is connected to the NextBestMove account of Ann Lee" in page
    assert f"{said} You can close this page." in page


def _before_connecting(web: FlaskClient, fake: FakeSlack, ann: User, service: Session, before: str) -> None:
    """What Ann has when she connects a calendar: ``nothing``, ``today's plan`` (made by `/nbm today`) or
    ``an expired iCal address``; Slack's calls so far are then forgotten."""
    if before == "today's plan":
        add_leads(ann, "Bea Stone")
        command(web, fake, "today")
    elif before == "an expired iCal address":
        make_calendar_connection(service, ann, provider=CalendarProvider.ICS, calendar_id="cal.example.com",
                                 status=CalendarConnectionStatus.EXPIRED)
    fake.calls.clear()
