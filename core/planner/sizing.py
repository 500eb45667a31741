"""A plan made on demand for today is sized by the calendar, as the morning's is.

The morning plans only users with no plan yet and never overwrites one, so a plan made before it
(a lead added, App Home opened, ``/nbm today``, ``nbm plan``) is the day's plan. Rules:

* **Read as the morning reads.** When today's plan may be made, the user's connected calendars are
  read first with the morning's own reader, :func:`core.calendars.morning.free_minutes_for_users`:
  the same working window, retries and ``CALENDAR_BUDGET``, and the same fallback (a calendar that
  fails, or is not read in time, means ``default`` capacity that day, logged). Two users with the
  same calendar get the same plan whether they or the morning made it.
* **Only when a plan may be made.** Nothing is read when today's plan exists, when no calendar is
  connected, when the user has no service (no plan is made for them: ``core.billing.status``), or
  for another day's plan; nor for a request refused by what can be checked without the plan (a
  ``check`` the request gives :func:`planning_as_user`, run just before a read would start). A
  refresh keeps the minutes its plan was made with (``core.planner.service``): a plan the user has
  seen does not change size under them, and adding a lead does not wait on a provider.
* **No transaction open while a provider answers**, as in the morning: the read runs before the
  unit of work that makes the plan (and in Slack after the ack); the read's outcome (the
  connection's health, its log) is kept in short units of work of its own.
* **The minutes are for the date they were read for**: a request that straddles the user's
  midnight makes the new day's plan at ``default`` rather than with the old day's minutes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from core.access import has_service
from core.calendars.morning import free_minutes_for_users
from core.clock import local_today, utcnow
from core.db import unit_of_work
from core.models import User
from core.planner.batch import existing_plans
from core.users import acting_as_user, get_user


@dataclass(frozen=True)
class CalendarDay:
    """What the user's calendars left free on their local ``day`` (None: a calendar failed or was not
    read in time, so ``default``), read before the unit of work that may make that day's plan."""

    day: date
    free_minutes: int | None

    def minutes_on(self, day: date) -> int | None:
        """The free minutes for a plan of ``day``: only the day they were read for has any."""
        return self.free_minutes if day == self.day else None


@dataclass(frozen=True)
class DayToRead:
    """A user whose plan for their local ``day`` may be made now, with a calendar to read first;
    ``at`` is the instant that ``day`` is today at, the one the read is for."""

    user_id: uuid.UUID
    day: date
    at: datetime


#: What a request checks of itself before a calendar is read for it: raises to refuse it.
Check = Callable[[Session, User], object]


def calendar_to_read(user_id: uuid.UUID, *, day: date | None = None, check: Check | None = None) -> DayToRead | None:
    """What to read before a request that may make the user's plan of ``day`` (default today); None
    when nothing is (module rules): ``day`` is another day, no calendar is connected, today's plan
    exists, or the user has no service. When there is something to read, ``check`` runs first, in
    the same unit of work: what it raises refuses the request before any calendar is read. One short
    unit of work, and no provider asked: a Slack form may ask it before its ack."""
    at = utcnow()
    with unit_of_work(user_id=user_id) as session:
        user = get_user(session, user_id)
        today = local_today(user.timezone, at=at)
        if (day not in (None, today) or not user.calendar_connected
                or existing_plans(session, days={user_id: today}) or not has_service(session, user_id)):
            return None
        if check is not None:
            check(session, user)
    return DayToRead(user_id, today, at)


def read_calendar(to_read: DayToRead) -> CalendarDay:
    """The user's calendars read for ``to_read`` as the morning reads them (module rules). Call it with
    no unit of work open, and in Slack after the ack: it may wait ``CALENDAR_BUDGET`` seconds."""
    found = free_minutes_for_users([to_read.user_id], at=to_read.at)
    return CalendarDay(to_read.day, found.get(to_read.user_id))


@contextmanager
def planning_as_user(
    user_id: uuid.UUID, *, day: date | None = None, check: Check | None = None,
) -> Iterator[tuple[Session, User, CalendarDay | None]]:
    """:func:`core.users.acting_as_user` for a request that may make the plan of ``day`` (default
    today), with the user's calendars read first when :func:`calendar_to_read` says so (None
    otherwise), before the unit of work opens. ``check`` is the part of the request's own checks
    that needs no plan: it runs before a read, so a request it refuses waits on no calendar (the
    request runs it again in its unit of work, where it acts)."""
    to_read = calendar_to_read(user_id, day=day, check=check)
    calendar = read_calendar(to_read) if to_read is not None else None
    with acting_as_user(user_id) as (session, user):
        yield session, user, calendar
