"""Where emails go: an SMTP server, or the development outbox. ``EMAIL_BACKEND`` chooses.

* :class:`SmtpBackend` speaks to any provider: implicit TLS (``ssl``, usually port 465),
  ``starttls`` (usually 587) or plain (``none``, for a local relay), logging in when
  ``SMTP_USERNAME`` is set. A temporary failure (a 4xx reply, a refused or dropped connection, a
  timeout) is retried with back-off; a permanent one (5xx, a TLS certificate that does not verify,
  a server without STARTTLS) is not, since trying again cannot help. Once the server has accepted
  the message, nothing is retried: a failed goodbye (an odd reply to ``QUIT``, a dropped
  connection) must not mail the user a second copy. Only SMTP and network errors are sorted; any
  other exception is a bug and propagates as itself. The wait is injected so tests do not sleep.
* :class:`OutboxBackend` writes each message as an ``.eml`` file under ``NBM_DATA_DIR/outbox``,
  where ``/dev/outbox`` shows it. It is the default, so a development machine never mails anyone.
"""

from __future__ import annotations

import logging
import re
import secrets
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Protocol

from core.clock import utcnow
from core.config import Settings, get_settings
from core.errors import NotFound

log = logging.getLogger(__name__)

#: Seconds to wait before the second, third and fourth attempts.
RETRY_DELAYS: tuple[float, ...] = (2.0, 10.0, 30.0)


class SendFailed(Exception):
    """The message was not sent. ``temporary``: the same message may succeed later."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


class EmailBackend(Protocol):
    name: str

    def send(self, message: EmailMessage) -> None:
        """Hand ``message`` over for delivery, or raise :class:`SendFailed`."""


def is_temporary(error: smtplib.SMTPException | OSError) -> bool:
    """Whether an SMTP failure may go away by itself (RFC 5321: 4xx is transient, 5xx is not).

    A TLS failure is permanent (a certificate that does not verify stays that way); a network failure
    (refused, reset, timed out, dropped) is temporary.
    """
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    if isinstance(error, ssl.SSLError):
        return False
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return True
    return not isinstance(error, smtplib.SMTPException)


class SmtpBackend:
    name = "smtp"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 20,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        wait: Callable[[float], None] = time.sleep,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in ("starttls", "ssl", "none"):
            raise ValueError(f"security must be starttls, ssl or none; got {security!r}")
        self.host, self.port, self.security, self.timeout = host, port, security, timeout
        self._username, self._password = username, password
        self._retry_delays = tuple(retry_delays)
        self._wait = wait
        self._ssl_context = ssl_context

    def __repr__(self) -> str:
        return f"SmtpBackend({self.host}:{self.port}, {self.security})"

    def send(self, message: EmailMessage) -> None:
        attempts = len(self._retry_delays) + 1
        for attempt in range(1, attempts + 1):
            try:
                self._send_once(message)
                return
            except (smtplib.SMTPException, OSError) as error:  # ssl.SSLError is an OSError
                temporary = is_temporary(error)
                if not temporary or attempt == attempts:
                    raise SendFailed(
                        f"could not send email through {self.host}:{self.port} "
                        f"(attempt {attempt} of {attempts}): {error}",
                        temporary=temporary,
                    ) from error
                delay = self._retry_delays[attempt - 1]
                log.warning("SMTP %s:%s failed temporarily (%s); retrying in %ss", self.host, self.port, error, delay)
                self._wait(delay)

    def _send_once(self, message: EmailMessage) -> None:
        context = self._ssl_context or ssl.create_default_context()
        client: smtplib.SMTP
        if self.security == "ssl":
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                client.starttls(context=context)
            if self._username:
                client.login(self._username, self._password or "")
            client.send_message(message)
        except BaseException:
            client.close()
            raise
        _say_goodbye(client)


def _say_goodbye(client: smtplib.SMTP) -> None:
    """End a session whose message was accepted; whatever the server answers now, the message is sent.

    ``with smtplib.SMTP()`` would raise on a ``QUIT`` reply other than 221, and the retry would then
    deliver the same message again.
    """
    try:
        client.quit()
    except (smtplib.SMTPException, OSError) as error:
        log.info("SMTP session ended uncleanly after the message was accepted (%s)", error)
        client.close()


@dataclass(frozen=True)
class OutboxEntry:
    id: str
    subject: str
    to: str
    date: str


_ENTRY_ID = re.compile(r"^[0-9TZ]+-[0-9a-f]{8}$")


class OutboxBackend:
    """Messages kept as files, newest first; nothing leaves the machine."""

    name = "outbox"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        entry_id = f"{utcnow():%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(4)}"
        partial = self.directory / f".{entry_id}.part"
        partial.write_bytes(message.as_bytes(policy=policy.SMTP))
        partial.rename(self.directory / f"{entry_id}.eml")

    def entries(self) -> list[OutboxEntry]:
        if not self.directory.is_dir():
            return []
        entries = []
        for path in sorted(self.directory.glob("*.eml"), reverse=True):
            message = self._parse(path)
            entries.append(OutboxEntry(id=path.stem, subject=str(message["Subject"] or ""),
                                       to=str(message["To"] or ""), date=str(message["Date"] or "")))
        return entries

    def read(self, entry_id: str) -> EmailMessage:
        path = self.directory / f"{entry_id}.eml"
        if not _ENTRY_ID.match(entry_id) or not path.is_file():
            raise NotFound("there is no such message in the outbox")
        return self._parse(path)

    @staticmethod
    def _parse(path: Path) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(path.read_bytes())


def outbox_directory(settings: Settings) -> Path:
    return settings.data_dir / "outbox"


def get_backend(settings: Settings | None = None) -> EmailBackend:
    """The backend ``EMAIL_BACKEND`` names, configured from the environment."""
    settings = settings or get_settings()
    if settings.email_backend == "smtp":
        return SmtpBackend(
            host=settings.smtp_host, port=settings.smtp_port, security=settings.smtp_security,
            username=settings.smtp_username, password=settings.smtp_password, timeout=settings.smtp_timeout,
        )
    return OutboxBackend(outbox_directory(settings))
