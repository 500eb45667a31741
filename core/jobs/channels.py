"""How a core job hands a delivery to a channel, without core importing bot/.

``bot/`` registers one sender per (kind, channel) at start-up (:func:`bot.channels.register_all`);
the delivery job looks the sender up here. A sender receives the delivery's id as an idempotency
key: the same delivery retried after a crash must not produce a second message (email reuses the
Message-ID derived from it; Slack looks for a message already carrying it before posting).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Protocol

from core.models import Channel, DeliveryKind


class Sender(Protocol):
    def __call__(self, *, user_id: uuid.UUID, period: date, delivery_id: uuid.UUID) -> str:
        """Send, and return the external id (email Message-ID, or Slack ``channel:ts``)."""


class TemporaryDeliveryError(Exception):
    """Worth retrying later: SMTP 4xx or connection errors, Slack 5xx or rate limits."""


class PermanentDeliveryError(Exception):
    """Retrying will not help (account_inactive, channel_not_found, a refused recipient)."""


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
