"""Telling a user, once, that a calendar connection needs reconnecting.

An expired grant or a reset iCal address cannot be fixed by retrying: until the user reconnects,
their next plans use the default capacity, or the capacity they set for a day (today's, if made
already, keeps its size), as the sentence they are told says it
(``core.calendars.plans_sized.needs_reconnecting``). They are told once per expiry
(``expired_notified_at`` is set in the same transaction that marks the connection expired;
reconnecting clears it), after the commit, by the channels ``bot/`` registers (a Slack DM with a
Reconnect button, else an email).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from functools import partial

from sqlalchemy.orm import Session

from core.clock import utcnow
from core.db import after_commit
from core.models import CalendarConnection, CalendarProvider

log = logging.getLogger(__name__)

#: ``listener(user_id, provider)`` returns True when it reached the user (the next one is then not tried).
Listener = Callable[[uuid.UUID, CalendarProvider], bool]

_LISTENERS: list[Listener] = []


def on_calendar_expired(listener: Listener) -> None:
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def tell_expired(session: Session, *, connection: CalendarConnection) -> None:
    """Record that the user is told about ``connection``'s expiry, and tell them after the commit (once)."""
    if connection.expired_notified_at is not None:
        return
    connection.expired_notified_at = utcnow()
    session.flush()
    after_commit(session, partial(_tell, connection.user_id, connection.provider))


def _tell(user_id: uuid.UUID, provider: CalendarProvider) -> None:
    for listener in list(_LISTENERS):
        try:
            if listener(user_id, provider):
                return
        except Exception:
            log.exception("telling user %s that their %s calendar expired failed", user_id, provider.value)
