"""Turning a rendered email into a message a mail server and a mail client both accept.

Every message is ``multipart/alternative`` (plain text first, HTML second, so clients prefer the
HTML and screen readers and text-only clients still get a readable part) and carries:

* ``From``: ``EMAIL_FROM``, the same on every message so filters and reputation stick to it;
* ``Message-ID`` on the domain of ``EMAIL_FROM``, and ``Date`` in UTC. A delivery's retry reuses
  the Message-ID derived from the delivery's id, so a message sent twice after a crash is one
  message to the receiving servers and clients that de-duplicate on it;
* ``List-Unsubscribe`` with the signed unsubscribe URL and ``List-Unsubscribe-Post:
  List-Unsubscribe=One-Click`` (RFC 8058), which Gmail and Yahoo require of bulk senders;
* ``Auto-Submitted: auto-generated`` (RFC 3834) so out-of-office robots do not answer.
"""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr

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
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message
