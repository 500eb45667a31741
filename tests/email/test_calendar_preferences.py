"""The preferences page sets working hours, connects and disconnects a calendar; the OAuth callback
pages say plainly what happened."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core import config
from core.calendars.call_detection import FINDS
from core.calendars.service import list_connections
from core.models import CalendarConnectionStatus, CalendarProvider
from core.users import get_settings_for
from tests.calendars.feeds import SECRET
from tests.cli import nbm
from tests.email.conftest import NOON
from tests.email.pages import forms, path, reload, text_of
from tests.factories import make_calendar_connection, make_user

pytestmark = pytest.mark.usefixtures("email_settings", "clock")


def test_the_preferences_page_connects_an_ical_address_and_sets_working_hours(
    client: Any, links: Any, service: Session, server: str
) -> None:
    user = make_user(service, timezone="Europe/London")
    url = path(links.preferences_url(user_id=user.id))
    page = client.get(url)
    assert "No calendar connected" in text_of(page.text) and "Working hours" in text_of(page.text)

    refused = client.post(f"{url}/calendar/ics", data={"address": f"{server}/status/404"})
    assert refused.status_code == 400 and "could not be read" in text_of(refused.text)
    connected = client.post(f"{url}/calendar/ics", data={"address": f"{server}/cal/day.ics"})
    assert "Connected your calendar at 127.0.0.1" in text_of(connected.text)
    assert "iCal address (127.0.0.1): connected" in text_of(connected.text) and SECRET not in connected.text

    saved = client.post(url, data={"delivery_time": "07:30", "email": "1", "work_days": ["1", "2"],
                                   "hours_start": "10:00", "hours_end": "16:00"})
    assert "Saved." in text_of(saved.text) and 'value="10:00"' in saved.text
    backwards = client.post(url, data={"delivery_time": "07:30", "email": "1", "work_days": ["1"],
                                       "hours_start": "16:00", "hours_end": "10:00"})
    assert backwards.status_code == 400 and "must start before they end" in text_of(backwards.text)


def test_the_preferences_page_without_a_calendar_says_a_capacity_set_for_a_day_wins(
    client: Any, links: Any, service: Session
) -> None:
    """A capacity set for a day sizes that day's plan, whatever the default (as App Home says it)."""
    user = make_user(service, email="dora@example.com", timezone="Europe/London")
    assert nbm("plan", "--user", user.email, "--capacity", "light").exit_code == 0
    said = text_of(client.get(path(links.preferences_url(user_id=user.id))).text)
    assert ("No calendar connected: your next plans use the default capacity of 5 actions a day (or the capacity "
            "you set for a day).") in said


def test_a_refused_ical_address_keeps_the_calendar_connected_before(
    client: Any, links: Any, service: Session, server: str
) -> None:
    user = make_user(service, email="dora@example.com", timezone="Europe/London")
    assert nbm("calendar", "connect", "--user", user.email, "ics", f"{server}/cal/day.ics").exit_code == 0
    url = path(links.preferences_url(user_id=user.id))

    refused = client.post(f"{url}/calendar/ics", data={"address": f"{server}/status/404"})

    assert refused.status_code == 400
    said = text_of(refused.text)
    assert ("That iCal address could not be read: 127.0.0.1 answered 404: the address was reset or removed; copy "
            "the new private address from your calendar's settings. The iCal address you connected before "
            "(127.0.0.1) is kept.") in said
    assert "iCal address (127.0.0.1): connected" in said and "No calendar connected" not in said
    assert "iCal address (127.0.0.1): connected" in text_of(client.get(url).text)
    day = json.loads(nbm("calendar", "sync", "--user", user.email, "--date", "2026-10-14", "--json").output)
    assert (day["free_minutes"], day["capacity"]) == (285, "standard")  # the calendar connected before, read


def test_google_is_offered_only_when_configured_and_a_stale_callback_says_so(
    client: Any, links: Any, service: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user(service)
    page = client.get(path(links.preferences_url(user_id=user.id)))
    assert "Connect Google Calendar" not in text_of(page.text)
    assert client.get("/oauth/google/callback?state=x&code=y").status_code == 404

    monkeypatch.setenv("GOOGLE_CLIENT_ID", "id.apps.googleusercontent.com")
    monkeypatch.setenv("GOOGLE_CLIENT_SECRET", "google-secret")
    config.get_settings.cache_clear()
    page = client.get(path(links.preferences_url(user_id=user.id)))
    assert "Connect Google Calendar" in text_of(page.text)
    # Its form's answer is the connect page, on this server: the page's forms post nowhere else.
    assert "form-action 'self';" in page.headers["Content-Security-Policy"]
    stale = client.get("/oauth/google/callback?state=not-one-of-ours&code=y")
    assert stale.status_code == 400 and "This link no longer works" in text_of(stale.text)
    denied = client.get("/oauth/google/callback?state=whatever&error=access_denied")
    assert "Nothing was connected" in text_of(denied.text)
    config.get_settings.cache_clear()


_CALLS_FORM = {"delivery_time": "07:30", "email": "1", "work_days": ["1", "2"], "hours_start": "09:00",
               "hours_end": "17:00", "call_detection_shown": "1"}


def test_the_preferences_page_says_no_calls_are_found_without_a_calendar(
    client: Any, links: Any, service: Session
) -> None:
    """Said as App Home and Slack's settings say it (core.calendars.call_detection.detection_hint)."""
    user = make_user(service)
    url = path(links.preferences_url(user_id=user.id))
    assert ("Call detection is off. Turned on, it reads who attends the events of your connected calendars, not "
            "only when you are busy, to log your meetings with leads as calls.") in text_of(client.get(url).text)
    turned_on = text_of(client.post(url, data={**_CALLS_FORM, "call_detection": "1"}).text)
    assert (f"Call detection is on, but no calendar is connected: once one is, {FINDS}. It reads who attends your "
            "events, not only when you are busy. Connect a calendar below.") in turned_on


def test_the_preferences_page_turns_call_detection_on_and_says_which_calendar_must_be_reconnected(
    client: Any, links: Any, service: Session, google_on: None
) -> None:
    user = make_user(service)
    make_calendar_connection(service, user, provider=CalendarProvider.GOOGLE)  # connected for free time only
    url = path(links.preferences_url(user_id=user.id))
    form = _CALLS_FORM
    assert "Find my calls with leads" in text_of(client.get(url).text)

    turned_on = client.post(url, data={**form, "call_detection": "1"})
    assert "Saved." in text_of(turned_on.text)
    assert "Connect Google Calendar again below to let it show who attends your events." in text_of(turned_on.text)
    assert "Reconnect Google Calendar" in dict(forms(turned_on.text))
    assert get_settings_for(service, user).call_detection

    client.post(url, data={k: v for k, v in form.items() if k != "call_detection_shown"})  # an older page
    assert get_settings_for(service, user).call_detection
    turned_off = client.post(url, data=form)
    assert "Connect Google Calendar again" not in text_of(turned_off.text)
    assert not get_settings_for(service, user).call_detection


def test_a_calendar_hiding_its_guests_is_not_sent_below_when_this_server_cannot_connect_it(
    client: Any, links: Any, service: Session
) -> None:
    user = make_user(service)
    make_calendar_connection(service, user, provider=CalendarProvider.GOOGLE)  # connected for free time only
    make_calendar_connection(service, user, provider=CalendarProvider.OUTLOOK)  # Google, Outlook: no sign-in here
    url = path(links.preferences_url(user_id=user.id))

    turned_on = client.post(url, data={**_CALLS_FORM, "call_detection": "1"})

    said = text_of(turned_on.text)
    assert "Saved." in said and "again below" not in said
    for name in ("Google Calendar", "Outlook"):
        assert (f"{name} shows only when you are busy, not who attends your events, and this server is not set up "
                "to connect it again: your calls with leads are not found in it.") in said
    assert [label for label, _ in forms(turned_on.text) if "Google" in label or "Outlook" in label] == [
        "Disconnect Google Calendar", "Disconnect Outlook"]


def test_the_preferences_page_disconnects_a_calendar_by_post_only_and_says_what_sizes_the_plan_now(
    client: Any, links: Any, service: Session
) -> None:
    user = make_user(service)
    make_calendar_connection(service, user, provider=CalendarProvider.ICS, calendar_id="cal.example",
                             refresh_token="https://cal.example/secret.ics")
    make_calendar_connection(service, user, provider=CalendarProvider.GOOGLE, status=CalendarConnectionStatus.EXPIRED)
    url = path(links.preferences_url(user_id=user.id))
    disconnect_ics = dict(forms(client.get(url).text))["Disconnect iCal address"]
    assert disconnect_ics == f"{url}/calendar/ics/disconnect"
    assert client.get(disconnect_ics).status_code == 405  # a mail scanner opening it changes nothing
    assert client.post(f"{url}/calendar/myspace/disconnect").status_code == 404

    page = client.post(disconnect_ics)

    assert page.status_code == 200
    assert ("Disconnected your iCal address: the address is deleted and no longer read. Your Google Calendar needs "
            "reconnecting, so until then your next plans use the default capacity of 5 actions a day (or the "
            "capacity you set for a day).") in text_of(page.text)
    assert "cal.example" not in text_of(page.text) and "Disconnect Google Calendar" in text_of(page.text)
    assert [c.provider for c in list_connections(service, user=reload(service, user))] == [CalendarProvider.GOOGLE]

    again = client.post(disconnect_ics)
    assert again.status_code == 200
    assert "Nothing to disconnect: you have no iCal address connected." in text_of(again.text)
    assert [c.provider for c in list_connections(service, user=reload(service, user))] == [CalendarProvider.GOOGLE]


@pytest.fixture()
def google_on(email_settings: config.Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Google Calendar set up on this server, on top of the email settings."""
    monkeypatch.setenv("GOOGLE_CLIENT_ID", "id.apps.googleusercontent.com")
    monkeypatch.setenv("GOOGLE_CLIENT_SECRET", "google-secret")
    config.get_settings.cache_clear()
    yield
    config.get_settings.cache_clear()


def test_a_calendar_that_cannot_be_read_is_said_as_app_home_says_it_with_the_same_way_out(
    client: Any, links: Any, service: Session, server: str, google_on: None
) -> None:
    user = make_user(service, timezone="Europe/London")
    make_calendar_connection(service, user, provider=CalendarProvider.ICS, calendar_id="cal.example",
                             refresh_token="https://cal.example/secret.ics", status=CalendarConnectionStatus.ERROR,
                             error_message="the server answered 503", last_sync_at=NOON - timedelta(hours=4))
    make_calendar_connection(service, user, provider=CalendarProvider.GOOGLE, status=CalendarConnectionStatus.EXPIRED,
                             error_message="Google refused the grant (invalid_grant); connect it again")
    url = path(links.preferences_url(user_id=user.id))

    page = client.get(url)

    said = text_of(page.text)
    assert "iCal address (cal.example): could not be read, last read Wed 25 Nov 08:00" in said
    assert "Google Calendar (primary): needs reconnecting" in said
    assert ": error" not in said and ": expired" not in said
    offered = dict(forms(page.text))
    assert offered["Replace address"] == f"{url}/calendar/ics"
    assert offered["Reconnect Google Calendar"] == f"{url}/calendar/google"
    assert "Connect iCal address" not in offered and "Connect Google Calendar" not in offered

    replaced = client.post(offered["Replace address"], data={"address": f"{server}/cal/day.ics"})
    assert "iCal address (127.0.0.1): connected" in text_of(replaced.text)
    assert "Replace address" not in dict(forms(replaced.text))  # nothing to replace any more
    reconnecting = client.post(offered["Reconnect Google Calendar"])
    assert reconnecting.status_code == 303
    connect_page = reconnecting.headers["Location"]
    assert connect_page.startswith("https://nbm.example.com/calendar/connect/")
    said = text_of(client.get(path(connect_page)).text)
    assert "Connect Google Calendar to this NextBestMove account?" in said
    assert f"{user.name} ({user.email[0]}•••@example.com)" in said
