"""Turning a rendered email into a message a mail server and a mail client both accept.

Every message is ``multipart/alternative`` (plain text first, HTML second, so clients prefer the
HTML and screen readers and text-only clients still get a readable part) and carries:

* ``From``: ``EMAIL_FROM``, the same on every message so filters and reputation stick to it;
* ``Message-ID`` on the domain of ``EMAIL_FROM``, and ``Date`` in UTC. A delivery's retry reuses
  the Message-ID derived from the delivery's id, so a message sent twice after a crash is one
  message to the receiving servers and clients that de-duplicate on it;
* ``List-Unsubscribe`` with the signed unsubscribe URL and ``List-Unsubscribe-Post:
  List-Unsubscribe=One-Click`` (RFC 8058), which Gmail and Yahoo require of bulk senders. The URL is
  written literally on the header's own line (:class:`LiteralHeader`), never as encoded-words;
* ``List-Id`` (RFC 2919): ``NextBestMove <nextbestmove.DOMAIN>`` on the domain of ``EMAIL_FROM``. The
  digest and the summary share it because they share one subscription: one switch in the preferences
  and one unsubscribe turn both off. Filters and mailbox providers recognise the mail by it;
* ``Auto-Submitted: auto-generated`` (RFC 3834) so out-of-office robots do not answer.
"""

from __future__ import annotations

import uuid
from email.headerregistry import BaseHeader, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from typing import Self

from bot.email.render import RenderedEmail
from core.clock import utcnow
from core.errors import ConfigError


def sender_domain(email_from: str) -> str:
    """The domain of ``EMAIL_FROM`` (``plan@example.com`` → ``example.com``), for Message-IDs."""
    address = parseaddr(email_from)[1]
    local, _, domain = address.rpartition("@")
    if not local or not domain or "." not in domain:
        raise ConfigError(f"EMAIL_FROM must be an address like 'NextBestMove <plan@example.com>'; got {email_from!r}")
    return domain


def message_id_for(delivery_id: uuid.UUID, *, email_from: str) -> str:
    """The stable Message-ID of one delivery (the same on every retry)."""
    return f"<nbm-{delivery_id}@{sender_domain(email_from)}>"


class LiteralHeader(UnstructuredHeader, BaseHeader):
    """A header written exactly as given, on one line: RFC 2369 and RFC 8058 want ``<https://…>``.

    Python's email policies fold a header they cannot break at whitespace within 78 characters into
    RFC 2047 encoded-words, and a signed URL has no whitespace: ``List-Unsubscribe: =?utf-8?q?=3Chttps…``
    is no unsubscribe link to Gmail or Yahoo. One line of up to 998 characters is what RFC 5322 allows.
    The header object carries this itself, so every generator that writes the message (``smtplib``'s,
    the outbox's) keeps it.
    """

    def __new__(cls, name: str, value: str) -> Self:
        """Only printable ASCII: the email package skips its line-break check for a ready-made header, and a
        line break written literally would start a header of its own."""
        if not (value.isascii() and value.isprintable()):
            raise ValueError(f"the {name} header must be one line of printable ASCII; got {value!r}")
        return super().__new__(cls, name, value)

    def fold(self, *, policy: Policy) -> str:
        return f"{self.name}: {self}{policy.linesep}"


def list_id(email_from: str) -> str:
    """The ``List-Id`` of every email: ``NextBestMove <nextbestmove.example.com>`` for ``plan@example.com``."""
    return f"NextBestMove <nextbestmove.{sender_domain(email_from)}>"


def build_message(
    rendered: RenderedEmail,
    *,
    to_name: str,
    to_address: str,
    email_from: str,
    unsubscribe_url: str,
    message_id: str | None = None,
) -> EmailMessage:
    """The message; ``message_id`` defaults to a fresh unique one."""
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = email_from
    message["To"] = formataddr((to_name, to_address))
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id or make_msgid(domain=sender_domain(email_from))
    message["List-Id"] = LiteralHeader("List-Id", list_id(email_from))
    message["List-Unsubscribe"] = LiteralHeader("List-Unsubscribe", f"<{unsubscribe_url}>")
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message
