"""What a mailbox provider reads in the raw message: a literal one-click unsubscribe, and a List-Id.

Python's parser decodes RFC 2047 encoded-words back into text, so a parsed header looks right even
when the wire carries ``List-Unsubscribe: =?utf-8?q?=3Chttps=3A//…``, which RFC 2369 and RFC 8058 do
not allow and Gmail or Yahoo then ignore. These tests read bytes: what a real SMTP server received,
and the outbox's file.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session

from bot.email.backends import SmtpBackend, get_backend
from bot.email.delivery import plan_sender, summary_sender
from core.preferences import email_is_on
from core.users import get_settings_for
from tests.email.conftest import BASE_URL
from tests.email.pages import make_world, path, reload
from tests.factories import JOINED

pytestmark = pytest.mark.usefixtures("email_settings", "clock", "connection")

LAST_MONDAY = date(2026, 11, 16)
TODAY = date(2026, 11, 25)  # the clock's (tests.email.conftest.NOON)


def keep_raw_bytes(server: Any) -> list[bytes]:
    """Every message ``server`` accepts, as the bytes that crossed the wire (the fixture keeps them parsed)."""
    raw: list[bytes] = []
    parse: Callable[..., Awaitable[str]] = server.handler.handle_DATA

    async def handle_data(smtp: Any, session: Any, envelope: Any) -> str:
        raw.append(envelope.original_content)
        return await parse(smtp, session, envelope)

    server.handler.handle_DATA = handle_data  # aiosmtpd looks its hooks up on each new connection
    return raw


def header_block(raw: bytes) -> str:
    """The header section exactly as written, with its folded lines, line ends made ``\\n``."""
    return raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("ascii")


def test_the_digest_and_the_summary_carry_a_literal_one_click_unsubscribe_on_the_wire_and_in_the_outbox(
    service: Session, smtp_server: Any, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(service, email="zoe@example.com", name="Zoë Quinn", created_at=JOINED)
    server = smtp_server()
    wire = keep_raw_bytes(server)
    smtp = SmtpBackend(host=server.host, port=server.port, security="none", timeout=5)
    for backend in (smtp, get_backend()):  # then the configured outbox
        monkeypatch.setattr("bot.email.delivery.get_backend", lambda backend=backend: backend)
        # The jobs' senders, each delivery its own: the same emails go once by SMTP and once to the outbox.
        plan_sender(service, user_id=world.user.id, period=TODAY, delivery_id=uuid.uuid4())()
        summary_sender(service, user_id=world.user.id, period=LAST_MONDAY, delivery_id=uuid.uuid4())()
    outbox = get_backend().directory
    written = [file.read_bytes() for file in sorted(outbox.glob("*.eml"))]
    assert len(wire) == len(written) == 2

    urls = set()
    for raw in wire + written:
        headers = header_block(raw)
        # The whole value on the header's own line: no encoded-word, no fold inside the URL.
        unsubscribe = re.search(r"^List-Unsubscribe: <(https://[^\s<>]+)>\n(?![ \t])", headers, re.M)
        assert unsubscribe, f"no literal List-Unsubscribe in:\n{headers}"
        urls.add(unsubscribe.group(1))
        assert re.search(r"^List-Unsubscribe-Post: List-Unsubscribe=One-Click$", headers, re.M)
        assert re.search(r"^List-Id: NextBestMove <nextbestmove\.nbm\.example\.com>$", headers, re.M)
        assert "=?" not in "".join(re.findall(r"^List-.*$", headers, re.M))

    # What Gmail does with it: a POST of List-Unsubscribe=One-Click to that very URL turns email off.
    (url,) = urls
    assert url.startswith(f"{BASE_URL}/unsubscribe/")
    answer = client.post(path(url), data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    assert not email_is_on(reload(service, get_settings_for(service, world.user)))
