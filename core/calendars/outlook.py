"""Outlook (Microsoft 365 and personal Microsoft accounts): connect with msal, read busy time from Graph.

Connecting (INTEGRATIONS.md, "Microsoft Graph (msal)"):

* ``ConfidentialClientApplication.initiate_auth_code_flow`` for ``Calendars.ReadBasic`` (the
  narrowest scope that reads the calendar view; it sees no body, attendees or attachments), or
  ``Calendars.Read`` when the user has turned call detection on (attendees; ``reads_events``
  records whether it was granted). msal
  adds ``openid profile offline_access`` itself, and PKCE and a nonce. The flow dictionary it returns
  is kept, encrypted, in the state's payload (``core.calendars.oauth_state``): msal is given our
  state, and the flow is recorded once msal has made it.
* ``acquire_token_by_auth_code_flow`` checks the answer against the flow (state, PKCE, nonce). The
  granted scopes are checked too (an admin may grant less than asked): without a calendar-read scope
  nothing is stored.
* Each connection keeps its own ``SerializableTokenCache``, serialized and encrypted in
  ``calendar_connections.token_cache``; it is written back whenever ``has_state_changed``. The
  refresh token in the cache is also kept in ``refresh_token`` (Microsoft rotates it on refresh).
* ``calendar_id`` is ``me``: Graph's ``/me/calendarView``, the signed-in user's default calendar. It
  works for work, school and personal accounts (``getSchedule`` does not support personal ones).
* The msal constructor makes a network call (tenant discovery). Every function here takes an
  ``http_client`` (msal's: ``get``/``post`` returning ``status_code``, ``text``, ``headers``) so that
  tests answer it; by default msal is given the process's requests session, its metadata GETs
  answered from memory once read (``core.calendars.microsoft_metadata``).

Reading (:class:`OutlookProvider`):

* ``acquire_token_silent_with_error`` on the deserialized cache: msal answers from the cache or
  refreshes. No account or no refresh token in the cache, ``invalid_grant`` (AADSTS700082: the
  refresh token expired after 90 days unused; AADSTS50173: password changed; consent revoked) and
  ``interaction_required`` (a new MFA or consent policy) mean reconnect: :class:`CalendarExpired`.
  Any other error, a 5xx or no answer: :class:`CalendarUnavailable`.
* ``GET /v1.0/me/calendarView`` between the two instants, with ``Prefer: outlook.timezone="UTC"``,
  only ``start,end,showAs,isCancelled,isAllDay``, following ``@odata.nextLink`` (only to
  graph.microsoft.com: the token goes with it). A 401 gets one fresh token and one more try; 429, 5xx,
  a timeout and any other status are :class:`CalendarUnavailable`.
* What counts as busy, by ``showAs``: ``busy``, ``oof`` (away), ``tentative`` and ``unknown`` do;
  ``free`` and ``workingElsewhere`` (working, just not at the desk) do not. Tentative counts as busy
  because the time is held (Google's free/busy counts a tentative event the same way, so both
  providers size a day alike). A cancelled event does not count. An all-day event does not count
  (birthdays, holidays elsewhere, reminders) unless it is ``oof``: a day off is busy.

Revoking (:func:`revoke`): Microsoft has no API for an application to revoke a user's consent to it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msal  # type: ignore[import-untyped]
import requests
from sqlalchemy.orm import Session

from core.calendars.http import ConnectRefused, Deadline, rfc3339, unavailable
from core.calendars.microsoft_metadata import MetadataKept
from core.calendars.oauth_state import finish_flow, start_flow
from core.calendars.providers import CalendarExpired, CalendarUnavailable, Interval, Meeting, Provider
from core.calendars.service import save_oauth_connection
from core.clock import utcnow
from core.config import Settings, get_settings
from core.crypto import Secret
from core.errors import ConfigError
from core.models import CalendarConnection, CalendarProvider
from core.outbound import http_session

log = logging.getLogger(__name__)

T = TypeVar("T")

#: What is asked for; msal adds openid, profile and offline_access (and refuses them if passed).
SCOPES = ["Calendars.ReadBasic"]
#: What is asked for when the user has call detection on: events with their attendees.
EVENT_SCOPES = ["Calendars.Read"]
#: Granted scopes (as SUFFICIENT_SCOPES) that show an event's attendees.
READS_EVENTS = frozenset({"calendars.read", "calendars.readwrite"})
#: The fields read for free time, and for meetings (never a subject, body or location).
BUSY_FIELDS = "start,end,showAs,isCancelled,isAllDay"
MEETING_FIELDS = "id,start,isCancelled,isAllDay,responseStatus,isOrganizer,organizer,attendees"
#: Granted scopes (lower case, without Graph's resource prefix) that allow reading the calendar view.
SUFFICIENT_SCOPES = frozenset({"calendars.readbasic", "calendars.read", "calendars.readwrite"})
GRAPH_ROOT = "https://graph.microsoft.com"
CALENDAR_VIEW = f"{GRAPH_ROOT}/v1.0/me/calendarView"
CALENDAR_ID = "me"
#: Events per page (Graph's default for calendarView is 10).
PAGE_SIZE = 100
#: A day never has this many pages of events; past it the answer is not trusted.
MAX_PAGES = 20
FREE = frozenset({"free", "workingelsewhere"})
#: Seconds the tenant discovery and the code exchange may take while connecting.
EXCHANGE_TIMEOUT = 10.0
#: AADSTS codes that mean "reconnect" even when the error is not invalid_grant: 700082 refresh token
#: expired from inactivity, 50173 grant expired (password changed), 65001 consent withdrawn.
RECONNECT_CODES = frozenset({700082, 50173, 65001})
RECONNECT_ERRORS = frozenset({"invalid_grant", "interaction_required", "consent_required", "login_required"})

#: What msal, requests and the network raise when Microsoft cannot be reached or answers nonsense.
_FAILURES = (requests.RequestException, msal.exceptions.MsalError, ValueError, RuntimeError, OSError)


def redirect_uri(settings: Settings) -> str:
    """Where Microsoft sends the browser back (register it in the Entra app registration)."""
    return f"{settings.base_url}/oauth/microsoft/callback"


def authority(settings: Settings) -> str:
    return f"https://login.microsoftonline.com/{settings.microsoft_tenant}"


def authorization_url(session: Session, *, state: str, user_id: uuid.UUID, settings: Settings,
                      http_client: Any = None, read_events: bool = False) -> str:
    """Start connecting ``user_id``'s Outlook calendar as the flow ``state``: the consent page's address
    (valid 10 minutes), kept with the flow for the confirmation page to send the browser on to.

    ``read_events`` (the user has call detection on) asks for ``Calendars.Read`` instead, which shows
    who attends each event.
    """
    _require(settings)
    app = _app(settings, http_client=http_client, timeout=EXCHANGE_TIMEOUT)  # before any row: it may fail
    flow: dict[str, Any] = app.initiate_auth_code_flow(scopes=EVENT_SCOPES if read_events else SCOPES,
                                                       redirect_uri=redirect_uri(settings),
                                                       state=state, prompt="select_account")
    url = str(flow["auth_uri"])
    start_flow(session, state=state, user_id=user_id, provider=CalendarProvider.OUTLOOK, sign_in=url,
               reads_events=read_events, payload={"flow": flow})
    return url


def complete(session: Session, *, state: str, query: Mapping[str, str], settings: Settings,
             http_client: Any = None) -> CalendarConnection:
    """Finish the flow ``state`` names with Microsoft's answer ``query`` (the callback's query string).

    Starts in the service context, which finishing the flow narrows to the user the state was made for:
    row-level security holds everything after. Creates or replaces that user's Outlook connection (token
    cache and tokens encrypted, calendar ``me``, active). Raises OAuthStateError for a state that is
    unknown, used, expired or another provider's, and ConnectRefused (nothing stored) when Microsoft's
    answer cannot make a connection.
    """
    _require(settings)
    finished = finish_flow(session, state=state, provider=CalendarProvider.OUTLOOK)
    flow = finished.payload.get("flow")
    if not isinstance(flow, dict) or query.get("state") != flow.get("state"):
        raise ConnectRefused("Microsoft's answer does not match this sign-in; start connecting again")
    if query.get("error"):
        raise ConnectRefused("Outlook was not connected: access was not granted")
    cache = msal.SerializableTokenCache()
    app = _app(settings, cache=cache, http_client=http_client, timeout=EXCHANGE_TIMEOUT)
    try:
        result: dict[str, Any] = app.acquire_token_by_auth_code_flow(flow, dict(query))
    except _FAILURES as failed:
        log.warning("finishing an Outlook connection failed (%s)", type(failed).__name__)
        raise ConnectRefused("Microsoft could not finish connecting Outlook; try again in a minute") from None
    if "error" in result:
        raise ConnectRefused(f"Microsoft did not accept this sign-in ({_error_of(result)}); start connecting again")
    granted = {scope.rsplit("/", 1)[-1].lower() for scope in str(result.get("scope") or "").split()}
    if not granted & SUFFICIENT_SCOPES:
        raise ConnectRefused("Outlook was not connected: the permission to read your calendar was not granted. "
                             "Connect again and accept it (your administrator may have to allow it)")
    refresh_token = result.get("refresh_token")
    if not refresh_token:
        raise ConnectRefused("Microsoft did not grant offline access (no refresh token); start connecting again")
    connection = save_oauth_connection(session, user_id=finished.user_id, kind=CalendarProvider.OUTLOOK,
                                       refresh_token=str(refresh_token), calendar_id=CALENDAR_ID,
                                       reads_events=bool(granted & READS_EVENTS))
    connection.token_cache = Secret(cache.serialize())
    _keep_access_token(connection, result)
    session.flush()
    return connection


class OutlookProvider:
    """Busy time of an Outlook connection (module docstring, "Reading").

    ``settings`` defaults to the process's; ``http_client`` is handed to msal (tests answer tenant
    discovery and the token endpoint with it); Graph is called with ``requests``.
    """

    kind = CalendarProvider.OUTLOOK

    def __init__(self, *, settings: Settings | None = None, http_client: Any = None) -> None:
        self._settings = settings
        self._http_client = http_client

    @property
    def settings(self) -> Settings:
        return self._settings or get_settings()

    def busy(self, connection: CalendarConnection, *, start: datetime, end: datetime,
             timeout: float) -> list[Interval]:
        return self._view(connection, start=start, end=end, timeout=timeout, fields=BUSY_FIELDS, read=_busy_of)

    def meetings(self, connection: CalendarConnection, *, start: datetime, end: datetime,
                 timeout: float) -> list[Meeting]:
        def read(events: Any) -> list[Meeting]:
            return _meetings_of(events, start=start, end=end)

        return self._view(connection, start=start, end=end, timeout=timeout, fields=MEETING_FIELDS, read=read)

    def _view(self, connection: CalendarConnection, *, start: datetime, end: datetime, timeout: float,
              fields: str, read: Callable[[Any], list[T]]) -> list[T]:
        """``read`` applied to every page of the calendar view between the two instants (module rules)."""
        settings = self.settings
        if not settings.microsoft_enabled:
            raise CalendarUnavailable("Outlook is not configured on this server")
        deadline = Deadline(timeout)
        params = {"startDateTime": rfc3339(start), "endDateTime": rfc3339(end), "$select": fields,
                  "$top": str(PAGE_SIZE)}
        if connection.token_cache is None:
            raise CalendarExpired("the connection holds no Microsoft token cache: reconnect Outlook")
        cache = msal.SerializableTokenCache()
        try:
            cache.deserialize(connection.token_cache.reveal())
        except ValueError:
            raise CalendarExpired("the connection's Microsoft token cache cannot be read: reconnect Outlook") from None
        try:
            app = _app(settings, cache=cache, http_client=self._http_client, timeout=deadline.remaining())
        except ConnectRefused as refused:
            raise CalendarUnavailable(str(refused)) from None
        token = _token(app, cache, connection, force=False)
        try:
            return _calendar_view(token, params, deadline, read)
        except _Unauthorized:
            token = _token(app, cache, connection, force=True)  # revoked since: Microsoft refuses the refresh now
        try:
            return _calendar_view(token, params, deadline, read)
        except _Unauthorized:
            raise CalendarUnavailable("Microsoft Graph refused a fresh token (HTTP 401)") from None


#: The provider ``core.calendars.service`` reads Outlook connections with.
OUTLOOK = OutlookProvider()
PROVIDER: Provider = OUTLOOK  # typed: mypy checks the class keeps to the contract


def revoke(grant: Secret, *, timeout: float) -> None:
    """Nothing to call: Microsoft has no API for an application to revoke a user's consent to it.

    (``revokeSignInSessions`` would sign the user out of every application, not only this one.) The
    caller deleted the connection and its token cache, so no token of it is kept; the user removes
    the app's access at https://account.live.com/consent/Manage (personal account) or
    https://myapps.microsoft.com (work or school account).
    """
    log.debug("Outlook has no revocation API; the connection's tokens are deleted with it")


class _Unauthorized(Exception):
    """Graph answered 401 to the access token."""


def _require(settings: Settings) -> None:
    if not settings.microsoft_enabled:
        raise ConfigError("Outlook is not configured on this server (MICROSOFT_CLIENT_ID and "
                          "MICROSOFT_CLIENT_SECRET)")


def _app(settings: Settings, *, cache: Any = None, http_client: Any = None, timeout: float) -> Any:
    """msal's application for this server's registration (its constructor reads the tenant's metadata,
    from memory after the process's first read)."""
    try:
        return msal.ConfidentialClientApplication(
            settings.microsoft_client_id, client_credential=settings.microsoft_client_secret,
            authority=authority(settings), token_cache=cache, http_client=http_client or MetadataKept(http_session()),
            timeout=timeout)
    except _FAILURES as failed:
        log.warning("Microsoft's sign-in metadata could not be read (%s)", type(failed).__name__)
        raise ConnectRefused("Microsoft sign-in could not be reached; try again in a minute") from None


def _token(app: Any, cache: Any, connection: CalendarConnection, *, force: bool) -> str:
    """An access token from the cache or a refresh; the cache written back to the connection if it changed."""
    try:
        accounts = app.get_accounts()
        if not accounts:
            raise CalendarExpired("no Microsoft account in the connection's token cache: reconnect Outlook")
        scopes = EVENT_SCOPES if connection.reads_events else SCOPES
        result = app.acquire_token_silent_with_error(scopes, account=accounts[0], force_refresh=force)
    except _FAILURES as failed:
        raise CalendarUnavailable(f"Microsoft token refresh failed ({_failure(failed)})") from None
    finally:
        _keep_cache(connection, cache)
    if result is None:
        raise CalendarExpired("no Microsoft refresh token left in the connection's token cache: reconnect Outlook")
    if "error" in result:
        codes = set(result.get("error_codes") or [])
        if result["error"] in RECONNECT_ERRORS or codes & RECONNECT_CODES:
            raise CalendarExpired(f"Microsoft no longer accepts this connection ({_error_of(result)}): "
                                  "reconnect Outlook")
        raise CalendarUnavailable(f"Microsoft token refresh failed ({_error_of(result)})")
    _keep_access_token(connection, result)
    return str(result["access_token"])


def _failure(failed: Exception) -> str:
    """``HTTP Error: 503`` for msal's answer to a 5xx, the exception's name otherwise (its text may hold a URL)."""
    if isinstance(failed, msal.exceptions.MsalServiceError) and failed.args:
        return str(failed.args[0])[:60]
    return type(failed).__name__


def _error_of(result: Mapping[str, Any]) -> str:
    """``invalid_grant, AADSTS700082``: the error and its first code, never the description (it may
    quote identifiers)."""
    codes = result.get("error_codes") or []
    return f"{str(result.get('error'))[:60]}{f', AADSTS{codes[0]}' if codes else ''}"


def _keep_cache(connection: CalendarConnection, cache: Any) -> None:
    if not cache.has_state_changed:
        return
    connection.token_cache = Secret(cache.serialize())
    entry: dict[str, Any] = next(iter(cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN)), {})
    refresh_token = entry.get("secret")
    if refresh_token and refresh_token != connection.refresh_token.reveal():
        connection.refresh_token = Secret(refresh_token)


def _keep_access_token(connection: CalendarConnection, result: Mapping[str, Any]) -> None:
    connection.access_token = Secret(str(result["access_token"]))
    try:
        connection.expires_at = int(utcnow().timestamp()) + int(result["expires_in"])
    except (KeyError, TypeError, ValueError):
        connection.expires_at = None


def _calendar_view(token: str, params: dict[str, str], deadline: Deadline, read: Callable[[Any], list[T]]) -> list[T]:
    headers = {"Authorization": f"Bearer {token}", "Prefer": 'outlook.timezone="UTC"', "Accept": "application/json"}
    url: str | None = CALENDAR_VIEW
    query: dict[str, str] | None = params
    found: list[T] = []
    with http_session() as http:
        for _page in range(MAX_PAGES):
            assert url is not None
            try:
                response = http.get(url, params=query, headers=headers, timeout=deadline.remaining())
            except requests.RequestException as failed:
                raise CalendarUnavailable(f"Microsoft Graph could not be reached ({type(failed).__name__})") from None
            if response.status_code == 401:
                raise _Unauthorized
            if response.status_code != 200:
                raise unavailable("Microsoft Graph", response.status_code, response.text)
            try:
                body = response.json()
                events = body["value"]
            except (ValueError, KeyError, TypeError):
                raise CalendarUnavailable("Microsoft Graph answered something that is not a calendar view") from None
            found += read(events)
            url, query = body.get("@odata.nextLink"), None  # the next link carries the query
            if not url:
                return found
            if not str(url).startswith(f"{GRAPH_ROOT}/"):
                raise CalendarUnavailable("Microsoft Graph's next page is not on graph.microsoft.com")
    raise CalendarUnavailable(f"Microsoft Graph answered more than {MAX_PAGES} pages of events")


def _busy_of(events: Any) -> list[Interval]:
    """The busy intervals among a page of events (module docstring: what counts as busy)."""
    intervals = []
    for event in events if isinstance(events, list) else []:
        show_as = str(event.get("showAs") or "unknown").lower()
        if event.get("isCancelled") or show_as in FREE or (event.get("isAllDay") and show_as != "oof"):
            continue
        start, end = _instant(event.get("start")), _instant(event.get("end"))
        if start < end:
            intervals.append(Interval(start, end))
    return intervals


def _meetings_of(events: Any, *, start: datetime, end: datetime) -> list[Meeting]:
    """The meetings among a page of events (the provider contract: timed, starting in the window, not
    cancelled, not declined, with someone else invited; the organiser counts as invited)."""
    found = []
    for event in events if isinstance(events, list) else []:
        response = str((event.get("responseStatus") or {}).get("response") or "").lower()
        if event.get("isCancelled") or event.get("isAllDay") or response == "declined" or not event.get("id"):
            continue
        began = _instant(event.get("start"))
        if not start <= began < end:
            continue
        people = [*(event.get("attendees") or []), *([] if event.get("isOrganizer") else [event.get("organizer")])]
        others = frozenset(str(address).lower() for person in people if isinstance(person, dict)
                           if (address := (person.get("emailAddress") or {}).get("address")))
        if others:
            found.append(Meeting(key=str(event["id"]), start=began, attendees=others))
    return found


def _instant(value: Any) -> datetime:
    """A Graph ``dateTimeTimeZone`` (``{"dateTime": "2026-03-02T09:00:00.0000000", "timeZone": "UTC"}``)."""
    try:
        naive = datetime.fromisoformat(value["dateTime"])
        zone = ZoneInfo(value.get("timeZone") or "UTC")
    except (KeyError, TypeError, ValueError, ZoneInfoNotFoundError):
        raise CalendarUnavailable("Microsoft Graph answered an event time that cannot be read") from None
    return naive.replace(tzinfo=zone) if naive.tzinfo is None else naive
