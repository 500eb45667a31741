"""The morning's calendar reads: every user of a batch read at once, before the batch is planned.

Rules (PRODUCT.md, "Calendars"; ``core.calendars.service`` holds the rules of one read):

* **Many at once.** A read waits on the provider (one or two round trips of 0.1 to 0.5 s) for a few
  milliseconds of CPU, so :data:`READS_AT_ONCE` users of a batch are read at once, each in a thread.
* **No database connection held while a provider answers.** What to read is found for the whole
  batch in one unit of work; each thread then reads, and keeps what it read (the connection's
  health, its log, the tokens the provider refreshed) in a short unit of work of its own, one of
  the process's :data:`UNITS_AT_ONCE`.
* **What the user did meanwhile wins.** A connection connected again or removed while it was being
  read keeps its new state: that read counts for nothing (``default`` capacity that day).
* **An expired connection is not read**, and its user's day is planned with ``default`` capacity,
  as for any calendar that cannot be read (``core.calendars.service.split_expired``).
* **Within the budget.** A user not read within ``CALENDAR_BUDGET`` seconds is planned with
  ``default`` capacity (logged), and the batch goes on; the late read still keeps what it found.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.calendars.providers import Interval
from core.calendars.service import day_read, read_busy, split_expired, working_interval
from core.clock import local_today
from core.config import get_settings
from core.crypto import Secret
from core.db import unit_of_work
from core.models import CalendarConnection, User

log = logging.getLogger(__name__)

#: Users of a batch whose calendars are read at once, each in a thread. A read waits on the provider
#: (one or two round trips of 0.1 to 0.5 s) for a few milliseconds of CPU and holds no database
#: connection while it waits, so the batch's 200 users are read in about four rounds of round trips.
#: With 8, the morning's calendar reads alone took 7.5 s a batch at 0.3 s a read (nbm bench morning
#: --calendars).
READS_AT_ONCE = 50
#: Units of work the calendar threads of a process hold at once (each for a few milliseconds, once
#: its read is done). Unbounded, a batch's threads took as many database connections as the pool
#: allows, 26 a worker process: four workers went past PostgreSQL's 100.
UNITS_AT_ONCE = 4
_units = threading.BoundedSemaphore(UNITS_AT_ONCE)


def free_minutes_for_users(
    users: Sequence[uuid.UUID], *, at: datetime, budget: float | None = None,
) -> dict[uuid.UUID, int | None]:
    """Free minutes of each user on their local date at ``at``, read concurrently within ``budget``
    seconds (module rules).

    Users with no connection are not read at all. What to read is found for the whole batch in one
    unit of work (:func:`_days_to_read`). Then each user's read runs in a thread of its own: the
    providers' answers, with no database connection held (a read is one or two round trips of 0.1
    to 0.5 s to the provider for a few milliseconds of CPU), then what they said kept in a unit of
    work of its own. So :data:`READS_AT_ONCE` reads can wait on providers at once while the threads
    hold at most :data:`UNITS_AT_ONCE` database connections, and a slow provider holds no lock the
    batch needs.
    """
    budget = float(get_settings().calendar_budget if budget is None else budget)
    with unit_of_work(service=True) as session:
        days = _days_to_read(session, users, at=at)
    if not days:
        return {}
    deadline = time.monotonic() + budget
    results: dict[uuid.UUID, int | None] = {}
    pool = ThreadPoolExecutor(max_workers=min(READS_AT_ONCE, len(days)), thread_name_prefix="nbm-calendar")
    futures = {pool.submit(_free_minutes_of, user_id, to_read, deadline): user_id for user_id, to_read in days.items()}
    done, late = wait(futures, timeout=budget)
    for future in done:
        results[futures[future]] = future.result()
    for future in late:
        log.warning("calendars of user %s not read within %.0f s: default capacity today", futures[future], budget)
        results[futures[future]] = None
    pool.shutdown(wait=False, cancel_futures=True)
    return results


@dataclass(frozen=True)
class _DayToRead:
    """A user's day to read: its working window, the connections to read (detached from any
    session: the provider reads them, and refreshes their tokens, outside one), the grant each
    held when it was loaded, and the expired connections, which are not read but leave the day
    without a free-time figure (``core.calendars.service.split_expired``)."""

    day: date
    window: Interval
    connections: list[CalendarConnection]
    grants: dict[uuid.UUID, Secret]
    expired: tuple[str, ...]


def _days_to_read(session: Session, users: Sequence[uuid.UUID], *, at: datetime) -> dict[uuid.UUID, _DayToRead]:
    """What to read for each of ``users`` with a calendar connected, on their local date at ``at``:
    three queries for the whole batch, whatever its size (and the unit of work's own context)."""
    people = session.scalars(select(User).options(selectinload(User.settings)).where(
        User.id.in_(list(users)), User.calendar_connected)).all()
    found = session.scalars(select(CalendarConnection).where(
        CalendarConnection.user_id.in_([user.id for user in people]),
    ).order_by(CalendarConnection.user_id, CalendarConnection.provider)).all()
    connections: dict[uuid.UUID, list[CalendarConnection]] = defaultdict(list)
    for connection in found:
        connections[connection.user_id].append(connection)
        session.expunge(connection)
    days = {}
    for user in people:
        day = local_today(user.timezone, at=at)
        readable, expired = split_expired(connections[user.id])
        days[user.id] = _DayToRead(day, working_interval(session, user, day), readable,
                                   {c.id: c.refresh_token for c in readable}, expired)
    return days


def _free_minutes_of(user_id: uuid.UUID, to_read: _DayToRead, deadline: float) -> int | None:
    """One user's free minutes: the providers' answers, read without holding a database connection,
    then kept (:func:`free_minutes_for_users`)."""
    try:
        outcomes = [read_busy(connection, to_read.window, deadline) for connection in to_read.connections]
        with _unit_for(user_id) as session:
            kept = [(_as_read(session, connection, to_read.grants[connection.id]), outcome)
                    for connection, outcome in zip(to_read.connections, outcomes, strict=True)]
            return day_read(session, to_read.day, to_read.window, kept, not_read=to_read.expired).free_minutes
    except Exception:
        log.exception("reading the calendars of user %s failed: default capacity today", user_id)
        return None


@contextmanager
def _unit_for(user_id: uuid.UUID) -> Iterator[Session]:
    """A unit of work of ``user_id`` for a calendar thread, once one of the process's
    :data:`UNITS_AT_ONCE` is free."""
    with _units, unit_of_work(user_id=user_id) as session:
        yield session


def _as_read(session: Session, read: CalendarConnection, grant: Secret) -> CalendarConnection | None:
    """The row of the connection ``read`` (detached, as the provider left it), locked, with the
    tokens the provider refreshed copied in; None when the connection was removed or connected
    again while it was being read (the new grant is kept, and this read counts for nothing)."""
    row = session.get(CalendarConnection, read.id, with_for_update=True)
    if row is None or row.refresh_token != grant:
        return None
    row.refresh_token, row.access_token = read.refresh_token, read.access_token
    row.token_cache, row.expires_at = read.token_cache, read.expires_at
    return row
