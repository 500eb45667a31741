"""What every calendar provider offers the rest of the product, and how a read can fail.

A provider reads the busy intervals of one connection between two instants, and (for call
detection, where the grant allows it) the meetings in it and who attends them. It never decides what
they mean for the plan (``core.calendars.freetime`` does) and never writes the database: the
service (``core.calendars.service``) records the outcome, marks expired connections and logs each
read in ``calendar_sync_logs``. Errors say what the product must do next:

* :class:`CalendarExpired`: the grant or address is gone for good (``invalid_grant``, AADSTS700082,
  an iCal address answering 404 or 410): mark the connection ``expired``, tell the user once.
* :class:`CalendarUnavailable`: a temporary failure (5xx, a timeout, 429, a per-calendar error in
  a 200): retried with back-off, then the connection is marked ``error`` for that read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from core.models import CalendarConnection, CalendarProvider


@dataclass(frozen=True, order=True)
class Interval:
    """A busy span of time, both ends timezone-aware, ``start < end``."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Meeting:
    """A timed event someone else attends: ``key`` is the provider's id for it (for one occurrence
    of a recurring event, that occurrence's), stable when the event is moved; ``attendees`` are the
    lower-case email addresses of the other people invited (the organiser included)."""

    key: str
    start: datetime
    attendees: frozenset[str]


class CalendarExpired(Exception):
    """The connection cannot be read again until the user reconnects; ``reason`` says why (no secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CalendarUnavailable(Exception):
    """A temporary failure; ``reason`` says what happened (no secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Provider(Protocol):
    """One kind of calendar connection."""

    kind: CalendarProvider

    def busy(self, connection: CalendarConnection, *, start: datetime, end: datetime,
             timeout: float) -> list[Interval]:
        """The busy intervals overlapping ``[start, end)``, as the provider reports them (unmerged).

        May refresh the connection's tokens in place (the caller commits them). Raises
        CalendarExpired or CalendarUnavailable; must return or raise within ``timeout`` seconds.
        """
        ...

    def meetings(self, connection: CalendarConnection, *, start: datetime, end: datetime,
                 timeout: float) -> list[Meeting]:
        """The meetings starting in ``[start, end)`` that the owner has not declined, cancelled ones and
        all-day events left out. Only called for a connection whose grant ``reads_events``; raises and
        refreshes as :meth:`busy` does.
        """
        ...
