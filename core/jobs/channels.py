"""How a core job hands a delivery to a channel, without core importing bot/.

``bot/`` registers one sender per (kind, channel) at start-up (:func:`bot.channels.register_all`);
the delivery job looks the sender up here. A sender works in two steps: it composes inside the job's
unit of work, and what it returns sends once that unit has committed (:mod:`core.jobs.attempts`). A
sender receives the delivery's id as an idempotency key: the same delivery retried after a crash
must not produce a second message (email reuses the Message-ID derived from it; Slack looks for a
message already carrying it before posting).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Protocol

from sqlalchemy.orm import Session

from core.errors import ValidationError
from core.models import Channel, DeliveryKind

#: Sends a composed delivery, once the unit of work that composed it has committed; returns the
#: external id (email Message-ID, or Slack ``channel:ts``).
Send = Callable[[], str]


class Sender(Protocol):
    def __call__(self, session: Session, *, user_id: uuid.UUID, period: date, delivery_id: uuid.UUID) -> Send:
        """Compose the delivery in ``session``, a unit of work in the user's own context (building
        what is missing), and return what sends it: nothing goes out before that unit commits."""


class TemporaryDeliveryError(Exception):
    """Worth retrying later: SMTP 4xx or connection errors, Slack 5xx or rate limits."""


class PermanentDeliveryError(Exception):
    """Retrying will not help (account_inactive, channel_not_found, a refused recipient)."""


class ChannelOff(ValidationError):
    """The user has the delivery's channel off (turned off, unsubscribed), so it is not owed: a sender
    raises it as it composes, and the job gives its claim back rather than failing it
    (``core.jobs.tasks``), so that it goes out if the channel is back on while it is still owed."""


_SENDERS: dict[tuple[DeliveryKind, Channel], Sender] = {}


def register_sender(kind: DeliveryKind, channel: Channel, sender: Sender) -> None:
    _SENDERS[(kind, channel)] = sender


def sender_for(kind: DeliveryKind, channel: Channel) -> Sender:
    try:
        return _SENDERS[(kind, channel)]
    except KeyError:
        raise PermanentDeliveryError(
            f"no sender for {kind.value} on {channel.value}: is this process set up with bot.channels.register_all()?"
        ) from None


def registered_channels() -> frozenset[Channel]:
    """Channels this process can deliver on (Slack only when Slack is configured)."""
    return frozenset(channel for _, channel in _SENDERS)
