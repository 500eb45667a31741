"""The headers every message carries, and its two parts."""

from __future__ import annotations

import re
import uuid

import pytest

from bot.email.messages import build_message
from bot.email.render import RenderedEmail
from core.errors import ConfigError
from tests.email.conftest import NOON

RENDERED = RenderedEmail(subject="Your next best moves for Wed 25 Nov — 1 action, ~5 min",
                         text="Good morning, Zoë.\n", html="<p>Good morning, Zoë.</p>")


def message(**overrides: str):
    fields = dict(to_name="Zoë Ünal", to_address="zoe@example.com",
                  email_from="NextBestMove <plan@nbm.example.com>",
                  unsubscribe_url="https://nbm.example.com/unsubscribe/abc")
    fields.update(overrides)
    return build_message(RENDERED, **fields)


def test_headers_identify_the_sender_the_message_and_the_one_click_unsubscribe(clock) -> None:
    first, second = message(), message()
    assert first["From"] == "NextBestMove <plan@nbm.example.com>"
    assert first["To"].addresses[0].display_name == "Zoë Ünal"
    assert first["Subject"] == RENDERED.subject
    assert first["Date"].datetime == NOON
    assert re.fullmatch(r"<[^@<>]+@nbm\.example\.com>", first["Message-ID"])
    assert first["Message-ID"] != second["Message-ID"]
    assert first["List-Unsubscribe"] == "<https://nbm.example.com/unsubscribe/abc>"
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_the_body_is_plain_text_then_html() -> None:
    msg = message()
    assert msg.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg.get_body(("plain",)).get_content() == "Good morning, Zoë.\n"
    assert msg.get_body(("html",)).get_content().strip() == "<p>Good morning, Zoë.</p>"


def test_a_from_address_without_a_domain_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="EMAIL_FROM"):
        message(email_from=f"nobody-{uuid.uuid4().hex[:4]}")


def test_a_line_break_in_the_unsubscribe_url_cannot_add_a_header_of_its_own() -> None:
    """List-Unsubscribe is written literally, past the email package's own line-break check."""
    with pytest.raises(ValueError, match="List-Unsubscribe header must be one line"):
        message(unsubscribe_url="https://nbm.example.com/unsubscribe/t\r\nBcc: everyone@example.com")
