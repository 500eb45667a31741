"""Telling the channels that a user's actions changed, once the change is committed.

A plan is shown in several places (the Slack plan DM and App Home, the email result page). A
change made in one of them, or from the CLI, must reach the others. Core cannot call Slack, so
``bot/`` registers listeners at start-up (:func:`bot.channels.register_all`), the same way it
registers the morning senders. A listener runs after the commit and its failure is logged, never
raised: the person's change is saved and answered whatever a redraw elsewhere does.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from functools import partial

from sqlalchemy.orm import Session

from core.db import after_commit
from core.models import Channel

log = logging.getLogger(__name__)

#: ``listener(user_id, channel)``: ``channel`` is where the change came from.
Listener = Callable[[uuid.UUID, Channel], None]

_LISTENERS: list[Listener] = []


def on_actions_changed(listener: Listener) -> None:
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)


def actions_changed(session: Session, *, user_id: uuid.UUID, channel: Channel) -> None:
    """Call every listener once the unit of work that owns ``session`` has committed."""
    for listener in list(_LISTENERS):
        after_commit(session, partial(_safely, listener, user_id, channel))


def _safely(listener: Listener, user_id: uuid.UUID, channel: Channel) -> None:
    try:
        listener(user_id, channel)
    except Exception:
        log.exception("listener %s failed after a change for user %s", getattr(listener, "__name__", listener), user_id)
