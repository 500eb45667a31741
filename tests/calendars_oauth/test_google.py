"""Google Calendar: connecting through OAuth (PKCE, scopes, state), refreshing, reading free/busy, revoking."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from base64 import urlsafe_b64encode
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
import time_machine
from click.testing import CliRunner
from googleapiclient.http import HttpMockSequence
from sqlalchemy import Connection, Engine, func, select, text, update
from sqlalchemy.orm import Session

from bot.cli import main
from core import config
from core.calendars import google, outlook
from core.calendars.google import FREEBUSY_SCOPE, GoogleProvider
from core.calendars.http import ConnectRefused
from core.calendars.oauth_state import OAuthStateError, new_state
from core.calendars.providers import CalendarExpired, CalendarUnavailable, Interval
from core.calendars.service import save_oauth_connection
from core.config import Settings
from core.crypto import Secret
from core.db import set_context, unit_of_work
from core.errors import ConfigError
from core.models import CalendarConnection, CalendarConnectionStatus, CalendarProvider, User
from tests.calendars_oauth.conftest import NOW
from tests.factories import deleted_afterwards, make_calendar_connection, make_user

START, END = datetime(2026, 3, 2, 9, tzinfo=UTC), datetime(2026, 3, 2, 17, tzinfo=UTC)


def token_answer(**fields: Any) -> dict[str, Any]:
    return {"access_token": "ya29.first-access", "expires_in": 3599, "refresh_token": "1//first-refresh",
            "scope": FREEBUSY_SCOPE, "token_type": "Bearer", **fields}


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def form_of(request: Any) -> dict[str, str]:
    """The fields of a form-encoded request body (str from requests-oauthlib, bytes from google-auth)."""
    body = request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")
    return query_of("?" + body)


def start_connecting(session: Session, settings: Settings, user: User) -> dict[str, str]:
    return query_of(google.authorization_url(session, state=new_state(), user_id=user.id, settings=settings))


def finish(session: Session, settings: Settings, mocked: responses.RequestsMock, state: str,
           answer: dict[str, Any] | None = None) -> CalendarConnection:
    mocked.post(google.TOKEN_URI, json=answer or token_answer())
    query = {"state": state, "code": "4/0-the-code", "scope": FREEBUSY_SCOPE}
    return google.complete(session, state=state, query=query, settings=settings)


def freebusy(*busy: tuple[str, str], calendar: str = "primary", errors: list[dict[str, str]] | None = None
             ) -> tuple[dict[str, str], str]:
    entry: dict[str, Any] = {"busy": [{"start": s, "end": e} for s, e in busy]}
    if errors:
        entry = {"busy": [], "errors": errors}
    body = {"kind": "calendar#freeBusy", "timeMin": "2026-03-02T09:00:00.000Z", "timeMax": "2026-03-02T17:00:00.000Z",
            "calendars": {calendar: entry}}
    return {"status": "200", "content-type": "application/json"}, json.dumps(body)


def provider_with(settings: Settings, *answers: tuple[dict[str, str], str]) -> tuple[GoogleProvider, HttpMockSequence]:
    http = HttpMockSequence(list(answers))
    return GoogleProvider(settings=settings, http_factory=lambda timeout: http), http


def fresh_connection(session: Session, user: User, **fields: Any) -> CalendarConnection:
    fields.setdefault("access_token", Secret("ya29.current-access"))
    fields.setdefault("expires_at", int(NOW.timestamp()) + 3600)
    return make_calendar_connection(session, user, refresh_token=Secret("1//stored-refresh"), **fields)


# Connecting ---------------------------------------------------------------------------------------------


def test_connecting_stores_the_tokens_encrypted_and_sends_the_pkce_verifier(
    service: Session, settings: Settings, mocked: responses.RequestsMock, clock: time_machine.Traveller,
) -> None:
    user = make_user(service)
    consent = start_connecting(service, settings, user)

    assert consent["client_id"] == settings.google_client_id
    assert consent["redirect_uri"] == "https://nbm.example/oauth/google/callback"
    assert consent["scope"] == FREEBUSY_SCOPE
    assert (consent["access_type"], consent["prompt"], consent["response_type"]) == ("offline", "consent", "code")
    assert consent["code_challenge_method"] == "S256"

    connection = finish(service, settings, mocked, consent["state"])

    sent = form_of(mocked.calls[-1].request)
    verifier = sent["code_verifier"]
    challenge = urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    assert challenge == consent["code_challenge"]
    assert (sent["grant_type"], sent["code"], sent["redirect_uri"]) == (
        "authorization_code", "4/0-the-code", "https://nbm.example/oauth/google/callback")
    assert sent["client_secret"] == "google-client-secret"
    assert "Authorization" not in mocked.calls[-1].request.headers  # the secret is in the body, not a header

    assert (connection.user_id, connection.provider, connection.calendar_id) == (user.id, CalendarProvider.GOOGLE,
                                                                                "primary")
    assert connection.status == CalendarConnectionStatus.ACTIVE
    assert connection.refresh_token == Secret("1//first-refresh")
    assert connection.access_token == Secret("ya29.first-access")
    assert connection.expires_at == int(NOW.timestamp()) + 3599
    stored = service.execute(text("SELECT refresh_token, access_token FROM calendar_connections WHERE id = :id"),
                             {"id": connection.id}).one()
    assert all(value.startswith("v1:") for value in stored)
    assert not any("first" in value for value in stored)
    service.refresh(user)
    assert user.calendar_connected


def test_connecting_again_replaces_the_connection(
    service: Session, settings: Settings, mocked: responses.RequestsMock, clock: time_machine.Traveller,
) -> None:
    user = make_user(service)
    first = finish(service, settings, mocked, start_connecting(service, settings, user)["state"])
    first.status = CalendarConnectionStatus.EXPIRED
    service.flush()

    again = finish(service, settings, mocked, start_connecting(service, settings, user)["state"],
                   token_answer(access_token="ya29.second", refresh_token="1//second"))

    rows = service.scalars(select(CalendarConnection).where(CalendarConnection.user_id == user.id)).all()
    assert rows == [again]
    assert again.refresh_token == Secret("1//second")
    assert again.status == CalendarConnectionStatus.ACTIVE


@pytest.mark.parametrize("granted", ["openid", ""])
def test_an_unticked_scope_is_refused_and_nothing_is_stored(
    service: Session, settings: Settings, mocked: responses.RequestsMock, clock: time_machine.Traveller, granted: str,
) -> None:
    user = make_user(service)
    state = start_connecting(service, settings, user)["state"]
    revoked = mocked.post(google.REVOKE_URI, status=200)

    with pytest.raises(ConnectRefused, match="not ticked"):
        finish(service, settings, mocked, state, token_answer(scope=granted))

    assert service.scalars(select(CalendarConnection).where(CalendarConnection.user_id == user.id)).all() == []
    assert revoked.call_count == 1  # the token Google issued anyway is given back
    assert form_of(mocked.calls[-1].request) == {"token": "1//first-refresh"}


def test_a_broader_calendar_scope_granted_earlier_is_enough(
    service: Session, settings: Settings, mocked: responses.RequestsMock, clock: time_machine.Traveller,
) -> None:
    user = make_user(service)
    state = start_connecting(service, settings, user)["state"]
    scopes = f"{FREEBUSY_SCOPE} https://www.googleapis.com/auth/calendar.readonly"

    assert finish(service, settings, mocked, state, token_answer(scope=scopes)).provider == CalendarProvider.GOOGLE


def test_a_refused_code_stores_nothing(
    service: Session, settings: Settings, mocked: responses.RequestsMock, clock: time_machine.Traveller,
) -> None:
    user = make_user(service)
    state = start_connecting(service, settings, user)["state"]
    mocked.post(google.TOKEN_URI, status=400, json={"error": "invalid_grant", "error_description": "Bad Request"})

    with pytest.raises(ConnectRefused, match=r"did not accept this sign-in \(invalid_grant\)"):
        google.complete(service, state=state, query={"state": state, "code": "4/0-old"}, settings=settings)
    with pytest.raises(ConnectRefused, match="access was not granted"):
        google.complete(service, state=start_connecting(service, settings, user)["state"],
                        query={"error": "access_denied"}, settings=settings)
    assert service.scalars(select(CalendarConnection)).all() == []


@pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended")
def test_a_state_that_is_unknown_replayed_expired_or_another_providers_is_refused(
    service: Session, settings: Settings, mocked: responses.RequestsMock, clock: time_machine.Traveller,
) -> None:
    user = make_user(service)
    with pytest.raises(OAuthStateError, match="not one we started"):
        finish(service, settings, mocked, "made-up-state")

    used = start_connecting(service, settings, user)["state"]
    finish(service, settings, mocked, used)
    with pytest.raises(OAuthStateError, match="already used"):
        finish(service, settings, mocked, used)

    late = start_connecting(service, settings, user)["state"]
    clock.shift(timedelta(minutes=10, seconds=1))
    with pytest.raises(OAuthStateError, match="expired"):
        finish(service, settings, mocked, late)

    mocked.get("https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration", json={
        "authorization_endpoint": "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        "token_endpoint": "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0"})
    outlooks = query_of(outlook.authorization_url(service, state=new_state(), user_id=user.id,
                                                  settings=settings))["state"]
    with pytest.raises(OAuthStateError, match="not one we started"):
        finish(service, settings, mocked, outlooks)
    assert len([call for call in mocked.calls if call.request.url == google.TOKEN_URI]) == 1


def test_connecting_needs_google_configured(service: Session, settings: Settings) -> None:
    user = make_user(service)
    with pytest.raises(ConfigError, match="GOOGLE_CLIENT_ID"):
        google.authorization_url(service, state=new_state(), user_id=user.id,
                                 settings=Settings(base_url=settings.base_url))


# Reading ------------------------------------------------------------------------------------------------


def test_busy_reads_freebusy_for_the_primary_calendar_in_utc(
    service: Session, settings: Settings, mocked: responses.RequestsMock, clock: time_machine.Traveller,
) -> None:
    connection = fresh_connection(service, make_user(service))
    provider, http = provider_with(settings, freebusy(("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"),
                                                      ("2026-03-02T13:30:00+01:00", "2026-03-02T14:00:00+01:00"),
                                                      ("2026-03-02T15:00:00Z", "2026-03-02T15:00:00Z")))

    busy = provider.busy(connection, start=START, end=END, timeout=5)

    assert busy == [Interval(datetime(2026, 3, 2, 10, tzinfo=UTC), datetime(2026, 3, 2, 11, tzinfo=UTC)),
                    Interval(datetime(2026, 3, 2, 12, 30, tzinfo=UTC), datetime(2026, 3, 2, 13, tzinfo=UTC))]
    [(uri, method, body, headers)] = http.request_sequence
    assert (method, urlsplit(uri).path) == ("POST", "/calendar/v3/freeBusy")
    assert json.loads(body) == {"timeMin": "2026-03-02T09:00:00Z", "timeMax": "2026-03-02T17:00:00Z",
                                "timeZone": "UTC", "items": [{"id": "primary"}]}
    assert headers["authorization"] == "Bearer ya29.current-access"
    assert len(mocked.calls) == 0  # a token valid for an hour is not refreshed


def test_a_token_expiring_within_five_minutes_is_refreshed_first_and_kept(
    service: Session, settings: Settings, mocked: responses.RequestsMock, clock: time_machine.Traveller,
) -> None:
    connection = fresh_connection(service, make_user(service), expires_at=int(NOW.timestamp()) + 240)
    mocked.post(google.TOKEN_URI, json={"access_token": "ya29.refreshed", "expires_in": 3599, "token_type": "Bearer",
                                        "scope": FREEBUSY_SCOPE})
    provider, http = provider_with(settings, freebusy())

    assert provider.busy(connection, start=START, end=END, timeout=5) == []

    sent = form_of(mocked.calls[0].request)
    assert (sent["grant_type"], sent["refresh_token"]) == ("refresh_token", "1//stored-refresh")
    assert http.request_sequence[0][3]["authorization"] == "Bearer ya29.refreshed"
    assert connection.access_token == Secret("ya29.refreshed")
    assert connection.expires_at == int(NOW.timestamp()) + 3599
    assert connection.refresh_token == Secret("1//stored-refresh")


def test_invalid_grant_on_refresh_means_reconnect(
    service: Session, settings: Settings, mocked: responses.RequestsMock, clock: time_machine.Traveller,
) -> None:
    connection = fresh_connection(service, make_user(service), expires_at=int(NOW.timestamp()) - 60)
    mocked.post(google.TOKEN_URI, status=400,
                json={"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
    provider, http = provider_with(settings)

    with pytest.raises(CalendarExpired, match="invalid_grant") as expired:
        provider.busy(connection, start=START, end=END, timeout=5)

    assert "stored-refresh" not in expired.value.reason
    assert http.request_sequence == []
    assert connection.access_token == Secret("ya29.current-access")


def test_a_token_endpoint_outage_is_temporary_and_not_retried_past_the_timeout(
    service: Session, settings: Settings, mocked: responses.RequestsMock, clock: time_machine.Traveller,
) -> None:
    connection = fresh_connection(service, make_user(service), access_token=None, expires_at=None)
    token = mocked.post(google.TOKEN_URI, status=503, json={"error": "backendError"})
    provider, _http = provider_with(settings)

    with pytest.raises(CalendarUnavailable, match="HTTP 503"):
        provider.busy(connection, start=START, end=END, timeout=5)
    assert token.call_count == 1


def test_a_calendar_error_inside_a_200_is_temporary_but_not_found_means_reconnect(
    service: Session, settings: Settings, clock: time_machine.Traveller,
) -> None:
    connection = fresh_connection(service, make_user(service))
    backend, _ = provider_with(settings, freebusy(errors=[{"domain": "global", "reason": "backendError"}]))
    with pytest.raises(CalendarUnavailable, match="backendError"):
        backend.busy(connection, start=START, end=END, timeout=5)

    gone, _ = provider_with(settings, freebusy(errors=[{"domain": "global", "reason": "notFound"}]))
    with pytest.raises(CalendarExpired, match="notFound"):
        gone.busy(connection, start=START, end=END, timeout=5)

    missing, _ = provider_with(settings, freebusy(calendar="someone-else@example.com"))
    with pytest.raises(CalendarUnavailable, match="does not include the calendar"):
        missing.busy(connection, start=START, end=END, timeout=5)


@pytest.mark.parametrize(("status", "reason"), [("500", "backendError"), ("503", "backendError"),
                                                ("429", "rateLimitExceeded"), ("403", "rateLimitExceeded")])
def test_server_errors_and_rate_limits_are_temporary(
    service: Session, settings: Settings, clock: time_machine.Traveller, status: str, reason: str,
) -> None:
    connection = fresh_connection(service, make_user(service))
    error = {"error": {"code": int(status), "message": "try later", "errors": [{"reason": reason}]}}
    provider, http = provider_with(settings, ({"status": status}, json.dumps(error)))

    with pytest.raises(CalendarUnavailable, match=rf"HTTP {status}, {reason}"):
        provider.busy(connection, start=START, end=END, timeout=5)
    assert len(http.request_sequence) == 1  # no retry inside the read: the service retries


def test_a_timeout_is_temporary(service: Session, settings: Settings, clock: time_machine.Traveller) -> None:
    connection = fresh_connection(service, make_user(service))
    timeouts: list[float] = []

    class SlowHttp:
        def request(self, *args: Any, **kwargs: Any) -> Any:
            raise TimeoutError("timed out")

    def factory(timeout: float) -> SlowHttp:
        timeouts.append(timeout)
        return SlowHttp()

    with pytest.raises(CalendarUnavailable, match="could not be reached"):
        GoogleProvider(settings=settings, http_factory=factory).busy(connection, start=START, end=END, timeout=3)
    assert 0 < timeouts[0] <= 3


def test_a_401_gets_one_fresh_token_and_one_more_try(
    service: Session, settings: Settings, mocked: responses.RequestsMock, clock: time_machine.Traveller,
) -> None:
    connection = fresh_connection(service, make_user(service))
    mocked.post(google.TOKEN_URI, json={"access_token": "ya29.again", "expires_in": 3599, "token_type": "Bearer"})
    provider, http = provider_with(settings, ({"status": "401"}, json.dumps({"error": {"code": 401}})),
                                   freebusy(("2026-03-02T10:00:00Z", "2026-03-02T10:30:00Z")))

    assert len(provider.busy(connection, start=START, end=END, timeout=5)) == 1
    assert [request[3]["authorization"] for request in http.request_sequence] == [
        "Bearer ya29.current-access", "Bearer ya29.again"]


def test_a_401_after_the_grant_was_revoked_means_reconnect(
    service: Session, settings: Settings, mocked: responses.RequestsMock, clock: time_machine.Traveller,
) -> None:
    connection = fresh_connection(service, make_user(service))
    mocked.post(google.TOKEN_URI, status=400, json={"error": "invalid_grant"})
    provider, _http = provider_with(settings, ({"status": "401"}, "{}"))

    with pytest.raises(CalendarExpired):
        provider.busy(connection, start=START, end=END, timeout=5)


def test_the_module_provider_is_the_one_the_service_uses() -> None:
    assert google.PROVIDER is google.GOOGLE
    assert google.PROVIDER.kind == CalendarProvider.GOOGLE


# Revoking -----------------------------------------------------------------------------------------------


def test_revoke_posts_the_refresh_token_in_the_body(service: Session, mocked: responses.RequestsMock) -> None:
    connection = fresh_connection(service, make_user(service))
    revoked = mocked.post(google.REVOKE_URI, status=200)

    google.revoke(connection.refresh_token, timeout=5)

    assert revoked.call_count == 1
    request = mocked.calls[0].request
    assert urlsplit(str(request.url)).query == ""
    assert form_of(request) == {"token": "1//stored-refresh"}


@pytest.mark.parametrize("failure", [{"status": 503}, {"body": requests.ConnectionError("down")}])
def test_a_failed_revocation_is_logged_without_the_token_and_never_raised(
    service: Session, mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture,
    failure: dict[str, Any],
) -> None:
    connection = fresh_connection(service, make_user(service))
    mocked.post(google.REVOKE_URI, **failure)

    with caplog.at_level(logging.INFO, logger="core.calendars.google"):
        google.revoke(connection.refresh_token, timeout=5)

    assert "revoking a Google Calendar grant failed" in caplog.text
    assert "stored-refresh" not in caplog.text


@pytest.fixture()
def committed_google(engine: Engine) -> Iterator[tuple[uuid.UUID, str]]:
    """A user committed for real with a Google Calendar connected (another database connection sees
    what was committed, and only that): their id and email."""
    with unit_of_work(service=True) as session:
        user = make_user(session, email=f"google-{uuid.uuid4().hex[:8]}@example.com")
        fresh_connection(session, user)
        user_id, email = user.id, user.email
    with deleted_afterwards(user_id):
        yield user_id, email


def test_disconnecting_asks_google_to_revoke_once_the_deletion_is_committed_and_a_failure_is_only_logged(
    committed_google: tuple[uuid.UUID, str], mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture,
) -> None:
    """Google may take seconds to answer: no transaction waits on it, and what it answers cannot undo
    the disconnection (core.calendars.service)."""
    user_id, email = committed_google
    connections_seen_by_others: list[int] = []

    def google_answers(request: Any) -> tuple[int, dict[str, str], str]:
        with unit_of_work(service=True) as other:  # a connection of its own: only what is committed
            connections_seen_by_others.append(other.scalar(
                select(func.count()).select_from(CalendarConnection).where(CalendarConnection.user_id == user_id)))
        return 503, {}, json.dumps({"error": "backendError"})

    mocked.add_callback(responses.POST, google.REVOKE_URI, callback=google_answers)
    with caplog.at_level(logging.WARNING, logger="core.calendars.google"):
        result = CliRunner().invoke(main, ["calendar", "disconnect", "--user", email, "google"])

    assert connections_seen_by_others == [0]
    assert result.exit_code == 0, result.output
    assert result.output == ("Disconnected your Google Calendar: NextBestMove asked Google to revoke its access, and "
                             "deleted it. With no calendar connected, your next plans use the default capacity of 5 "
                             "actions a day (or the capacity you set for a day).\n")
    assert "revoking a Google Calendar grant failed (HTTP 503, backendError)" in caplog.text
    assert "stored-refresh" not in caplog.text


# The callback route ---------------------------------------------------------------------------------------


def test_the_callback_acts_for_the_user_the_state_names_and_no_one_else(
    service: Session, settings: Settings, mocked: responses.RequestsMock, clock: time_machine.Traveller,
    connection: Connection, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The browser is not logged in: once the state names the user, row-level security holds the rest
    of the callback to that user's rows, as it does every request made on a user's behalf."""
    for name in ("BASE_URL", "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"):
        monkeypatch.setenv(name, str(getattr(settings, name.lower())))
    config.get_settings.cache_clear()
    ann, bob = make_user(service), make_user(service)
    fresh_connection(service, bob)
    state = start_connecting(service, settings, ann)["state"]
    others_touched: list[int] = []

    def saving(session: Session, **fields: Any) -> CalendarConnection:
        others_touched.append(session.execute(update(CalendarConnection).where(CalendarConnection.user_id == bob.id)
                                              .values(calendar_id="hijacked")).rowcount)
        return save_oauth_connection(session, **fields)

    monkeypatch.setattr(google, "save_oauth_connection", saving)
    mocked.post(google.TOKEN_URI, json=token_answer())
    from bot.web import create_app

    browser = create_app().test_client()
    browser.get(f"/calendar/connect/{state}")  # the connect page, which binds this browser to the flow
    page = browser.get("/oauth/google/callback", query_string={
        "state": state, "code": "4/0-the-code", "scope": FREEBUSY_SCOPE})

    assert page.status_code == 200 and "Google Calendar is connected" in page.get_data(as_text=True)
    assert others_touched == [0]  # Bob's row is not Ann's callback's to write
    set_context(service, service=True)  # the test's transaction: what the callback left, every user's
    rows = service.scalars(select(CalendarConnection).execution_options(populate_existing=True)
                           .order_by(CalendarConnection.created_at)).all()
    assert {(row.user_id, row.calendar_id) for row in rows} == {(bob.id, "primary"), (ann.id, "primary")}
    config.get_settings.cache_clear()
