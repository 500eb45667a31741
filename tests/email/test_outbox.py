"""The development outbox: messages kept as files and shown at /dev/outbox, never in production."""

from __future__ import annotations

import dataclasses

import pytest

from bot.email import backends
from bot.email.backends import OutboxBackend, SmtpBackend, get_backend
from bot.email.messages import build_message
from bot.email.render import RenderedEmail
from bot.web import create_app
from core import config
from core.errors import NotFound


def message(subject: str):
    rendered = RenderedEmail(subject=subject, text="Plain words.\n", html="<p>HTML <b>words</b>.</p>")
    return build_message(rendered, to_name="Ann Lee", to_address="ann@example.com",
                         email_from="NextBestMove <plan@nbm.example.com>",
                         unsubscribe_url="https://nbm.example.com/unsubscribe/t")


def test_the_outbox_is_the_default_backend_and_keeps_messages_newest_first(email_settings, clock) -> None:
    backend = get_backend()
    assert isinstance(backend, OutboxBackend)
    assert backend.directory == email_settings.data_dir / "outbox"
    backend.send(message("First"))
    clock.shift(1)
    backend.send(message("Second"))
    entries = backend.entries()
    assert [entry.subject for entry in entries] == ["Second", "First"]
    assert entries[0].to == "Ann Lee <ann@example.com>"
    assert backend.read(entries[1].id).get_body(("plain",)).get_content().strip() == "Plain words."
    with pytest.raises(NotFound):
        backend.read("../../etc/passwd")


def test_dev_outbox_lists_and_shows_messages(email_settings, engine) -> None:
    backend = get_backend()
    backend.send(message("Your next best moves for Wed 25 Nov — 1 action, ~5 min"))
    client = create_app().test_client()
    listing = client.get("/dev/outbox")
    assert listing.status_code == 200
    assert "Your next best moves for Wed 25 Nov — 1 action, ~5 min" in listing.text
    (entry,) = backend.entries()
    shown = client.get(f"/dev/outbox/{entry.id}")
    assert shown.mimetype == "text/html" and "<p>HTML <b>words</b>.</p>" in shown.text
    assert client.get(f"/dev/outbox/{entry.id}?part=text").text.strip() == "Plain words."


@pytest.mark.parametrize("change", [{"env": "production"}, {"email_backend": "smtp"}])
def test_dev_outbox_does_not_exist_in_production_or_with_smtp(email_settings, engine, monkeypatch, change) -> None:
    settings = dataclasses.replace(email_settings, **change)
    monkeypatch.setattr(config, "get_settings", lambda: settings)
    monkeypatch.setattr("bot.web.email_pages.routes.get_settings", lambda: settings)
    monkeypatch.setattr("bot.web.get_settings", lambda: settings)
    assert create_app().test_client().get("/dev/outbox").status_code == 404


def test_smtp_is_chosen_by_configuration(email_settings) -> None:
    settings = config.load_settings({"EMAIL_BACKEND": "smtp", "SMTP_HOST": "mail.example.com", "SMTP_PORT": "465",
                                     "SMTP_SECURITY": "ssl"})
    backend = backends.get_backend(settings)
    assert isinstance(backend, SmtpBackend)
    assert (backend.host, backend.port, backend.security) == ("mail.example.com", 465, "ssl")
