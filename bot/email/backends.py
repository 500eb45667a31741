"""Where emails go: an SMTP server, or the development outbox. ``EMAIL_BACKEND`` chooses.

* :class:`SmtpBackend` speaks to any provider: implicit TLS (``ssl``, usually port 465),
  ``starttls`` (usually 587) or plain (``none``, for a local relay), logging in when
  ``SMTP_USERNAME`` is set. A temporary failure (a 4xx reply, a refused or dropped connection, a
  timeout) is retried with back-off; a permanent one (5xx, a TLS certificate that does not verify,
  a server without STARTTLS) is not, since trying again cannot help. Once the server has accepted
  the message, nothing is retried: a failed goodbye (an odd reply to ``QUIT``, a dropped
  connection) must not mail the user a second copy. Only SMTP and network errors are sorted; any
  other exception is a bug and propagates as itself. The wait is injected so tests do not sleep.
* **The process's own backend keeps its connection.** :func:`get_backend` (without settings) hands
  every caller of a process one backend, which keeps its SMTP session open between messages (one
  connection, TLS handshake and login per worker instead of one per email; at most
  :data:`KEEP_ALIVE_SECONDS` idle, and never across a fork). A kept session the server has closed
  in the meantime fails on its first command, before any message went out: a temporary failure on
  a kept session is tried again at once on a fresh connection, as a kept session is never trusted
  twice. The TLS context (the system's certificate store, read from disk) is made once per backend,
  and only when TLS is used.
* :class:`OutboxBackend` writes each message as an ``.eml`` file under ``NBM_DATA_DIR/outbox``,
  where ``/dev/outbox`` shows it. It is the default, so a development machine never mails anyone.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import smtplib
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Protocol

from bot.email.messages import OutgoingEmail
from core.clock import utcnow
from core.config import Settings, get_settings
from core.errors import NotFound
from core.outbound import client_context

log = logging.getLogger(__name__)

#: Seconds to wait before the second, third and fourth attempts.
RETRY_DELAYS: tuple[float, ...] = (2.0, 10.0, 30.0)
#: Seconds a kept SMTP session may stay idle before it is closed rather than used (servers wait at
#: least five minutes for a command, RFC 5321 4.5.3.2.7; many providers less).
KEEP_ALIVE_SECONDS = 60.0

#: What backends send: a message written for the wire, or one the email package built.
Message = OutgoingEmail | EmailMessage


class SendFailed(Exception):
    """The message was not sent. ``temporary``: the same message may succeed later."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


class EmailBackend(Protocol):
    name: str

    def send(self, message: Message) -> None:
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
        keep_alive: bool = False,
    ) -> None:
        if security not in ("starttls", "ssl", "none"):
            raise ValueError(f"security must be starttls, ssl or none; got {security!r}")
        self.host, self.port, self.security, self.timeout = host, port, security, timeout
        self._username, self._password = username, password
        self._retry_delays = tuple(retry_delays)
        self._wait = wait
        self._ssl_context = ssl_context
        self._keep_alive = keep_alive
        self._kept: _Kept | None = None
        self._lock = threading.Lock()  # one session, one message at a time (the web app sends from threads)

    def __repr__(self) -> str:
        return f"SmtpBackend({self.host}:{self.port}, {self.security})"

    def send(self, message: Message) -> None:
        attempts = len(self._retry_delays) + 1
        with self._lock:
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
                    log.warning("SMTP %s:%s failed temporarily (%s); retrying in %ss", self.host, self.port, error,
                                delay)
                    self._wait(delay)

    def close(self) -> None:
        """End a kept session (a worker that stops says goodbye instead of dropping the line)."""
        with self._lock:
            kept, self._kept = self._kept, None
            if kept is not None and kept.pid == os.getpid():
                _say_goodbye(kept.client)

    def _send_once(self, message: Message) -> None:
        kept = self._take_kept()
        if kept is not None:
            try:
                _transmit(kept, message)
            except (smtplib.SMTPException, OSError) as error:
                kept.close()
                if not is_temporary(error):
                    raise
                log.info("the kept SMTP session to %s:%s failed (%s); sending on a fresh one", self.host, self.port,
                         error)
            except BaseException:
                kept.close()
                raise
            else:
                self._keep(kept)
                return
        client = self._connect()
        try:
            _transmit(client, message)
        except BaseException:
            client.close()
            raise
        if self._keep_alive:
            self._keep(client)
        else:
            _say_goodbye(client)

    def _connect(self) -> smtplib.SMTP:
        client: smtplib.SMTP
        if self.security == "ssl":
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._context())
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                client.starttls(context=self._context())
            if self._username:
                client.login(self._username, self._password or "")
        except BaseException:
            client.close()
            raise
        return client

    def _context(self) -> ssl.SSLContext:
        """The TLS context given, or the process's one (:func:`core.outbound.client_context`)."""
        return self._ssl_context or client_context()

    def _take_kept(self) -> smtplib.SMTP | None:
        """The kept session, unless it idled too long or belongs to the process this one was forked from."""
        kept, self._kept = self._kept, None
        if kept is None or kept.pid != os.getpid():
            return None  # a parent's socket: left alone, never written to
        if time.monotonic() - kept.since > KEEP_ALIVE_SECONDS:
            _say_goodbye(kept.client)
            return None
        return kept.client

    def _keep(self, client: smtplib.SMTP) -> None:
        self._kept = _Kept(client, os.getpid(), time.monotonic())


@dataclass(frozen=True)
class _Kept:
    client: smtplib.SMTP
    pid: int
    since: float


def _transmit(client: smtplib.SMTP, message: Message) -> None:
    if not isinstance(message, OutgoingEmail):
        client.send_message(message)
        return
    data, options = message.data, []
    if message.eight_bit:
        client.ehlo_or_helo_if_needed()
        if client.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        elif message.seven_bit is not None:
            data = message.seven_bit()  # a server without 8BITMIME gets the quoted-printable writing
    client.sendmail(message.sender, list(message.recipients), data, mail_options=options)


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

    def send(self, message: Message) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        entry_id = f"{utcnow():%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(4)}"
        partial = self.directory / f".{entry_id}.part"
        data = message.data if isinstance(message, OutgoingEmail) else message.as_bytes(policy=policy.SMTP)
        partial.write_bytes(data)
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
    """The backend ``EMAIL_BACKEND`` names: without ``settings``, this process's own (the same object on
    every call while the settings stay the same; an SMTP one keeps its session, module rules); with
    them, a new one configured from them."""
    if settings is not None:
        return _backend_for(settings, keep_alive=False)
    global _shared
    current, shared = get_settings(), _shared
    if shared is None or shared[0] is not current:
        shared = _shared = (current, _backend_for(current, keep_alive=True))
    return shared[1]


_shared: tuple[Settings, EmailBackend] | None = None


def _backend_for(settings: Settings, *, keep_alive: bool) -> EmailBackend:
    if settings.email_backend == "smtp":
        return SmtpBackend(
            host=settings.smtp_host, port=settings.smtp_port, security=settings.smtp_security,
            username=settings.smtp_username, password=settings.smtp_password, timeout=settings.smtp_timeout,
            keep_alive=keep_alive,
        )
    return OutboxBackend(outbox_directory(settings))
