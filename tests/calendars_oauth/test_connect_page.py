"""The connect page every channel's link opens: it names the NextBestMove account before the provider's
sign-in, and only the browser that opened it can go on and come back (bot/web/calendar_routes.py).

The case it stops: Mallory asks for a connect link and sends it to Victor; Victor approves Google's
consent screen, and his calendar would become Mallory's connection."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import responses
import time_machine
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cli import main
from bot.web import create_app
from core import config, preferences
from core.calendars import google
from core.calendars import service as calendars
from core.calendars.google import EVENTS_SCOPE, FREEBUSY_SCOPE
from core.config import Settings
from core.db import set_context
from core.models import CalendarConnection, CalendarProvider, OAuthFlowState, User
from tests.calendars_oauth.test_google import query_of, token_answer
from tests.calendars_oauth.test_outlook import Microsoft
from tests.factories import make_user

pytestmark = pytest.mark.filterwarnings("ignore:response_mode=.form_post. is recommended")


@pytest.fixture()
def providers_on(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The web app's settings: BASE_URL, Google and Microsoft as ``settings`` has them."""
    for name in ("BASE_URL", "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", "MICROSOFT_CLIENT_ID",
                 "MICROSOFT_CLIENT_SECRET"):
        monkeypatch.setenv(name, str(getattr(settings, name.lower())))
    config.get_settings.cache_clear()
    yield
    config.get_settings.cache_clear()


@pytest.fixture()
def mallory(service: Session) -> User:
    return make_user(service, name="Mallory Stone", email="mallory@example.com")


def browser() -> FlaskClient:
    """A browser of its own: its own cookies."""
    return create_app().test_client()


def link_of(service: Session, user: User, kind: CalendarProvider = CalendarProvider.GOOGLE) -> str:
    """The path of the connect link the channels hand out for ``user``."""
    link = calendars.oauth_start(service, user=user, kind=kind, settings=config.get_settings())
    assert link.startswith("https://nbm.example/calendar/connect/")
    return link.removeprefix("https://nbm.example")


def connections(service: Session) -> list[CalendarConnection]:
    set_context(service, service=True)  # every user's, whatever the app's requests narrowed the test's transaction to
    return list(service.scalars(select(CalendarConnection).execution_options(populate_existing=True)))


def callback(client: FlaskClient, sign_in: str, mocked: responses.RequestsMock) -> Any:
    """Google sends ``client`` back with a code for the consent page ``sign_in``."""
    mocked.post(google.TOKEN_URI, json=token_answer())
    return client.get("/oauth/google/callback", query_string={
        "state": query_of(sign_in)["state"], "code": "4/0-the-code", "scope": FREEBUSY_SCOPE})


def test_the_page_names_the_account_then_continue_leads_to_google_and_the_callback_names_it_too(
    service: Session, providers_on: None, mallory: User, mocked: responses.RequestsMock,
    clock: time_machine.Traveller,
) -> None:
    path = link_of(service, mallory)
    victor = browser()

    page = victor.get(path)

    said = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Connect Google Calendar to this NextBestMove account?" in said
    assert "Mallory Stone (m•••@example.com)" in said and "mallory@example.com" not in said
    assert "allow NextBestMove to read when you are busy (never what your meetings are)" in said
    assert f'<form method="post" action="{path}">' in said and ">Continue</button>" in said
    assert "form-action 'self' https:;" in page.headers["Content-Security-Policy"]  # the POST's redirect
    assert page.headers["Referrer-Policy"] == "no-referrer" and page.headers["Cache-Control"] == "no-store"
    assert victor.head(path).status_code == 200
    flow = service.scalars(select(OAuthFlowState)).one()
    assert flow.used_at is None and connections(service) == []  # opening it changed nothing

    went_on = victor.post(path)

    assert went_on.status_code == 303
    sign_in = went_on.headers["Location"]
    assert sign_in.startswith(google.AUTH_URI + "?") and query_of(sign_in)["scope"] == FREEBUSY_SCOPE
    back = callback(victor, sign_in, mocked)
    assert back.status_code == 200
    assert ("Google Calendar is connected to the NextBestMove account of Mallory Stone (m•••@example.com)"
            in back.get_data(as_text=True))
    assert [c.user_id for c in connections(service)] == [mallory.id]


def test_the_page_says_who_attends_is_read_when_call_detection_asks_it(
    service: Session, providers_on: None, mallory: User, clock: time_machine.Traveller,
) -> None:
    preferences.set_call_detection(service, user=mallory, on=True)
    path = link_of(service, mallory)
    client = browser()

    said = client.get(path).get_data(as_text=True)

    assert ("allow NextBestMove to read when you are busy and who attends your events, to find your calls with "
            "leads (never what your meetings are about). That calendar then sizes the plans of the account above "
            "and its meetings with that account&#39;s leads become calls: continue only if it is yours.") in said
    assert query_of(client.post(path).headers["Location"])["scope"].split() == [FREEBUSY_SCOPE, EVENTS_SCOPE]


def test_googles_address_sent_on_from_the_browser_that_pressed_continue_connects_nothing_elsewhere(
    service: Session, providers_on: None, mallory: User, mocked: responses.RequestsMock,
    clock: time_machine.Traveller,
) -> None:
    """Mallory presses Continue herself and sends Victor the address of Google's consent screen."""
    path = link_of(service, mallory)
    hers = browser()
    hers.get(path)
    sign_in = hers.post(path).headers["Location"]

    victors = callback(browser(), sign_in, mocked)

    said = victors.get_data(as_text=True)
    assert victors.status_code == 400 and "Nothing was connected" in said
    assert "This sign-in was not started in this browser." in said
    assert not [call for call in mocked.calls if call.request.url == google.TOKEN_URI]  # no code exchanged
    assert connections(service) == []
    assert callback(hers, sign_in, mocked).status_code == 200  # the flow was not used up


def test_a_form_posted_from_another_site_cannot_skip_the_page(
    service: Session, providers_on: None, mallory: User, clock: time_machine.Traveller,
) -> None:
    """A page elsewhere posts Continue for its visitor, who never saw the page naming the account."""
    path = link_of(service, mallory)

    posted = browser().post(path)

    assert posted.status_code == 400 and "Location" not in posted.headers
    assert "This sign-in was not started in this browser." in posted.get_data(as_text=True)


def test_a_used_expired_or_unknown_link_says_so(
    service: Session, providers_on: None, mallory: User, mocked: responses.RequestsMock,
    clock: time_machine.Traveller,
) -> None:
    client = browser()
    used = link_of(service, mallory)
    client.get(used)
    assert callback(client, client.post(used).headers["Location"], mocked).status_code == 200
    expired = link_of(service, mallory)

    answers = {"used": client.get(used)}
    clock.shift(timedelta(minutes=11))
    answers["expired"] = client.get(expired)
    answers["unknown"] = client.get("/calendar/connect/not-one-of-ours")

    said = {name: (page.status_code, page.get_data(as_text=True)) for name, page in answers.items()}
    assert all(status == 400 and "This link no longer works" in text for status, text in said.values())
    assert "This sign-in was already used; start connecting your calendar again." in said["used"][1]
    assert "took longer than 10 minutes and expired" in said["expired"][1]
    assert "This sign-in link is not one we started" in said["unknown"][1]
    assert "Mallory" not in "".join(text for _, text in said.values())


def test_outlooks_link_opens_the_same_page_and_continues_to_microsoft(
    service: Session, providers_on: None, mallory: User, microsoft: Microsoft, clock: time_machine.Traveller,
) -> None:
    path = link_of(service, mallory, CalendarProvider.OUTLOOK)
    client = browser()

    said = client.get(path).get_data(as_text=True)

    assert "Connect Outlook to this NextBestMove account?" in said and "Mallory Stone (m•••@example.com)" in said
    assert client.post(path).headers["Location"].startswith(
        "https://login.microsoftonline.com/common/oauth2/v2.0/authorize?")


def test_nbm_calendar_connect_prints_the_link_to_the_page_naming_the_account(
    service: Session, providers_on: None, mallory: User, clock: time_machine.Traveller,
) -> None:
    """The operator connects for a user: the address printed opens the page naming that user's account."""
    printed = CliRunner().invoke(main, ["calendar", "connect", "google", "--user", "Mallory@Example.com"],
                                 catch_exceptions=False)

    said, link = printed.output.strip().split("\n")
    assert printed.exit_code == 0
    assert said == ("Open this address to connect google to the account of mallory@example.com (its page names the "
                    "account, then Continue leads to the sign-in; valid 10 minutes):")
    assert link.startswith("https://nbm.example/calendar/connect/")
    page = browser().get(link.removeprefix("https://nbm.example")).get_data(as_text=True)
    assert "Connect Google Calendar to this NextBestMove account?" in page
    assert "Mallory Stone (m•••@example.com)" in page
