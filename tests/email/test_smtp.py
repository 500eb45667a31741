"""Sending through a real SMTP server (aiosmtpd on loopback) and reading the message back."""

from __future__ import annotations

import ssl
import uuid

import pytest

from bot.email.backends import SendFailed, SmtpBackend, get_backend
from bot.email.messages import build_message
from bot.email.render import RenderedEmail
from core.config import load_settings
from tests.servers import free_port


def message():
    rendered = RenderedEmail(subject=f"Your next best moves {uuid.uuid4().hex[:6]}",
                             text="Good morning.\n", html="<p>Good morning.</p>")
    return build_message(rendered, to_name="Ann Lee", to_address="ann@example.com",
                         email_from="NextBestMove <plan@nbm.example.com>",
                         unsubscribe_url="https://nbm.example.com/unsubscribe/t")


def plain(server, **kwargs) -> SmtpBackend:
    return SmtpBackend(host=server.host, port=server.port, security="none", timeout=5, **kwargs)


def test_a_message_arrives_whole_with_its_headers_and_parts(smtp_server) -> None:
    server = smtp_server()
    sent = message()
    plain(server).send(sent)
    (received,) = server.handler.received
    for header in ("Subject", "From", "To", "Message-ID", "Date", "List-Unsubscribe", "List-Unsubscribe-Post"):
        assert received[header] == sent[header]
    assert received.get_body(("plain",)).get_content().splitlines() == ["Good morning."]
    assert "<p>Good morning.</p>" in received.get_body(("html",)).get_content()


def test_settings_from_the_environment_choose_starttls_and_log_in(smtp_server, certificate,
                                                                  trust_certificate) -> None:
    server = smtp_server(tls="starttls", certificate=certificate, credentials=("mailer", "s3cret"))
    trust_certificate(certificate.cert_file)
    backend = get_backend(load_settings({
        "EMAIL_BACKEND": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(server.port),
        "SMTP_SECURITY": "starttls", "SMTP_USERNAME": "mailer", "SMTP_PASSWORD": "s3cret",
    }))
    assert "s3cret" not in repr(backend)
    backend.send(message())
    assert server.logins == [("mailer", "s3cret")]
    assert len(server.handler.received) == 1


def test_implicit_tls_is_supported(smtp_server, certificate) -> None:
    server = smtp_server(tls="ssl", certificate=certificate)
    context = ssl.create_default_context(cafile=str(certificate.cert_file))
    SmtpBackend(host="127.0.0.1", port=server.port, security="ssl", timeout=5, ssl_context=context).send(message())
    assert len(server.handler.received) == 1


def test_an_untrusted_certificate_is_refused_without_retrying(smtp_server, certificate) -> None:
    server = smtp_server(tls="starttls", certificate=certificate)
    waits: list[float] = []
    backend = SmtpBackend(host="127.0.0.1", port=server.port, security="starttls", timeout=5, wait=waits.append,
                          ssl_context=ssl.create_default_context())  # no trust in the test's certificate
    with pytest.raises(SendFailed) as failure:
        backend.send(message())
    assert failure.value.temporary is False
    assert waits == [] and server.handler.received == []


def test_wrong_credentials_are_a_permanent_failure(smtp_server, certificate) -> None:
    server = smtp_server(tls="starttls", certificate=certificate, credentials=("mailer", "s3cret"))
    waits: list[float] = []
    backend = SmtpBackend(host="127.0.0.1", port=server.port, security="starttls", username="mailer",
                          password="wrong", timeout=5, wait=waits.append,
                          ssl_context=ssl.create_default_context(cafile=str(certificate.cert_file)))
    with pytest.raises(SendFailed, match="535") as failure:
        backend.send(message())
    assert failure.value.temporary is False and waits == []
    assert "wrong" not in str(failure.value)


def test_temporary_refusals_are_retried_with_back_off_and_the_message_arrives_once(smtp_server) -> None:
    server = smtp_server(failures=["451 4.3.0 Try again later", "421 4.7.0 Too busy"])
    waits: list[float] = []
    plain(server, retry_delays=(1, 5, 20), wait=waits.append).send(message())
    assert waits == [1, 5]
    assert server.handler.data_attempts == 3
    assert len(server.handler.received) == 1


def test_a_message_the_server_accepted_is_not_sent_again_when_the_goodbye_goes_wrong(smtp_server) -> None:
    server = smtp_server(quit_reply="421 4.4.2 Closing connection")
    waits: list[float] = []
    plain(server, wait=waits.append).send(message())
    assert len(server.handler.received) == 1 and waits == []


def test_a_permanent_refusal_is_not_retried(smtp_server) -> None:
    server = smtp_server(failures=["550 5.7.1 Rejected"])
    waits: list[float] = []
    with pytest.raises(SendFailed, match="550") as failure:
        plain(server, wait=waits.append).send(message())
    assert failure.value.temporary is False
    assert waits == [] and server.handler.data_attempts == 1


def test_a_server_that_stays_down_fails_temporarily_after_every_retry() -> None:
    waits: list[float] = []
    backend = SmtpBackend(host="127.0.0.1", port=free_port(), security="none", timeout=5, retry_delays=(1, 2),
                          wait=waits.append)  # nothing listens on that port
    with pytest.raises(SendFailed, match="attempt 3 of 3") as failure:
        backend.send(message())
    assert failure.value.temporary is True
    assert waits == [1, 2]
