"""What goes on the wire: messages written directly (``write_message``) read back the same through the
email package; signed links minted without itsdangerous's per-call setup are its own tokens; and the
process's SMTP backend keeps one session for many messages, safely."""

from __future__ import annotations

import re
import socket
import uuid
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from typing import Any

import pytest
import time_machine
from itsdangerous import URLSafeTimedSerializer

from bot.email import backends
from bot.email.backends import SmtpBackend, _transmit
from bot.email.links import EmailLinks
from bot.email.messages import MAX_BODY_LINE, OutgoingEmail, write_message
from bot.email.render import RenderedEmail
from core.actions import marks

FROM = "NextBestMove <plan@nbm.example.com>"


def written(subject: str = "Hello", text: str = "Good morning.\n", html: str = "<p>Good morning.</p>",
            to_name: str = "Ann Lee", to_address: str = "ann@example.com") -> OutgoingEmail:
    return write_message(RenderedEmail(subject=subject, text=text, html=html), to_name=to_name,
                         to_address=to_address, email_from=FROM, unsubscribe_url="https://nbm.example.com/u/t")


@pytest.mark.parametrize("subject", [
    "Your next best moves for Wed 25 Nov — 5 actions, ~35 min",
    "Zoë  Ünal et  al — déjà vu, naïve café " * 3,
    "A subject that says =?utf-8?q?not_an_encoded_word?= as it is",
    "—— x ——",
])
def test_a_subject_reads_back_exactly_and_every_header_line_is_short(subject: str) -> None:
    message = written(subject=subject)
    head = message.data.split(b"\r\n\r\n", 1)[0].decode("ascii")  # 7-bit headers, or this raises
    assert str(message.parsed()["Subject"]) == subject
    assert all(len(line) <= 78 for line in head.split("\r\n") if not line.startswith("List-Unsubscribe:"))


@pytest.mark.parametrize("name", ["Ann Lee", "Lee, Ann", 'Ann "the boss" Lee', "Zoë Ünal", "Lee, Zoë"])
def test_a_display_name_reads_back_as_written(name: str) -> None:
    (address,) = written(to_name=name).parsed()["To"].addresses
    assert (address.display_name, address.addr_spec) == (name, "ann@example.com")


def test_parts_go_as_they_are_when_their_lines_allow_and_a_server_without_8bitmime_gets_quoted_printable() -> None:
    html = "<p>Zoë</p>\n" + "<p>" + "x" * 500 + "</p>\n"
    message = written(text="plain ascii\n-- \nfooter\n", html=html)
    assert b"Content-Transfer-Encoding: 7bit" in message.data and b"Content-Transfer-Encoding: 8bit" in message.data
    assert message.eight_bit and message.seven_bit is not None
    seven = message.seven_bit()
    assert seven.isascii() and b"Content-Transfer-Encoding: quoted-printable" in seven
    for data in (message.data, seven):
        parsed = BytesParser(policy=policy.default).parsebytes(data.replace(b"\r\n", b"\n"))
        assert parsed.get_body(("html",)).get_content() == html
        assert parsed.get_body(("plain",)).get_content() == "plain ascii\n-- \nfooter\n"


def test_a_line_too_long_for_smtp_is_quoted_printable() -> None:
    message = written(text="y" * (MAX_BODY_LINE + 1) + "\n")
    assert b"Content-Transfer-Encoding: quoted-printable" in message.data
    assert max(len(line) for line in message.data.split(b"\r\n")) <= MAX_BODY_LINE
    assert message.parsed().get_body(("plain",)).get_content() == "y" * (MAX_BODY_LINE + 1) + "\n"


def test_every_line_ends_crlf_and_a_lone_dot_cannot_end_the_data() -> None:
    message = written(text="first\n.\nlast\n", html="<p>x</p>")
    assert b"\n" not in message.data.replace(b"\r\n", b"")
    assert message.parsed().get_body(("plain",)).get_content() == "first\n.\nlast\n"


def test_an_address_that_is_not_ascii_is_refused_as_before() -> None:
    with pytest.raises(UnicodeEncodeError):  # a ValueError: the delivery is refused as unbuildable
        written(to_address="zoë@exämple.com")


class FakeClient:
    """What ``_transmit`` asks of an SMTP client."""

    def __init__(self, *, eight_bit: bool) -> None:
        self.eight_bit = eight_bit
        self.sent: list[tuple[str, list[str], bytes, list[str]]] = []

    def ehlo_or_helo_if_needed(self) -> None:
        pass

    def has_extn(self, name: str) -> bool:
        return self.eight_bit and name.lower() == "8bitmime"

    def sendmail(self, sender: str, recipients: list[str], data: bytes, mail_options: Any = ()) -> dict[str, Any]:
        self.sent.append((sender, recipients, data, list(mail_options)))
        return {}


@pytest.mark.parametrize("server_takes_8bit", [True, False])
def test_an_8bit_message_is_announced_or_rewritten_as_the_server_allows(server_takes_8bit: bool) -> None:
    message = written(html="<p>Zoë</p>")
    client = FakeClient(eight_bit=server_takes_8bit)
    _transmit(client, message)  # type: ignore[arg-type]
    ((sender, recipients, data, options),) = client.sent
    assert (sender, recipients) == ("plan@nbm.example.com", ["ann@example.com"])
    if server_takes_8bit:
        assert (data, options) == (message.data, ["BODY=8BITMIME"])
    else:
        assert data.isascii() and options == []


def test_minted_links_are_itsdangerous_own_tokens_and_read_back() -> None:
    links = EmailLinks(base_url="https://nbm.example.com", secret_key="k" * 40)
    reference = URLSafeTimedSerializer("k" * 40)
    user, action = uuid.uuid4(), uuid.uuid4()
    with time_machine.travel(datetime(2026, 11, 25, 12, tzinfo=UTC), tick=False):
        for transition in marks.MARKS:
            token = links.action_token(user_id=user, action_id=action, mark=transition)
            payload = reference.loads(token, salt="nbm.email.action")
            assert token == reference.dumps(payload, salt="nbm.email.action")
            assert links.read_action(token).mark == transition
        unsubscribe = links.unsubscribe_url(user_id=user).rsplit("/", 1)[1]
        assert links.read_unsubscribe(unsubscribe) == user
        assert unsubscribe == reference.dumps(reference.loads(unsubscribe, salt="nbm.email.unsubscribe"),
                                              salt="nbm.email.unsubscribe")


def counting_connections(server: Any) -> list[str]:
    """Every EHLO the server answers: one per connection."""
    seen: list[str] = []

    async def handle_ehlo(smtp: Any, session: Any, envelope: Any, hostname: str, responses: list[str]) -> list[str]:
        seen.append(hostname)
        session.host_name = hostname
        return responses

    server.handler.handle_EHLO = handle_ehlo
    return seen


def kept(server: Any, **kwargs: Any) -> SmtpBackend:
    return SmtpBackend(host=server.host, port=server.port, security="none", timeout=5, keep_alive=True, **kwargs)


def test_the_process_backend_sends_many_messages_over_one_session(smtp_server: Any) -> None:
    server = smtp_server()
    connections = counting_connections(server)
    backend = kept(server)
    for n in range(3):
        backend.send(written(subject=f"Message {n}"))
    backend.close()
    assert len(server.handler.received) == 3 and len(connections) == 1


def test_a_session_lost_while_kept_is_replaced_at_once_and_nothing_is_sent_twice(smtp_server: Any) -> None:
    server = smtp_server()
    connections = counting_connections(server)
    waits: list[float] = []
    backend = kept(server, wait=waits.append)
    backend.send(written(subject="First"))
    backend._kept.client.sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]  # dropped by the server
    backend.send(written(subject="Second"))
    backend.close()
    assert [str(m["Subject"]) for m in server.handler.received] == ["First", "Second"]
    assert len(connections) == 2 and waits == []


def test_a_session_idle_too_long_or_inherited_from_a_parent_process_is_not_used(
    smtp_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = smtp_server()
    connections = counting_connections(server)
    backend = kept(server)
    backend.send(written(subject="First"))
    monkeypatch.setattr(backends, "KEEP_ALIVE_SECONDS", -1.0)
    backend.send(written(subject="Second"))
    monkeypatch.undo()
    session = backend._kept
    assert session is not None
    backend._kept = type(session)(session.client, session.pid + 1, session.since)  # as a forked child sees it
    backend.send(written(subject="Third"))
    backend.close()
    assert len(server.handler.received) == 3 and len(connections) == 3


def test_the_backend_of_a_process_is_one_object_while_its_settings_stay(email_settings: Any) -> None:
    assert backends.get_backend() is backends.get_backend()
    assert backends.get_backend(email_settings) is not backends.get_backend(email_settings)


def test_headers_carry_no_line_break_from_a_name(email_settings: Any) -> None:
    with pytest.raises(ValueError, match=re.escape("Header values may not contain linefeed")):
        written(to_name="Ann\r\nBcc: everyone@example.com")
