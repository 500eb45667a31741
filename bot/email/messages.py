"""Turning a rendered email into a message a mail server and a mail client both accept.

Every message is ``multipart/alternative`` (plain text first, HTML second, so clients prefer the
HTML and screen readers and text-only clients still get a readable part) and carries:

* ``From``: ``EMAIL_FROM``, the same on every message so filters and reputation stick to it;
* ``Message-ID`` on the domain of ``EMAIL_FROM``, and ``Date`` in UTC. A delivery's retry reuses
  the Message-ID derived from the delivery's id, so a message sent twice after a crash is one
  message to the receiving servers and clients that de-duplicate on it;
* ``List-Unsubscribe`` with the signed unsubscribe URL and ``List-Unsubscribe-Post:
  List-Unsubscribe=One-Click`` (RFC 8058), which Gmail and Yahoo require of bulk senders. The URL is
  written literally on the header's own line, never as encoded-words;
* ``List-Id`` (RFC 2919): ``NextBestMove <nextbestmove.DOMAIN>`` on the domain of ``EMAIL_FROM``. The
  digest and the summary share it because they share one subscription: one switch in the preferences
  and one unsubscribe turn both off. Filters and mailbox providers recognise the mail by it;
* ``Auto-Submitted: auto-generated`` (RFC 3834) so out-of-office robots do not answer.

**Written, not assembled.** :func:`write_message` writes the wire bytes itself (CRLF lines: headers
as RFC 5322 and RFC 2047 want them, each part as it is, 7-bit or 8-bit UTF-8, when its lines are
within RFC 5322's 998 characters, else quoted-printable; a server that does not take 8-bit bodies
(no ``8BITMIME``) is sent the quoted-printable writing instead). Python's
``EmailMessage`` parses every header as it is set, encodes bodies in pure Python and refolds every
header again when it is written: about half of what composing a digest cost. The email package is
still the reference: :func:`build_message` (and :meth:`OutgoingEmail.parsed`) parse the written
bytes back into an ``EmailMessage``, and the tests read every header and part through it. An address
that is not ASCII is refused (``UnicodeEncodeError``), as ``formataddr`` refused it before.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from functools import lru_cache

from bot.email.render import RenderedEmail
from core.clock import utcnow
from core.config import email_from_domain

#: Longest header line written (RFC 5322 recommends 78 characters; 998 is the hard limit).
MAX_LINE = 78
#: Longest body line sent as it is (RFC 5322's limit); a part with a longer one is quoted-printable.
MAX_BODY_LINE = 998
#: Bytes of text per encoded-word: base64 of 45 bytes is 60 characters, 72 with ``=?utf-8?b?…?=``,
#: within RFC 2047's 75.
_WORD_BYTES = 45
#: What makes a plain word unfit to be written as itself in a header: not ASCII, a control
#: character, or what a reader would take for the start or end of an encoded-word.
_NEEDS_ENCODING = re.compile(r"[^\x20-\x7e]|=\?|\?=")
_LINE_BREAK = "Header values may not contain linefeed or carriage return characters"


def message_id_for(delivery_id: uuid.UUID, *, email_from: str) -> str:
    """The stable Message-ID of one delivery (the same on every retry)."""
    return f"<nbm-{delivery_id}@{email_from_domain(email_from)}>"


def _check_literal(name: str, value: str) -> None:
    """Only printable ASCII: a line break written literally would start a header of its own."""
    if not (value.isascii() and value.isprintable()):
        raise ValueError(f"the {name} header must be one line of printable ASCII; got {value!r}")


def list_id(email_from: str) -> str:
    """The ``List-Id`` of every email: ``NextBestMove <nextbestmove.example.com>`` for ``plan@example.com``."""
    return f"NextBestMove <nextbestmove.{email_from_domain(email_from)}>"


@dataclass(frozen=True)
class OutgoingEmail:
    """A message as it goes on the wire: its envelope and its bytes (CRLF line ends).

    ``eight_bit``: a part is 8-bit UTF-8, which a server takes with ``BODY=8BITMIME``; ``seven_bit()``
    writes the same message with such parts quoted-printable, for a server that does not.
    """

    message_id: str
    sender: str
    recipients: tuple[str, ...]
    data: bytes
    eight_bit: bool = False
    seven_bit: Callable[[], bytes] | None = field(default=None, compare=False, repr=False)

    def parsed(self) -> EmailMessage:
        """The message as the email package reads it (for previews and tests, not for sending), with
        ``\n`` line ends as a message built in memory has."""
        return BytesParser(policy=policy.default).parsebytes(self.data.replace(b"\r\n", b"\n"))


def build_message(
    rendered: RenderedEmail,
    *,
    to_name: str,
    to_address: str,
    email_from: str,
    unsubscribe_url: str,
    message_id: str | None = None,
) -> EmailMessage:
    """The message as an ``EmailMessage`` (parsed from what :func:`write_message` writes)."""
    return write_message(rendered, to_name=to_name, to_address=to_address, email_from=email_from,
                         unsubscribe_url=unsubscribe_url, message_id=message_id).parsed()


def write_message(
    rendered: RenderedEmail,
    *,
    to_name: str,
    to_address: str,
    email_from: str,
    unsubscribe_url: str,
    message_id: str | None = None,
) -> OutgoingEmail:
    """The message, written; ``message_id`` defaults to a fresh unique one.

    Raises ``ValueError`` for a header value holding a line break (as the email package does, with
    its words), or a ``List-*`` value that is not one line of printable ASCII.
    """
    domain = email_from_domain(email_from)
    message_id = message_id or make_msgid(domain=domain)
    sender = _address_of(email_from)
    for value in (rendered.subject, email_from, to_name, to_address, message_id):
        if "\r" in value or "\n" in value or len(value.splitlines()) > 1:
            raise ValueError(_LINE_BREAK)
    unsubscribe = f"<{unsubscribe_url}>"
    _check_literal("List-Id", list_id(email_from))
    _check_literal("List-Unsubscribe", unsubscribe)
    to_address.encode("ascii")  # an address must be ASCII (no SMTPUTF8 here): UnicodeEncodeError, a ValueError
    sender.encode("ascii")
    head = "".join((
        _header("Subject", _unstructured(rendered.subject)),
        _from_header(email_from),
        _header("To", _mailbox(to_name, to_address)),
        _date_header(utcnow().replace(microsecond=0)),
        _header("Message-ID", message_id),
        f"List-Id: {list_id(email_from)}\r\n",
        f"List-Unsubscribe: {unsubscribe}\r\n",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
        "Auto-Submitted: auto-generated\r\n",
        "MIME-Version: 1.0\r\n",
    )).encode("ascii")

    def written(eight_bit: bool) -> tuple[bytes, bool]:
        (text, text_8bit), (html, html_8bit) = (_part(rendered.text, "plain", eight_bit=eight_bit),
                                                _part(rendered.html, "html", eight_bit=eight_bit))
        boundary = _boundary(text, html).encode("ascii")
        return b"".join((
            head, b'Content-Type: multipart/alternative;\r\n boundary="', boundary, b'"\r\n\r\n',
            b"--", boundary, b"\r\n", text,
            b"\r\n--", boundary, b"\r\n", html,
            b"\r\n--", boundary, b"--\r\n",
        )), text_8bit or html_8bit

    data, eight_bit = written(eight_bit=True)
    return OutgoingEmail(message_id=message_id, sender=sender, recipients=(to_address,), data=data,
                         eight_bit=eight_bit, seven_bit=(lambda: written(eight_bit=False)[0]) if eight_bit else None)


def _part(content: str, subtype: str, *, eight_bit: bool) -> tuple[bytes, bool]:
    """One body part with its headers, and whether it is 8-bit: as it is (7-bit, or 8-bit if allowed)
    when every line is within :data:`MAX_BODY_LINE`, else quoted-printable.

    Lines end as the email package ends them (every line, the last one too, ends with a line break).
    """
    data = content.encode("utf-8")
    if b"\r" in data:  # rare: make every line end (CRLF, CR, LF) an LF first
        data = b"\n".join(data.splitlines())
    if not data.endswith(b"\n"):
        data += b"\n"
    body = data.replace(b"\n", b"\r\n")  # every line ends with CRLF, the last one too
    # Split and measured in C: a regular expression for "999 characters that are not a line break"
    # tries every starting point, and cost more than the rest of composing the digest.
    longest = max(map(len, data.split(b"\n")))
    if longest <= MAX_BODY_LINE and (eight_bit or body.isascii()):
        encoding = "7bit" if body.isascii() else "8bit"
    else:
        encoding = "quoted-printable"  # CRLF in, CRLF out (soft line breaks too)
        body = binascii.b2a_qp(body, quotetabs=False, istext=True, header=False)
    head = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n'
    return head.encode("ascii") + body, encoding == "8bit"


def _boundary(*parts: bytes) -> str:
    """A boundary no part contains (quoted-printable writes "=" as "=3D", so those never can)."""
    while True:
        boundary = f"=={secrets.token_hex(16)}=="
        if not any(boundary.encode() in part for part in parts):
            return boundary


def _header(name: str, value: str) -> str:
    """``Name: value``, folded before a space wherever a line would pass :data:`MAX_LINE` characters
    (unfolding removes only the line break, so the value reads back unchanged); a word longer than a
    line stays whole."""
    first, *words = value.split(" ")
    lines, line = [], f"{name}: {first}"
    for word in words:
        if word and len(line) + 1 + len(word) > MAX_LINE:
            lines.append(line)
            line = f" {word}"
        else:
            line = f"{line} {word}"
    return "\r\n".join([*lines, line]) + "\r\n"


@lru_cache(maxsize=1024)
def _unstructured(text: str) -> str:
    """Text for an unstructured header (the subject): plain words as themselves, every run of words
    that needs it as RFC 2047 encoded-words (with the spaces inside the run, which a reader drops
    between encoded-words). Remembered: a morning's subjects differ only in a few counts."""
    if not _NEEDS_ENCODING.search(text):
        return text
    out: list[str] = []
    run: list[str] = []
    for token in re.split(r"( +)", text):
        if run and (token.isspace() or _NEEDS_ENCODING.search(token)):
            run.append(token)
        elif _NEEDS_ENCODING.search(token):
            run = [token]
        else:
            if run:
                out.append(_encoded_run(run))
                run = []
            out.append(token)
    if run:
        out.append(_encoded_run(run))
    return "".join(out)


def _encoded_run(run: list[str]) -> str:
    """A run of tokens as encoded-words; spaces it ends with stay outside, between it and plain text."""
    text = "".join(run)
    trailing = text[len(text.rstrip(" ")):]
    return " ".join(_encoded_words(text.rstrip(" "))) + trailing


def _encoded_words(text: str) -> Iterator[str]:
    """``text`` as base64 encoded-words of at most :data:`_WORD_BYTES` bytes each, split between characters."""
    chunk = b""
    for char in text:
        encoded = char.encode("utf-8")
        if len(chunk) + len(encoded) > _WORD_BYTES:
            yield f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?="
            chunk = b""
        chunk += encoded
    if chunk:
        yield f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?="


@lru_cache(maxsize=2)
def _date_header(at: datetime) -> str:
    """The ``Date`` header of ``at`` (whole seconds): the same for every message written within a second."""
    return _header("Date", format_datetime(at))


@lru_cache(maxsize=16)
def _address_of(email_from: str) -> str:
    return parseaddr(email_from)[1]


@lru_cache(maxsize=16)
def _from_header(email_from: str) -> str:
    return _header("From", _mailbox(*parseaddr(email_from)))


def _mailbox(name: str, address: str) -> str:
    """``Name <address>``: an ASCII name quoted where it must be (``formataddr``), any other name
    entirely as encoded-words (a phrase cannot mix them with specials such as a comma)."""
    if not name or not _NEEDS_ENCODING.search(name):
        return formataddr((name, address))
    return f"{' '.join(_encoded_words(name))} <{address}>"
