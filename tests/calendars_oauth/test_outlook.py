"""Outlook: connecting with msal (flow kept with the state, scopes, token cache), reading Graph's calendar view."""

from __future__ import annotations

import hashlib
import json
import uuid
from base64 import urlsafe_b64encode
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
import time_machine
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bot.cli import main
from core import config
from core.calendars import outlook
from core.calendars.http import ConnectRefused
from core.calendars.oauth_state import OAuthStateError
from core.calendars.outlook import CALENDAR_VIEW, OutlookProvider
from core.calendars.providers import CalendarExpired, CalendarUnavailable, Interval
from core.calendars.service import free_minutes_for_users
from core.config import Settings
from core.crypto import Secret
from core.db import unit_of_work
from core.models import CalendarConnection, CalendarConnectionStatus, CalendarProvider, OAuthFlowState, User
from tests.calendars_oauth.conftest import NOW
from tests.factories import deleted_afterwards, make_calendar_connection, make_user

pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended")

LOGIN = "https://login.microsoftonline.com/common"
DISCOVERY = f"{LOGIN}/v2.0/.well-known/openid-configuration"
TOKEN_ENDPOINT = f"{LOGIN}/oauth2/v2.0/token"
OPENID_CONFIGURATION = {"authorization_endpoint": f"{LOGIN}/oauth2/v2.0/authorize", "token_endpoint": TOKEN_ENDPOINT,
                        "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0"}
#: What msal asks the instance discovery for when a refresh fails (the authority's other names).
INSTANCE_DISCOVERY = {"tenant_discovery_endpoint": DISCOVERY, "api-version": "1.1", "metadata": [
    {"preferred_network": "login.microsoftonline.com", "preferred_cache": "login.windows.net",
     "aliases": ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"]}]}
GRANTED = "Calendars.ReadBasic User.Read openid profile"  # short names, as asked
START, END = datetime(2026, 3, 2, 9, tzinfo=UTC), datetime(2026, 3, 2, 17, tzinfo=UTC)


def b64(data: dict[str, Any]) -> str:
    return urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


class Microsoft:
    """The Microsoft identity platform as msal sees it: tenant discovery and the token endpoint."""

    def __init__(self, mocked: responses.RequestsMock, settings: Settings) -> None:
        self.settings = settings
        self.nonce = ""
        self.scope = GRANTED
        self.requests: list[dict[str, str]] = []
        self.refresh_answers: list[tuple[int, dict[str, Any]]] = []
        mocked.get(DISCOVERY, json=OPENID_CONFIGURATION)
        mocked.get("https://login.microsoftonline.com/common/discovery/instance", json=INSTANCE_DISCOVERY)
        mocked.add_callback(responses.POST, TOKEN_ENDPOINT, callback=self.token)

    def tokens(self, n: int) -> dict[str, Any]:
        now = int(NOW.timestamp())
        claims = {"iss": "https://login.microsoftonline.com/tenant-1/v2.0", "aud": self.settings.microsoft_client_id,
                  "iat": now, "exp": now + 3600, "nonce": self.nonce, "oid": "uid-1", "tid": "tenant-1",
                  "sub": "subject-1", "preferred_username": "ada@example.com"}
        return {"token_type": "Bearer", "scope": self.scope, "expires_in": 3600, "ext_expires_in": 3600,
                "access_token": f"eyJ0.access-{n}", "refresh_token": f"0.refresh-{n}",
                "id_token": f"{b64({'alg': 'none'})}.{b64(claims)}.", "client_info": b64({"uid": "uid-1",
                                                                                             "utid": "tenant-1"})}

    def token(self, request: Any) -> tuple[int, dict[str, str], str]:
        form = {key: values[0] for key, values in parse_qs(str(request.body)).items()}
        self.requests.append(form)
        if form["grant_type"] == "authorization_code":
            return 200, {}, json.dumps(self.tokens(1))
        status, answer = self.refresh_answers.pop(0)
        return status, {}, json.dumps(answer)


@pytest.fixture()
def microsoft(mocked: responses.RequestsMock, settings: Settings) -> Microsoft:
    return Microsoft(mocked, settings)


def connect(session: Session, settings: Settings, microsoft: Microsoft, user: User) -> CalendarConnection:
    consent = query_of(outlook.authorization_url(session, user_id=user.id, settings=settings))
    microsoft.nonce = consent["nonce"]
    return outlook.complete(session, state=consent["state"], settings=settings,
                            query={"code": "M.C0-the-code", "state": consent["state"], "session_state": "s"})


def calendar_view(mocked: responses.RequestsMock, *pages: dict[str, Any] | tuple[int, Any]) -> list[Any]:
    """Answer the calendar view with ``pages`` in order (a tuple is a status and a body); the requests made."""
    answers, seen = list(pages), []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        seen.append(request)
        page = answers.pop(0)
        status, body = page if isinstance(page, tuple) else (200, page)
        return status, {"Content-Type": "application/json"}, json.dumps(body)

    mocked.add_callback(responses.GET, CALENDAR_VIEW, callback=answer)
    return seen


def event(start: str, end: str, show_as: str = "busy", *, cancelled: bool = False, all_day: bool = False
          ) -> dict[str, Any]:
    return {"start": {"dateTime": f"2026-03-02T{start}:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": f"2026-03-02T{end}:00.0000000", "timeZone": "UTC"},
            "showAs": show_as, "isCancelled": cancelled, "isAllDay": all_day}


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, tzinfo=UTC)


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

    url = outlook.authorization_url(service, user_id=user.id, settings=settings, http_client=http)

    assert url.startswith(f"{LOGIN}/oauth2/v2.0/authorize?")
    consent = query_of(url)
    assert consent["client_id"] == settings.microsoft_client_id
    assert consent["redirect_uri"] == "https://nbm.example/oauth/microsoft/callback"
    assert set(consent["scope"].split()) == {"Calendars.ReadBasic", "offline_access", "openid", "profile"}
    assert consent["code_challenge_method"] == "S256"
    assert http.calls == [DISCOVERY]  # the constructor's tenant discovery went to the injected client
    row = service.scalars(select(OAuthFlowState).where(OAuthFlowState.state == consent["state"])).one()
    assert (row.user_id, row.provider) == (user.id, CalendarProvider.OUTLOOK)
    flow = json.loads(row.payload.reveal())["flow"]
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
    state = query_of(outlook.authorization_url(service, user_id=user.id, settings=settings))["state"]
    with pytest.raises(ConnectRefused, match="access was not granted"):
        outlook.complete(service, state=state, query={"state": state, "error": "access_denied"}, settings=settings)
    with pytest.raises(OAuthStateError, match="already used"):
        outlook.complete(service, state=state, query={"state": state, "code": "M.C0"}, settings=settings)

    other = query_of(outlook.authorization_url(service, user_id=user.id, settings=settings))["state"]
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

    outlook.revoke(connection, settings=settings, timeout=5)

    assert len(mocked.calls) == calls


def test_tokens_microsoft_refreshed_during_the_morning_read_are_kept(
    engine: object, settings: Settings, microsoft: Microsoft, mocked: responses.RequestsMock,
    clock: time_machine.Traveller, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The morning reads without holding the connection's row: what the refresh rotated is written back."""
    for name in ("MICROSOFT_CLIENT_ID", "MICROSOFT_CLIENT_SECRET"):  # the provider reads the process's settings
        monkeypatch.setenv(name, str(getattr(settings, name.lower())))
    config.get_settings.cache_clear()
    with unit_of_work(service=True) as session:
        user_id = make_user(session, timezone="UTC", email=f"outlook-{uuid.uuid4().hex[:8]}@example.com").id
    with deleted_afterwards(user_id):
        with unit_of_work(service=True) as session:
            cache_before = connect(session, settings, microsoft, session.get_one(User, user_id)).token_cache
        clock.shift(timedelta(hours=2))  # 09:30: this morning's access token has expired
        microsoft.refresh_answers.append((200, microsoft.tokens(2)))
        calendar_view(mocked, {"value": [event("10:00", "11:00")]})

        assert free_minutes_for_users([user_id], at=NOW + timedelta(hours=2), budget=10) == {user_id: 7 * 60}

        with unit_of_work(service=True) as session:
            row = session.scalars(select(CalendarConnection).where(CalendarConnection.user_id == user_id)).one()
            assert (row.refresh_token, row.access_token) == (Secret("0.refresh-2"), Secret("eyJ0.access-2"))
            assert row.token_cache is not None and row.token_cache != cache_before
            assert row.status == CalendarConnectionStatus.ACTIVE
    config.get_settings.cache_clear()


def test_the_tenant_metadata_is_read_once_for_every_connection_and_read_of_the_process(
    service: Session, settings: Settings, microsoft: Microsoft, mocked: responses.RequestsMock,
    clock: time_machine.Traveller, monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("MICROSOFT_CLIENT_ID", "MICROSOFT_CLIENT_SECRET"):  # what `nbm` reads its settings from
        monkeypatch.setenv(name, str(getattr(settings, name.lower())))
    config.get_settings.cache_clear()
    users = [make_user(service, timezone="UTC") for _ in range(3)]
    for user in users:
        connect(service, settings, microsoft, user)
    calendar_view(mocked, *({"value": [event("10:00", "11:00")]} for _ in users))

    for user in users:
        day = CliRunner().invoke(main, ["calendar", "sync", "--user", user.email, "--date", "2026-03-02"])
        assert day.exit_code == 0, day.output
        assert "busy 10:00-11:00" in day.output

    # Three connections and three reads built six msal applications; Microsoft was asked once.
    assert [call.request.url for call in mocked.calls].count(DISCOVERY) == 1
    config.get_settings.cache_clear()


def test_tenant_metadata_microsoft_failed_to_give_is_asked_for_again(
    service: Session, settings: Settings, mocked: responses.RequestsMock,
) -> None:
    user = make_user(service)
    mocked.get(DISCOVERY, status=503)
    with pytest.raises(ConnectRefused, match="could not be reached; try again in a minute"):
        outlook.authorization_url(service, user_id=user.id, settings=settings)

    mocked.replace(responses.GET, DISCOVERY, json=OPENID_CONFIGURATION)
    consent = outlook.authorization_url(service, user_id=user.id, settings=settings)
    assert consent.startswith(f"{LOGIN}/oauth2/v2.0/authorize?")


def test_the_module_provider_is_the_one_the_service_uses() -> None:
    assert outlook.PROVIDER is outlook.OUTLOOK
    assert outlook.PROVIDER.kind == CalendarProvider.OUTLOOK
