"""`nbm digest preview` and `nbm digest send`, run the way an operator runs them."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from bot.cli import main
from bot.email.backends import get_backend
from tests.email.pages import make_world

pytestmark = pytest.mark.usefixtures("email_settings", "clock", "connection")


def test_nbm_digest_preview_writes_the_html_and_the_text_beside_it(service: Session, tmp_path) -> None:
    make_world(service, email="zoe@example.com")
    out = tmp_path / "today.html"
    result = CliRunner().invoke(main, ["digest", "preview", "--user", "ZOE@example.com", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Subject: Your next best moves for Wed 25 Nov — 3 actions, ~30 min" in result.output
    assert "Reach out to Bo Chen" in out.read_text()
    assert "Reach out to Bo Chen" in (tmp_path / "today.txt").read_text()
    assert get_backend().entries() == []


def test_nbm_digest_send_sends_through_the_configured_backend(service: Session) -> None:
    make_world(service, email="zoe@example.com")
    result = CliRunner().invoke(main, ["digest", "send", "--user", "zoe@example.com"])
    assert result.exit_code == 0, result.output
    (entry,) = get_backend().entries()
    assert entry.subject.startswith("Your next best moves for Wed 25 Nov")
    assert "Sent to zoe@example.com via outbox" in result.output and "/dev/outbox" in result.output


def test_nbm_digest_names_an_unknown_user_clearly(service: Session) -> None:
    result = CliRunner().invoke(main, ["digest", "send", "--user", "nobody@example.com"])
    assert result.exit_code == 2
    assert "no user with the email 'nobody@example.com'" in result.output
