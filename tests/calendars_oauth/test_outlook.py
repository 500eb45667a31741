"""Outlook: connecting with msal (flow kept with the state, scopes, token cache), reading Graph's calendar view."""

from __future__ import annotations

import hashlib
import json
from base64 import urlsafe_b64encode
from datetime import timedelta
from typing import Any

import pytest
import responses
import time_machine
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.calendars import outlook
from core.calendars.http import ConnectRefused
from core.calendars.oauth_state import OAuthStateError, new_state
from core.calendars.outlook import CALENDAR_VIEW, OutlookProvider
from core.calendars.providers import CalendarExpired, CalendarUnavailable, Interval
from core.config import Settings
from core.crypto import Secret
from core.models import CalendarConnection, CalendarConnectionStatus, CalendarProvider, OAuthFlowState
from tests.calendars_oauth.conftest import NOW
from tests.calendars_oauth.microsoft import (
    DISCOVERY,
    END,
    LOGIN,
    OPENID_CONFIGURATION,
    START,
    Microsoft,
    at,
    calendar_view,
    connect,
    event,
    query_of,
)
from tests.factories import make_calendar_connection, make_user

pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended")

# Connecting ---------------------------------------------------------------------------------------------


class Answer:
    """What msal reads of an HTTP answer."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.status_code, self.text, self.headers = 200, json.dumps(body), {}

    def raise_for_status(self) -> None:
        pass


class FakeHttp:
    """msal's http_client, answering tenant discovery only."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def get(self, url: str, **kwargs: Any) -> Answer:
        self.calls.append(url)
        return Answer(OPENID_CONFIGURATION if url == DISCOVERY else {})

    def post(self, url: str, **kwargs: Any) -> Answer:
        raise AssertionError(f"unexpected POST {url}")


def test_authorization_url_keeps_msals_flow_with_the_state(service: Session, settings: Settings,
                                                           clock: time_machine.Traveller) -> None:
    user = make_user(service)
    http = FakeHttp()

    url = outlook.authorization_url(service, state=new_state(), user_id=user.id, settings=settings, http_client=http)

    assert url.startswith(f"{LOGIN}/oauth2/v2.0/authorize?")
    consent = query_of(url)
    assert consent["client_id"] == settings.microsoft_client_id
    assert consent["redirect_uri"] == "https://nbm.example/oauth/microsoft/callback"
    assert set(consent["scope"].split()) == {"Calendars.ReadBasic", "offline_access", "openid", "profile"}
    assert consent["code_challenge_method"] == "S256"
    assert http.calls == [DISCOVERY]  # the constructor's tenant discovery went to the injected client
    row = service.scalars(select(OAuthFlowState).where(OAuthFlowState.state == consent["state"])).one()
    assert (row.user_id, row.provider) == (user.id, CalendarProvider.OUTLOOK)
    flow = json.loads(row.payload.reveal())["callback"]["flow"]
    assert (flow["state"], flow["auth_uri"]) == (consent["state"], url)
    challenge = urlsafe_b64encode(hashlib.sha256(flow["code_verifier"].encode()).digest()).decode().rstrip("=")
    assert challenge == consent["code_challenge"]
    raw = service.execute(text("SELECT payload FROM oauth_flow_states WHERE id = :id"), {"id": row.id}).scalar_one()
    assert raw.startswith("v1:") and flow["code_verifier"] not in raw


def test_connecting_stores_msals_token_cache_encrypted(
    service: Session, settings: Settings, microsoft: Microsoft, clock: time_machine.Traveller,
) -> None:
    user = make_user(service)

    connection = connect(service, settings, microsoft, user)

    [exchange] = microsoft.requests
    assert (exchange["grant_type"], exchange["code"]) == ("authorization_code", "M.C0-the-code")
    assert exchange["redirect_uri"] == "https://nbm.example/oauth/microsoft/callback"
    assert exchange["client_secret"] == "microsoft-client-secret"
    assert exchange["code_verifier"]
    assert (connection.user_id, connection.provider, connection.calendar_id) == (user.id, CalendarProvider.OUTLOOK,
                                                                                "me")
    assert connection.status == CalendarConnectionStatus.ACTIVE
    assert connection.refresh_token == Secret("0.refresh-1")
    assert connection.access_token == Secret("eyJ0.access-1")
    assert connection.expires_at == int(NOW.timestamp()) + 3600
    assert connection.token_cache is not None
    cache = json.loads(connection.token_cache.reveal())
    assert [rt["secret"] for rt in cache["RefreshToken"].values()] == ["0.refresh-1"]
    stored = service.execute(text("SELECT refresh_token, access_token, token_cache FROM calendar_connections "
                                  "WHERE id = :id"), {"id": connection.id}).one()
    assert all(value.startswith("v1:") and "refresh-1" not in value and "access-1" not in value for value in stored)


def test_an_answer_without_a_calendar_scope_is_refused_and_nothing_is_stored(
    service: Session, settings: Settings, microsoft: Microsoft, clock: time_machine.Traveller,
) -> None:
    microsoft.scope = "https://graph.microsoft.com/User.Read openid profile offline_access"
    user = make_user(service)

    with pytest.raises(ConnectRefused, match="permission to read your calendar was not granted"):
        connect(service, settings, microsoft, user)
    assert service.scalars(select(CalendarConnection)).all() == []


def test_a_denied_mismatched_replayed_or_foreign_answer_is_refused(
    service: Session, settings: Settings, microsoft: Microsoft, clock: time_machine.Traveller,
) -> None:
    user = make_user(service)
    state = query_of(outlook.authorization_url(service, state=new_state(), user_id=user.id, settings=settings))["state"]
    with pytest.raises(ConnectRefused, match="access was not granted"):
        outlook.complete(service, state=state, query={"state": state, "error": "access_denied"}, settings=settings)
    with pytest.raises(OAuthStateError, match="already used"):
        outlook.complete(service, state=state, query={"state": state, "code": "M.C0"}, settings=settings)

    other = query_of(outlook.authorization_url(service, state=new_state(), user_id=user.id, settings=settings))["state"]
    with pytest.raises(ConnectRefused, match="does not match"):
        outlook.complete(service, state=other, query={"state": "something-else", "code": "M.C0"}, settings=settings)

    with pytest.raises(OAuthStateError, match="not one we started"):
        outlook.complete(service, state="made-up", query={"state": "made-up", "code": "M.C0"}, settings=settings)
    assert microsoft.requests == []


# Reading ------------------------------------------------------------------------------------------------


def test_the_calendar_view_is_read_page_by_page_and_only_busy_time_counts(
    service: Session, settings: Settings, microsoft: Microsoft, mocked: responses.RequestsMock,
    clock: time_machine.Traveller,
) -> None:
    connection = connect(service, settings, microsoft, make_user(service))
    next_link = f"{CALENDAR_VIEW}?startDateTime=2026-03-02T09:00:00Z&endDateTime=2026-03-02T17:00:00Z&$skiptoken=p2"
    seen = calendar_view(
        mocked,
        {"value": [event("09:30", "10:00"), event("10:00", "10:30", "free"), event("11:00", "11:30", "tentative"),
                   event("12:00", "13:00", cancelled=True)],
         "@odata.nextLink": next_link},
        {"value": [event("13:00", "14:00", "oof"), event("14:00", "15:00", "workingElsewhere"),
                   event("00:00", "23:59", all_day=True), event("00:00", "23:59", "oof", all_day=True),
                   event("15:00", "15:30", "unknown")]},
    )

    busy = OutlookProvider(settings=settings).busy(connection, start=START, end=END, timeout=5)

    assert busy == [Interval(at(9, 30), at(10)), Interval(at(11), at(11, 30)), Interval(at(13), at(14)),
                    Interval(at(0), at(23, 59)), Interval(at(15), at(15, 30))]
    first, second = seen
    assert query_of(first.url) == {"startDateTime": "2026-03-02T09:00:00Z", "endDateTime": "2026-03-02T17:00:00Z",
                                   "$select": "start,end,showAs,isCancelled,isAllDay", "$top": "100"}
    assert second.url == next_link
    for request in seen:
        assert request.headers["Prefer"] == 'outlook.timezone="UTC"'
        assert request.headers["Authorization"] == "Bearer eyJ0.access-1"  # still valid: no refresh
    assert len(microsoft.requests) == 1


def test_an_expired_access_token_is_refreshed_and_the_cache_saved(
    service: Session, settings: Settings, microsoft: Microsoft, mocked: responses.RequestsMock,
    clock: time_machine.Traveller,
) -> None:
    connection = connect(service, settings, microsoft, make_user(service))
    assert connection.token_cache is not None
    before = connection.token_cache.reveal()
    clock.shift(timedelta(hours=2))
    microsoft.refresh_answers.append((200, microsoft.tokens(2)))
    seen = calendar_view(mocked, {"value": [event("10:00", "11:00")]})

    assert len(OutlookProvider(settings=settings).busy(connection, start=START, end=END, timeout=5)) == 1

    refresh = microsoft.requests[-1]
    assert (refresh["grant_type"], refresh["refresh_token"]) == ("refresh_token", "0.refresh-1")
    assert seen[0].headers["Authorization"] == "Bearer eyJ0.access-2"
    assert connection.token_cache is not None and connection.token_cache.reveal() != before
    assert connection.refresh_token == Secret("0.refresh-2")  # Microsoft rotated it
    assert connection.access_token == Secret("eyJ0.access-2")
    assert connection.expires_at == int((NOW + timedelta(hours=2)).timestamp()) + 3600


def test_an_inactive_refresh_token_aadsts700082_means_reconnect(
    service: Session, settings: Settings, microsoft: Microsoft, clock: time_machine.Traveller,
) -> None:
    connection = connect(service, settings, microsoft, make_user(service))
    clock.shift(timedelta(days=91))
    microsoft.refresh_answers.append((400, {
        "error": "invalid_grant", "error_codes": [700082], "suberror": "bad_token",
        "error_description": "AADSTS700082: The refresh token has expired due to inactivity."}))

    with pytest.raises(CalendarExpired, match=r"invalid_grant, AADSTS700082") as expired:
        OutlookProvider(settings=settings).busy(connection, start=START, end=END, timeout=5)
    assert "refresh-1" not in expired.value.reason


def test_a_cache_without_account_or_token_means_reconnect(service: Session, settings: Settings,
                                                           microsoft: Microsoft) -> None:
    user = make_user(service)
    provider = OutlookProvider(settings=settings)
    without_cache = make_calendar_connection(service, user, provider=CalendarProvider.OUTLOOK, calendar_id="me",
                                             refresh_token=Secret("0.r"))
    with pytest.raises(CalendarExpired, match="no Microsoft token cache"):
        provider.busy(without_cache, start=START, end=END, timeout=5)

    without_cache.token_cache = Secret("{}")
    with pytest.raises(CalendarExpired, match="no Microsoft account"):
        provider.busy(without_cache, start=START, end=END, timeout=5)


@pytest.mark.parametrize(("status", "code"), [(500, "generalException"), (503, "serviceNotAvailable"),
                                              (429, "activityLimitReached")])
def test_graph_errors_are_temporary(
    service: Session, settings: Settings, microsoft: Microsoft, mocked: responses.RequestsMock,
    clock: time_machine.Traveller, status: int, code: str,
) -> None:
    connection = connect(service, settings, microsoft, make_user(service))
    calendar_view(mocked, (status, {"error": {"code": code, "message": "later"}}))

    with pytest.raises(CalendarUnavailable, match=rf"Microsoft Graph .*\(HTTP {status}, {code}\)"):
        OutlookProvider(settings=settings).busy(connection, start=START, end=END, timeout=5)


def test_a_token_endpoint_outage_is_temporary(
    service: Session, settings: Settings, microsoft: Microsoft, clock: time_machine.Traveller,
) -> None:
    connection = connect(service, settings, microsoft, make_user(service))
    clock.shift(timedelta(hours=2))
    microsoft.refresh_answers.append((503, {"error": "temporarily_unavailable"}))

    with pytest.raises(CalendarUnavailable, match=r"Microsoft token refresh failed \(HTTP Error: 503\)"):
        OutlookProvider(settings=settings).busy(connection, start=START, end=END, timeout=5)


def test_a_401_gets_one_fresh_token_and_one_more_try(
    service: Session, settings: Settings, microsoft: Microsoft, mocked: responses.RequestsMock,
    clock: time_machine.Traveller,
) -> None:
    connection = connect(service, settings, microsoft, make_user(service))
    microsoft.refresh_answers.append((200, microsoft.tokens(2)))
    seen = calendar_view(mocked, (401, {"error": {"code": "InvalidAuthenticationToken"}}),
                         {"value": [event("10:00", "11:00")]})

    assert len(OutlookProvider(settings=settings).busy(connection, start=START, end=END, timeout=5)) == 1
    assert [request.headers["Authorization"] for request in seen] == ["Bearer eyJ0.access-1", "Bearer eyJ0.access-2"]


def test_a_next_link_off_graph_is_not_followed(
    service: Session, settings: Settings, microsoft: Microsoft, mocked: responses.RequestsMock,
    clock: time_machine.Traveller,
) -> None:
    connection = connect(service, settings, microsoft, make_user(service))
    seen = calendar_view(mocked, {"value": [], "@odata.nextLink": "https://graph.example.net/steal?token"})

    with pytest.raises(CalendarUnavailable, match=r"not on graph\.microsoft\.com"):
        OutlookProvider(settings=settings).busy(connection, start=START, end=END, timeout=5)
    assert len(seen) == 1


def test_revoke_has_nothing_to_call(service: Session, settings: Settings, microsoft: Microsoft,
                                    mocked: responses.RequestsMock, clock: time_machine.Traveller) -> None:
    connection = connect(service, settings, microsoft, make_user(service))
    calls = len(mocked.calls)

    outlook.revoke(connection.refresh_token, timeout=5)

    assert len(mocked.calls) == calls


def test_the_module_provider_is_the_one_the_service_uses() -> None:
    assert outlook.PROVIDER is outlook.OUTLOOK
    assert outlook.PROVIDER.kind == CalendarProvider.OUTLOOK
