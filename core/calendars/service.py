"""Calendar connections of a user, and what their calendars leave free on a day.

Rules (PRODUCT.md, "Calendars"):

* **One connection per provider per user** (Google, Outlook, a private iCal address); connecting
  again replaces it. An iCal address is checked by reading it once before it is saved, so a
  mistyped or private-by-mistake address is refused with the reason instead of failing every
  morning. The address is a secret: stored encrypted, listed by its host only.
* **A day's free time** is read from every connection for the user's working window on that local
  date (``core.calendars.freetime``). If any connection cannot be read, the day has no free-time
  figure and the plan uses ``default`` capacity: a partial answer would count a busy day as free. An
  expired connection counts as one that cannot be read, without being read (:func:`split_expired`).
* **Each read is logged** in ``calendar_sync_logs`` (operation ``busy``, ``events`` or ``connect``,
  status, the reason on failure, metadata with how many intervals or meetings were found; never a
  token or an address), and the connection
  keeps its health: ``active`` after a good read, ``expired`` when the grant or address is gone
  (reconnect needed; the user is told once: ``core.calendars.notices``), ``error`` after a temporary
  failure. A temporary failure is retried with a
  short back-off while the read's time allows.
* **The morning never waits on a provider**: it reads a batch's users concurrently within
  ``CALENDAR_BUDGET`` seconds (``core.calendars.morning``); a user not read by then is planned with
  ``default`` capacity (logged), and the batch goes on.
* **Disconnecting** deletes the connection (the database trigger clears
  ``users.calendar_connected``), then, once that is committed, asks the provider to revoke the grant
  where it allows it (:func:`disconnect`): a provider may take :data:`READ_TIMEOUT` seconds to answer,
  and no transaction, with its database connection and row locks, waits on it. The grant is gone
  from our database whatever the provider answers, so a failed revocation is logged, never raised:
  the disconnection stands.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from datetime import time as clock_time
from functools import partial
from importlib import import_module
from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.calendars.feed import display_name, validate_address
from core.calendars.freetime import free_minutes, merge_busy, working_window
from core.calendars.notices import tell_expired
from core.calendars.oauth_state import confirmation_link, new_state
from core.calendars.providers import CalendarExpired, CalendarUnavailable, Interval, Provider
from core.clock import local_today, utcnow, zone
from core.config import Settings
from core.crypto import Secret
from core.db import after_commit
from core.errors import ValidationError
from core.models import (
    CalendarConnection,
    CalendarConnectionStatus,
    CalendarProvider,
    CalendarSyncLog,
    CapacityLevel,
    User,
)
from core.planner.capacity import level_for_free_minutes
from core.users import get_settings_for

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds a temporary failure waits before the next try, while the read's time allows.
RETRY_DELAYS = (0.5, 2.0)
#: Seconds one provider call may take.
READ_TIMEOUT = 10.0
_MODULES = {CalendarProvider.ICS: "core.calendars.ics", CalendarProvider.GOOGLE: "core.calendars.google",
            CalendarProvider.OUTLOOK: "core.calendars.outlook"}


#: How every channel names each kind of calendar.
NAMES = {CalendarProvider.GOOGLE: "Google Calendar", CalendarProvider.OUTLOOK: "Outlook",
         CalendarProvider.ICS: "iCal address"}


def what_is_read(*, guests: bool) -> str:
    """What signing in allows NextBestMove to read, as every channel says it: ``guests`` when the grant
    asked for also shows who attends events (call detection is on)."""
    return ("when you are busy and who attends your events, to find your calls with leads (never what your "
            "meetings are about)" if guests else "when you are busy (never what your meetings are)")


def provider_for(kind: CalendarProvider) -> Provider:
    """The provider of ``kind`` (each lives in its own module, loaded when first needed)."""
    provider: Provider = import_module(_MODULES[kind]).PROVIDER
    return provider


def offered(settings: Settings) -> tuple[CalendarProvider, ...]:
    """The kinds of calendar this server can connect: an iCal address always, OAuth ones when configured."""
    return tuple(kind for kind, on in ((CalendarProvider.GOOGLE, settings.google_enabled),
                                       (CalendarProvider.OUTLOOK, settings.microsoft_enabled),
                                       (CalendarProvider.ICS, True)) if on)


@dataclass(frozen=True)
class DayRead:
    """What the user's calendars say of ``day``: merged busy intervals inside the working window, free
    minutes and the capacity they give (None and ``default`` when there is no calendar or one failed)."""

    day: date
    window: Interval
    busy: tuple[Interval, ...]
    free_minutes: int | None
    capacity: CapacityLevel
    problems: tuple[str, ...]


def list_connections(session: Session, *, user: User) -> list[CalendarConnection]:
    return list(session.scalars(select(CalendarConnection).where(CalendarConnection.user_id == user.id)
                                .order_by(CalendarConnection.provider)))


def connect_ics(session: Session, *, user: User, url: str, timeout: float = READ_TIMEOUT) -> CalendarConnection:
    """Connect a private iCal address after one good read of it.

    The address is read before anything is written, so a refused one changes nothing on any channel:
    an iCal address connected before stays as it was. The refusal says why, once (:func:`_refusal`)."""
    address = validate_address(url)
    window = working_interval(session, user, local_today(user.timezone))
    trial = CalendarConnection(user_id=user.id, provider=CalendarProvider.ICS, refresh_token=Secret(address))
    try:
        provider_for(CalendarProvider.ICS).busy(trial, start=window.start, end=window.end, timeout=timeout)
    except (CalendarExpired, CalendarUnavailable) as refused:
        raise ValidationError(_refusal(session, user, refused.reason)) from None
    connection = _replace(session, user=user, kind=CalendarProvider.ICS, grant=address,
                          calendar_id=display_name(address), reads_events=True)
    _record(session, connection, operation="connect", status="ok")
    return connection


def _refusal(session: Session, user: User, reason: str) -> str:
    """Why an iCal address was refused, then what became of the user's calendar: ``reason`` (from
    ``core.calendars.feed`` or ``core.calendars.ics``) already carries its own advice, if any."""
    kept = _connection(session, user=user, kind=CalendarProvider.ICS)
    outcome = (f"The iCal address you connected before ({kept.calendar_id}) is kept" if kept is not None
               else "Nothing was connected")
    return f"that iCal address could not be read: {reason}. {outcome}."


def oauth_start(session: Session, *, user: User, kind: CalendarProvider, settings: Settings) -> str:
    """The link that connects the user's ``kind`` calendar (Google or Outlook): our confirmation page,
    which names the account before it sends the browser on to the provider (a link sent on to someone
    else must not connect their calendar unseen: ``core.calendars.oauth_state``)."""
    if kind not in offered(settings) or kind == CalendarProvider.ICS:
        raise ValidationError(f"{kind.value} calendars cannot be connected by signing in on this server")
    start: Callable[..., str] = import_module(_MODULES[kind]).authorization_url
    state = new_state()
    start(session, state=state, user_id=user.id, settings=settings,
          read_events=get_settings_for(session, user).call_detection)
    return confirmation_link(settings, state)


def oauth_complete(session: Session, *, kind: CalendarProvider, state: str, query: Mapping[str, str],
                   settings: Settings) -> CalendarConnection:
    """Finish the flow ``state`` names with the provider's answer; the connection it creates or replaces.
    Called in the service context (the caller does not know the user yet): finding the flow narrows it
    to the flow's user (``core.calendars.oauth_state.finish_flow``)."""
    connection: CalendarConnection = import_module(_MODULES[kind]).complete(
        session, state=state, query=query, settings=settings)
    return connection


def save_oauth_connection(session: Session, *, user_id: uuid.UUID, kind: CalendarProvider, refresh_token: str,
                          calendar_id: str, reads_events: bool) -> CalendarConnection:
    """Create or replace the user's connection of an OAuth ``kind`` (the providers' callbacks call this);
    ``reads_events`` says whether the grant shows who attends events."""
    user = session.get_one(User, user_id)
    return _replace(session, user=user, kind=kind, grant=refresh_token, calendar_id=calendar_id,
                    reads_events=reads_events)


def disconnect(session: Session, *, user: User, kind: CalendarProvider) -> bool:
    """Delete the user's ``kind`` connection, its grant revoked once that is committed (module rules);
    False if there was none."""
    connection = _connection(session, user=user, kind=kind)
    if connection is None:
        return False
    after_commit(session, partial(_revoke, kind, connection.refresh_token))
    session.delete(connection)
    session.flush()
    session.expire(user, ["calendar_connected"])
    return True


def _revoke(kind: CalendarProvider, grant: Secret) -> None:
    """Ask the provider of ``kind`` to revoke ``grant``, where it has a way to (after the commit: module
    rules). Never raises: the connection is already deleted, and the answer says so."""
    revoke: Callable[..., None] | None = getattr(import_module(_MODULES[kind]), "revoke", None)
    if revoke is None:
        return
    try:
        revoke(grant, timeout=READ_TIMEOUT)
    except Exception:
        log.exception("revoking a %s grant failed; its connection is deleted all the same", kind.value)


def read_day(session: Session, *, user: User, day: date, deadline: float | None = None) -> DayRead:
    """Read every active connection of ``user`` for ``day`` (module rules); ``deadline`` is a
    ``time.monotonic()`` instant after which no retry starts. The session is held while the
    providers answer (one user, asked for now: ``nbm calendar sync``); the morning reads without
    holding one (``core.calendars.morning``)."""
    window = working_interval(session, user, day)
    connections, expired = split_expired(list_connections(session, user=user))
    outcomes = [read_busy(connection, window, deadline) for connection in connections]
    return day_read(session, day, window, list(zip(connections, outcomes, strict=True)), not_read=expired)


def working_interval(session: Session, user: User, day: date) -> Interval:
    """``user``'s working window on ``day``, in the user's zone: an all-day event is read on the
    user's own date (core.calendars.ics)."""
    local = zone(user.timezone)
    utc_window = working_window(day, user.timezone, *_hours(session, user))
    return Interval(utc_window.start.astimezone(local), utc_window.end.astimezone(local))


def split_expired(
    connections: Sequence[CalendarConnection],
) -> tuple[list[CalendarConnection], tuple[str, ...]]:
    """The ``connections`` to read, and a problem for each expired one. An expired connection is not
    read (only connecting it again can bring it back), but it is a calendar that cannot be read: the
    day takes ``default`` capacity rather than being sized by the other calendars as if it were free."""
    readable = [c for c in connections if c.status != CalendarConnectionStatus.EXPIRED]
    expired = tuple(f"{c.provider.value}: expired" + (f" ({c.error_message})" if c.error_message else "")
                    for c in connections if c.status == CalendarConnectionStatus.EXPIRED)
    return readable, expired


def read_busy(connection: CalendarConnection, window: Interval, deadline: float | None) -> Outcome[Interval]:
    """The busy time of ``connection`` in ``window``, retried (module rules); touches no database, so
    the morning calls it with no unit of work open (``core.calendars.morning``)."""
    return _attempt(connection, deadline=deadline, read=lambda provider: (
        provider.busy(connection, start=window.start, end=window.end, timeout=READ_TIMEOUT)))


def day_read(session: Session, day: date, window: Interval,
             read: list[tuple[CalendarConnection | None, Outcome[Interval]]],
             not_read: Sequence[str] = ()) -> DayRead:
    """What ``read`` (each connection and how its read went) says of ``day``, each outcome kept; a
    connection of None was connected again or removed while it was read, and counts as a problem, as
    does each of ``not_read`` (the expired connections: :func:`split_expired`)."""
    busy: list[Interval] = []
    problems: list[str] = list(not_read)
    for connection, outcome in read:
        if connection is None:
            problems.append("a calendar was connected again or removed while it was read")
            continue
        try:
            busy += _keep(session, connection, outcome, operation="busy")
        except (CalendarExpired, CalendarUnavailable) as failed:
            problems.append(f"{connection.provider.value}: {failed.reason}")
    minutes = free_minutes(busy, window) if read and not problems else None
    return DayRead(day=day, window=window, busy=tuple(merge_busy(busy, window)), free_minutes=minutes,
                   capacity=level_for_free_minutes(minutes), problems=tuple(problems))


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """How a read of a connection ended after its retries: what was found, or why nothing was."""

    found: list[T]
    failed: CalendarExpired | CalendarUnavailable | None = None


def read_with_retries(session: Session, connection: CalendarConnection, *, operation: str,
                      read: Callable[[Provider], list[T]], deadline: float | None) -> list[T]:
    """``read(provider)`` for ``connection`` with the module's rules: retried while the deadline allows,
    the connection's health kept, an expired one told once, the outcome logged as ``operation``."""
    return _keep(session, connection, _attempt(connection, read=read, deadline=deadline), operation=operation)


def _attempt(connection: CalendarConnection, *, read: Callable[[Provider], list[T]],
            deadline: float | None) -> Outcome[T]:
    """``read(provider)`` for ``connection``, a temporary failure tried again while the deadline
    allows; touches no database (the provider may refresh the connection's tokens in place)."""
    provider = provider_for(connection.provider)
    delays = list(RETRY_DELAYS)
    while True:
        try:
            return Outcome(read(provider))
        except CalendarExpired as expired:
            return Outcome([], expired)
        except CalendarUnavailable as down:
            delay = delays.pop(0) if delays else None
            if delay is None or (deadline is not None and time.monotonic() + delay >= deadline):
                return Outcome([], down)
            time.sleep(delay)


def _keep(session: Session, connection: CalendarConnection, outcome: Outcome[T], *, operation: str) -> list[T]:
    """Keep what ``outcome`` says of ``connection`` (its health, the log as ``operation``, an expiry
    told once); what was found, or the failure raised."""
    if isinstance(outcome.failed, CalendarExpired):
        connection.status, connection.error_message = CalendarConnectionStatus.EXPIRED, outcome.failed.reason
        _record(session, connection, operation=operation, status="expired", error=outcome.failed.reason)
        tell_expired(session, connection=connection)
        raise outcome.failed
    if outcome.failed is not None:
        connection.status, connection.error_message = CalendarConnectionStatus.ERROR, outcome.failed.reason
        _record(session, connection, operation=operation, status="error", error=outcome.failed.reason)
        raise outcome.failed
    connection.status, connection.error_message = CalendarConnectionStatus.ACTIVE, None
    connection.last_sync_at = utcnow()
    _record(session, connection, operation=operation, status="ok", detail={"found": len(outcome.found)})
    return outcome.found


def _record(session: Session, connection: CalendarConnection, *, operation: str, status: str,
            error: str | None = None, detail: dict[str, object] | None = None) -> None:
    session.add(CalendarSyncLog(calendar_connection_id=connection.id, operation=operation, status=status,
                                error_message=error, metadata_=dict(detail or {})))
    session.flush()


def _connection(session: Session, *, user: User, kind: CalendarProvider) -> CalendarConnection | None:
    return session.scalars(select(CalendarConnection).where(
        CalendarConnection.user_id == user.id, CalendarConnection.provider == kind)).first()


def _replace(
    session: Session, *, user: User, kind: CalendarProvider, grant: str, calendar_id: str, reads_events: bool
) -> CalendarConnection:
    connection = _connection(session, user=user, kind=kind)
    if connection is None:
        connection = CalendarConnection(user_id=user.id, provider=kind)
        session.add(connection)
    connection.refresh_token, connection.access_token, connection.token_cache = Secret(grant), None, None
    connection.expires_at, connection.calendar_id, connection.reads_events = None, calendar_id, reads_events
    connection.status, connection.error_message, connection.expired_notified_at = (
        CalendarConnectionStatus.ACTIVE, None, None)
    session.flush()
    session.expire(user, ["calendar_connected"])
    return connection


def _hours(session: Session, user: User) -> tuple[clock_time, clock_time]:
    settings = get_settings_for(session, user)
    return settings.working_hours_start, settings.working_hours_end

