"""Google Calendar: connect through OAuth, read busy time with ``freebusy.query``, revoke on disconnect.

Connecting (INTEGRATIONS.md, "Google Calendar"):

* The only scope asked for is ``calendar.freebusy`` (busy blocks, never an event's title or guests),
  plus ``calendar.events.readonly`` when the user has turned call detection on (events and who
  attends them; ``reads_events`` records whether it was granted), with ``access_type=offline`` and
  ``prompt=consent`` so that Google returns a refresh token even to a user who connected before.
* google-auth-oauthlib's ``Flow`` does PKCE: the code verifier is made here, kept encrypted in the
  flow's state payload (``core.calendars.oauth_state``) and sent back with the code; without it the
  exchange fails with ``invalid_grant: Missing code verifier``.
* Google lets the user untick the scope. The granted scopes are checked: without one that allows a
  free/busy read the connection is refused with a message saying to tick it, nothing is stored and
  the token just issued is revoked.
* The client id and secret go in the token request's body, not in an ``Authorization: Basic``
  header: requests-oauthlib logs request headers at DEBUG, and the log redaction (``core.logs``)
  recognises ``client_secret=`` but not a base64 header.

Reading (:class:`GoogleProvider`):

* The access token is refreshed when it expires within :data:`REFRESH_MARGIN` (google-auth's
  ``Credentials`` over ``requests``); the new token and expiry are set on the connection (the caller
  commits them). ``invalid_grant`` (revoked, expired, password changed, a Workspace re-auth policy)
  means reconnect: :class:`CalendarExpired`. Other refresh failures are temporary.
* google-auth retries a 5xx or 429 from the token endpoint with back-off sleeps; the transport here
  answers those at once as a transport error instead, so a read stays within its ``timeout``.
* ``freebusy.query`` for the connection's calendar (``primary``) in UTC, through googleapiclient's
  bundled discovery document (no discovery request), without retries. A 401 refreshes the token and
  tries once more. 429, 5xx, a timeout or any other error status are :class:`CalendarUnavailable`.
* A 200 answer still carries per-calendar ``errors``. ``notFound`` means the calendar we read is gone
  (or no longer shared with this account): reading again will not bring it back, so it is
  :class:`CalendarExpired` and the user is told once to reconnect. Every other reason
  (``backendError``, ``internalError``, ``tooManyCalendarsRequestedForTimeRange``…) is
  :class:`CalendarUnavailable`.

Revoking (:func:`revoke`): the refresh token is posted to Google's revocation endpoint (in the body,
RFC 7009, so it appears in no URL); a failure is logged without the token and never raised.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import google.auth.transport.requests
import httplib2  # type: ignore[import-untyped]
import requests
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow  # type: ignore[import-untyped]
from googleapiclient.discovery import build  # type: ignore[import-untyped]
from googleapiclient.errors import HttpError  # type: ignore[import-untyped]
from oauthlib.oauth2.rfc6749.errors import OAuth2Error  # type: ignore[import-untyped]
from sqlalchemy.orm import Session

from core.calendars.google_answers import busy_of, meetings_of
from core.calendars.http import ConnectRefused, Deadline, error_code, rfc3339, unavailable
from core.calendars.oauth_state import finish_flow, start_flow
from core.calendars.providers import CalendarExpired, CalendarUnavailable, Interval, Meeting, Provider
from core.calendars.service import save_oauth_connection
from core.clock import utcnow
from core.config import Settings, get_settings
from core.crypto import Secret
from core.errors import ConfigError
from core.models import CalendarConnection, CalendarProvider
from core.outbound import Httplib2Over, http_session

log = logging.getLogger(__name__)

AUTH_URI = "https://accounts.google.com/o/oauth2/auth"
TOKEN_URI = "https://oauth2.googleapis.com/token"
REVOKE_URI = "https://oauth2.googleapis.com/revoke"
#: The narrowest scope that reads free/busy: busy blocks only.
FREEBUSY_SCOPE = "https://www.googleapis.com/auth/calendar.freebusy"
#: Scopes that allow ``freebusy.query`` (a user who granted a broader one before may come back with it).
SUFFICIENT_SCOPES = frozenset({
    FREEBUSY_SCOPE,
    "https://www.googleapis.com/auth/calendar.readonly",
    "https://www.googleapis.com/auth/calendar",
})
#: What call detection adds: events and their guests, read only.
EVENTS_SCOPE = "https://www.googleapis.com/auth/calendar.events.readonly"
#: Scopes that allow ``events.list`` with attendees.
EVENT_SCOPES = frozenset({
    EVENTS_SCOPE,
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.readonly",
    "https://www.googleapis.com/auth/calendar",
})
#: The fields of an event call detection reads (no title, description or location).
EVENT_FIELDS = ("nextPageToken,items(id,status,start,attendees(email,self,responseStatus),"
                "organizer(email,self))")
#: Events per page, and the most pages read for one window.
PAGE_SIZE = 250
MAX_PAGES = 20
#: The calendar read: the user's main calendar.
CALENDAR_ID = "primary"
#: Refresh the access token when it expires within this many seconds.
REFRESH_MARGIN = 300
#: Seconds the code exchange (and the revocation of a refused grant) may take.
EXCHANGE_TIMEOUT = 10.0


def redirect_uri(settings: Settings) -> str:
    """Where Google sends the browser back (register it in the Google Cloud console)."""
    return f"{settings.base_url}/oauth/google/callback"


def authorization_url(session: Session, *, state: str, user_id: uuid.UUID, settings: Settings,
                      read_events: bool = False) -> str:
    """Start connecting ``user_id``'s Google Calendar as the flow ``state``: the consent page's address
    (valid 10 minutes), kept with the flow for the confirmation page to send the browser on to.

    ``read_events`` (the user has call detection on) also asks to read events and their guests.
    """
    _require(settings)
    verifier = secrets.token_urlsafe(96)  # 128 characters, PKCE's longest
    scopes = [FREEBUSY_SCOPE, EVENTS_SCOPE] if read_events else [FREEBUSY_SCOPE]
    url: str
    url, _ = _flow(settings, state=state, code_verifier=verifier, scopes=scopes).authorization_url(
        state=state, access_type="offline", prompt="consent")
    start_flow(session, state=state, user_id=user_id, provider=CalendarProvider.GOOGLE, sign_in=url,
               reads_events=read_events, payload={"code_verifier": verifier, "scopes": scopes})
    return url


def complete(session: Session, *, state: str, query: Mapping[str, str], settings: Settings) -> CalendarConnection:
    """Finish the flow ``state`` names with Google's answer ``query`` (the callback's query string).

    Starts in the service context, which finishing the flow narrows to the user the state was made for:
    row-level security holds everything after. Creates or replaces that user's Google connection (tokens
    encrypted, ``primary`` calendar, active). Raises OAuthStateError for a state that is unknown, used,
    expired or another provider's, and ConnectRefused (nothing stored) when Google's answer cannot make
    a connection.
    """
    _require(settings)
    finished = finish_flow(session, state=state, provider=CalendarProvider.GOOGLE)
    if query.get("error"):
        raise ConnectRefused("Google Calendar was not connected: access was not granted")
    code = query.get("code")
    if not code:
        raise ConnectRefused("Google's answer holds no authorization code; start connecting again")
    asked = finished.payload.get("scopes") or [FREEBUSY_SCOPE]
    token = _exchange(_flow(settings, state=state, code_verifier=finished.payload.get("code_verifier"),
                            scopes=list(asked)), code)
    granted = _scopes(token.get("scope"))
    if not granted & SUFFICIENT_SCOPES:
        _revoke_quietly(token.get("refresh_token") or token.get("access_token"), timeout=EXCHANGE_TIMEOUT)
        raise ConnectRefused("Google Calendar was not connected: the permission to see when you are busy was "
                             "not ticked. Connect again and leave that box ticked")
    refresh_token = token.get("refresh_token")
    if not refresh_token:
        raise ConnectRefused("Google did not grant offline access (no refresh token); start connecting again")
    connection = save_oauth_connection(session, user_id=finished.user_id, kind=CalendarProvider.GOOGLE,
                                       refresh_token=str(refresh_token), calendar_id=CALENDAR_ID,
                                       reads_events=bool(granted & EVENT_SCOPES))
    connection.access_token = Secret(str(token["access_token"]))
    connection.expires_at = _expires_at(token.get("expires_in"))
    session.flush()
    return connection


class GoogleProvider:
    """Busy time of a Google connection (module docstring, "Reading").

    ``settings`` defaults to the process's; ``http_factory(timeout)`` makes the httplib2-like object
    googleapiclient sends the free/busy request through (tests pass an ``HttpMockSequence``).
    """

    kind = CalendarProvider.GOOGLE

    def __init__(self, *, settings: Settings | None = None,
                 http_factory: Callable[[float], Any] | None = None) -> None:
        self._settings = settings
        self._http_factory = http_factory or Httplib2Over

    @property
    def settings(self) -> Settings:
        return self._settings or get_settings()

    def busy(self, connection: CalendarConnection, *, start: datetime, end: datetime,
             timeout: float) -> list[Interval]:
        body = {"timeMin": rfc3339(start), "timeMax": rfc3339(end), "timeZone": "UTC",
                "items": [{"id": connection.calendar_id}]}
        answer = self._call(connection, lambda calendar: calendar.freebusy().query(body=body), Deadline(timeout))
        return busy_of(answer, connection.calendar_id)

    def meetings(self, connection: CalendarConnection, *, start: datetime, end: datetime,
                 timeout: float) -> list[Meeting]:
        """``events.list`` with recurring events expanded (``singleEvents``), page by page."""
        deadline = Deadline(timeout)
        params: dict[str, Any] = {
            "calendarId": connection.calendar_id, "timeMin": rfc3339(start), "timeMax": rfc3339(end),
            "singleEvents": True, "orderBy": "startTime", "maxResults": PAGE_SIZE, "fields": EVENT_FIELDS}
        found: list[Meeting] = []
        for _page in range(MAX_PAGES):
            answer = self._call(connection, lambda calendar: calendar.events().list(**params), deadline)
            found += meetings_of(answer, start=start, end=end)
            params["pageToken"] = answer.get("nextPageToken") if isinstance(answer, dict) else None
            if not params["pageToken"]:
                return found
        raise CalendarUnavailable(f"Google Calendar answered more than {MAX_PAGES} pages of events")

    def _call(self, connection: CalendarConnection, make: Callable[[Any], Any], deadline: Deadline) -> Any:
        """The answer to the request ``make(calendar_service)`` builds, with a fresh token (module rules)."""
        settings = self.settings
        if not settings.google_enabled:
            raise CalendarUnavailable("Google Calendar is not configured on this server")
        if _needs_refresh(connection):
            _refresh(connection, settings, deadline)
        try:
            return self._execute(connection, make, deadline)
        except HttpError as failed:
            if failed.status_code != 401:
                raise unavailable("Google Calendar", failed.status_code, failed.content) from None
            _refresh(connection, settings, deadline)  # revoked since the last refresh: invalid_grant now
            try:
                return self._execute(connection, make, deadline)
            except HttpError as again:
                raise unavailable("Google Calendar", again.status_code, again.content) from None

    def _execute(self, connection: CalendarConnection, make: Callable[[Any], Any], deadline: Deadline) -> Any:
        assert connection.access_token is not None
        try:
            calendar = build("calendar", "v3", http=self._http_factory(deadline.remaining()),
                             static_discovery=True, cache_discovery=False)
            request = make(calendar)
            request.headers["authorization"] = f"Bearer {connection.access_token.reveal()}"
            return request.execute(num_retries=0)
        except (OSError, httplib2.HttpLib2Error) as failed:
            raise CalendarUnavailable(f"Google Calendar could not be reached ({type(failed).__name__})") from None


#: The provider ``core.calendars.service`` reads Google connections with.
GOOGLE = GoogleProvider()
PROVIDER: Provider = GOOGLE  # typed: mypy checks the class keeps to the contract


def revoke(grant: Secret, *, timeout: float) -> None:
    """Revoke a deleted connection's ``grant`` at Google (its refresh token, and with it every access
    token); ``core.calendars.service`` calls it once the deletion is committed.

    Never raises: a grant that cannot be revoked now is logged (without the token), and the
    disconnection stands; the user can also remove access at myaccount.google.com/permissions.
    """
    _revoke_quietly(grant.reveal(), timeout=timeout)


def _require(settings: Settings) -> None:
    if not settings.google_enabled:
        raise ConfigError("Google Calendar is not configured on this server (GOOGLE_CLIENT_ID and "
                          "GOOGLE_CLIENT_SECRET)")


def _flow(settings: Settings, *, state: str, code_verifier: str | None, scopes: list[str]) -> Any:
    config = {"web": {"client_id": settings.google_client_id, "client_secret": settings.google_client_secret,
                      "auth_uri": AUTH_URI, "token_uri": TOKEN_URI}}
    return Flow.from_client_config(config, scopes=scopes, redirect_uri=redirect_uri(settings),
                                   state=state, code_verifier=code_verifier)


def _exchange(flow: Any, code: str) -> dict[str, Any]:
    """Google's token answer for ``code`` (whatever scopes it grants; the caller checks them)."""
    try:
        token: dict[str, Any] = flow.fetch_token(code=code, include_client_id=True, timeout=EXCHANGE_TIMEOUT)
    except Warning as changed:  # oauthlib: "Scope has changed" when the user unticked a box
        token = dict(getattr(changed, "token", {}))
    except OAuth2Error as refused:
        raise ConnectRefused(f"Google did not accept this sign-in ({refused.error}); start connecting "
                             "again") from None
    except requests.RequestException:
        raise ConnectRefused("Google could not be reached to finish connecting; try again in a minute") from None
    if not token.get("access_token"):
        raise ConnectRefused("Google's answer holds no access token; start connecting again")
    return token


def _scopes(granted: object) -> frozenset[str]:
    if isinstance(granted, str):
        return frozenset(granted.split())
    if isinstance(granted, Iterable):
        return frozenset(str(scope) for scope in granted)
    return frozenset()


def _expires_at(expires_in: object) -> int | None:
    try:
        return int(utcnow().timestamp()) + int(str(expires_in))
    except ValueError:
        return None


def _needs_refresh(connection: CalendarConnection) -> bool:
    return (connection.access_token is None or connection.expires_at is None
            or connection.expires_at - utcnow().timestamp() < REFRESH_MARGIN)


class _Transport(google.auth.transport.requests.Request):
    """google-auth's requests transport, within the read's deadline, failing at once on 429 and 5xx
    (google-auth would sleep and retry them)."""

    def __init__(self, deadline: Deadline, session: requests.Session) -> None:
        super().__init__(session)
        self._deadline = deadline

    def __call__(self, url: str, method: str = "GET", body: Any = None, headers: Any = None,
                 timeout: Any = None, **kwargs: Any) -> Any:
        try:
            left = self._deadline.remaining()
        except CalendarUnavailable as late:
            raise TransportError(late.reason) from None
        response = super().__call__(url, method=method, body=body, headers=headers, timeout=left, **kwargs)
        if response.status == 429 or response.status >= 500:
            raise TransportError(f"HTTP {response.status}")
        return response


def _refresh(connection: CalendarConnection, settings: Settings, deadline: Deadline) -> None:
    """A new access token on ``connection`` (and a new refresh token if Google rotated it)."""
    credentials = Credentials(token=None, refresh_token=connection.refresh_token.reveal(), token_uri=TOKEN_URI,
                              client_id=settings.google_client_id, client_secret=settings.google_client_secret)
    try:
        with http_session() as http:
            credentials.refresh(_Transport(deadline, http))
    except RefreshError as refused:
        if _is_invalid_grant(refused):
            raise CalendarExpired("Google no longer accepts this connection (invalid_grant): reconnect "
                                  "Google Calendar") from None
        raise CalendarUnavailable(f"Google token refresh failed ({_refresh_error(refused)})") from None
    except TransportError as failed:
        raise CalendarUnavailable(f"Google token refresh failed ({failed})") from None
    connection.access_token = Secret(str(credentials.token))
    expiry = credentials.expiry
    connection.expires_at = int(expiry.replace(tzinfo=UTC).timestamp()) if expiry else None
    if credentials.refresh_token and credentials.refresh_token != connection.refresh_token.reveal():
        connection.refresh_token = Secret(credentials.refresh_token)


def _refresh_error(error: RefreshError) -> str:
    data = error.args[1] if len(error.args) > 1 else None
    return error_code(data) or "no error code"


def _is_invalid_grant(error: RefreshError) -> bool:
    """``invalid_grant`` in Google's answer, or google-auth's refusal of a re-authentication (a
    Workspace session-control policy asks the user to sign in again: reconnecting is the way)."""
    data = error.args[1] if len(error.args) > 1 else None
    message = str(error.args[0]) if error.args else ""
    return ((isinstance(data, dict) and data.get("error") == "invalid_grant")
            or message.startswith(("invalid_grant", "Reauthentication is needed")))


def _revoke_quietly(token: object, *, timeout: float) -> None:
    if not token:
        return
    try:
        with http_session() as http:
            response = http.post(REVOKE_URI, data={"token": str(token)}, timeout=timeout,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    except requests.RequestException as failed:
        log.warning("revoking a Google Calendar grant failed (%s); the user can remove access in their "
                    "Google account", type(failed).__name__)
        return
    if response.status_code == 400 and error_code(response.text) == "invalid_token":
        log.info("the Google Calendar grant was already revoked")
    elif response.status_code != 200:
        log.warning("revoking a Google Calendar grant failed (HTTP %s, %s); the user can remove access in their "
                    "Google account", response.status_code, error_code(response.text) or "no error code")
