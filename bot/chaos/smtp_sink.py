"""The mail server of the run: an SMTP sink on loopback that refuses at random and keeps the rest.

The product's SMTP settings (``EMAIL_BACKEND=smtp``, ``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_SECURITY``)
point at it. At DATA it answers, at the rates asked for, ``451`` (try again later: the product
retries) or ``554`` (never: the product fails the delivery for good), and otherwise accepts. Every
answer is recorded with the message's Message-ID and recipients: accepted messages are what the
users received (two for one delivery is a duplicate, whatever their Message-IDs), refusals are what
justifies a delivery failed for good. ``aiosmtpd`` (a development dependency) runs it on a thread.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from typing import Any

from bot.chaos.options import FaultRates
from bot.chaos.ports import free_port

TEMPORARY = "451 4.3.0 chaos: mailbox busy, try again later"
PERMANENT = "554 5.7.1 chaos: message refused"


@dataclass(frozen=True)
class MailEvent:
    """One DATA transaction: accepted (``code`` 250) or refused."""

    message_id: str
    recipients: tuple[str, ...]
    code: int
    at: float  # time.monotonic()


class SmtpSink:
    def __init__(self, *, rates: FaultRates, seed: int) -> None:
        self._rates = rates
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.events: list[MailEvent] = []
        #: Cleared once the run calms down: from then on every message is accepted.
        self.faulty = threading.Event()
        self.faulty.set()
        self.port = free_port()
        self._controller: Any = None

    def start(self) -> None:
        try:
            from aiosmtpd.controller import Controller
        except ImportError:  # pragma: no cover - a production install
            raise RuntimeError("the chaos run needs the development dependencies (pip install -e '.[dev]'): "
                               "its SMTP sink is aiosmtpd") from None
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=True)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw: bytes = envelope.original_content or envelope.content
        headers = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
        message_id = str(headers.get("Message-ID") or "").strip()
        recipients = tuple(str(r).lower() for r in envelope.rcpt_tos)
        with self._lock:
            draw = self._rng.random() if self.faulty.is_set() else 1.0
            if draw < self._rates.smtp_5xx:
                reply, code = PERMANENT, 554
            elif draw < self._rates.smtp_5xx + self._rates.smtp_4xx:
                reply, code = TEMPORARY, 451
            else:
                reply, code = "250 2.0.0 OK", 250
            self.events.append(MailEvent(message_id, recipients, code, time.monotonic()))
        return reply

    def snapshot(self) -> list[MailEvent]:
        with self._lock:
            return list(self.events)
