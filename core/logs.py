"""Logging for every process: records that cannot be forged and carry no secret, whoever logs them.

:func:`configure_logging` (run by ``nbm`` before any command) installs one LogRecord factory, so each
record is made safe as it is created, before any handler sees it: ours, a library's, a platform's or
pytest's. A filter or formatter on our handler would miss the others, and escaping at each call would
miss the libraries, which log the most:

* **No secret at any level.** slack_sdk logs every Web API call at DEBUG, parameters and answer
  included: the OAuth code, the refresh token sent and the bot and refresh tokens received (a token
  rotation logs the old refresh token and both new tokens). Those lines stay, useful as they are,
  with every secret replaced by ``[redacted]``: the value of every secret setting (those the
  settings hide from their repr, and the password of a URL), anything shaped like a Slack token
  (``xoxb-…``, ``xoxe-…``, ``xapp-…``), and the value of a field named like a secret
  (``"refresh_token": "…"``, ``client_secret=…``, ``'code': '…'``, ``?ticket=…``).
* **One record, one line.** Text from outside (a lead's name, a Slack team's, an SMTP server's
  answer) may hold a line break, which would start a line that reads as a record of its own
  (``\\n2026-11-28 07:00:00 ERROR …``). The message is rendered once and its control characters are
  escaped (a line feed becomes the two characters ``\\n``); a traceback, redacted too, keeps its
  lines but each is indented, so no line but a record's first starts at the left margin.
"""

from __future__ import annotations

import base64
import logging
import re
import sys
import traceback
from collections.abc import Iterable
from dataclasses import fields, is_dataclass
from typing import Any
from urllib.parse import urlsplit

from core.config import Settings
from core.names import UNSAFE

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[redacted]"
#: Libraries that narrate at INFO what an operator does not need: ``nbm db`` prints its own summary,
#: and pgserver reports every pg_ctl call.
QUIET = ("alembic", "pgserver")

#: Slack tokens: bot, user, app-level, refresh and rotated ones (``xoxe.xoxb-1-…``).
_SLACK_TOKEN = re.compile(r"\b(?:xox[a-z](?:\.xox[a-z])?|xapp)-[A-Za-z0-9-]+")
#: The value after a field named like a secret, in a dict's repr (a parsed query's lists too), JSON, a
#: query string or ``key: value``. An OAuth ``code`` and a Socket Mode URL's ``ticket`` only as a
#: quoted key or a query parameter, so that "status code: 200" stays readable.
_SECRET_FIELD = re.compile(
    r"""(?P<key>(?:(?<=['"?&])(?:code|ticket)|\b[a-z_]*(?:token|secret|password))\b['"]?\s*[:=]\s*\[?['"]?)"""
    r"""[^'"&,;\s\]}]+""",
    re.IGNORECASE,
)


def configure_logging(settings: Settings) -> None:
    """Log to stderr at ``LOG_LEVEL``, every record made safe (see the module docstring)."""
    install_safe_records(secret_values(settings))
    logging.basicConfig(level=settings.log_level, stream=sys.stderr, format=FORMAT)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def secret_values(settings: Settings) -> list[str]:
    """The texts a secret setting may show up as in a log: every setting the settings hide from their
    repr (core.config's mark of a secret), and the password inside any URL."""
    values: list[str] = []
    for setting in fields(settings):
        value = getattr(settings, setting.name)
        if not setting.repr:
            values += _texts(value)
        elif isinstance(value, str) and "://" in value and urlsplit(value).password:
            values.append(str(urlsplit(value).password))
    return [value for value in values if value]


def _texts(value: object) -> list[str]:
    """``value`` as text: a string itself, bytes (key material) in base64, the hidden fields of a
    dataclass (an encryption key's material), each item of a tuple."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, bytes):
        return [base64.b64encode(value).decode()]
    if isinstance(value, tuple | list):
        return [text for item in value for text in _texts(item)]
    if is_dataclass(value):
        return [text for field in fields(value) if not field.repr for text in _texts(getattr(value, field.name))]
    return []


class SafeRecords:
    """A LogRecord factory wrapping ``base`` (the factory it replaces) that makes each record safe."""

    def __init__(self, base: Any, secrets: Iterable[str]) -> None:
        self.base = base
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted(set(secrets), key=len, reverse=True)

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = self.base(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the message: the handler reports it, as logging does
            return record
        record.msg, record.args = escape(self.redact(message)), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.continuation("".join(traceback.format_exception(*record.exc_info)))
        if record.stack_info:
            record.stack_info = self.continuation(record.stack_info)
        return record

    def redact(self, text: str) -> str:
        text = _SECRET_FIELD.sub(lambda match: match["key"] + REDACTED, text)
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return _SLACK_TOKEN.sub(REDACTED, text)

    def continuation(self, text: str) -> str:
        """Lines that follow a record's first: redacted, escaped within each line, each indented."""
        return "\n".join("    " + escape(line) for line in self.redact(text).rstrip("\n").split("\n"))


def escape(text: str) -> str:
    """``text`` with each control character written as its escape (``\\n``, ``\\x1b``, ``\\u2028``)."""
    return UNSAFE.sub(lambda match: ascii(match[0])[1:-1], text)


def install_safe_records(secrets: Iterable[str]) -> None:
    """Make every record from now on safe. Installing again replaces the secrets rather than wrapping
    the factory once more (``nbm`` configures logging on every command, and tests run many)."""
    current = logging.getLogRecordFactory()
    base = current.base if isinstance(current, SafeRecords) else current
    logging.setLogRecordFactory(SafeRecords(base, secrets))
