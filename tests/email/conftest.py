"""Fixtures of the email tests: settings of their own, a pinned clock, a real SMTP server, a browser.

* ``email_settings``: BASE_URL, EMAIL_FROM and a data directory (the outbox) of the test's own,
  through the environment as in production; the settings cache is cleared before and after.
* ``smtp_server``: aiosmtpd on 127.0.0.1 (optionally with STARTTLS or implicit TLS and a login),
  keeping what it received; ``failures`` makes it answer the first DATA commands with a code.
* ``browser``: headless Chromium (Debian's package) driven by chromedriver through Selenium.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, cast

import pytest
import time_machine
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from werkzeug.serving import make_server

from bot.chaos.loopback_tls import LoopbackCertificate, loopback_certificate
from core import config
from tests.factories import machine_now
from tests.servers import free_port

#: Wednesday 25 November 2026, noon UTC: the day most tests live in.
NOON = datetime(2026, 11, 25, 12, tzinfo=UTC)
BASE_URL = "https://nbm.example.com"


@pytest.fixture()
def email_settings(tmp_path: Path) -> Iterator[config.Settings]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BASE_URL", BASE_URL)
        mp.setenv("EMAIL_FROM", "NextBestMove <plan@nbm.example.com>")
        mp.setenv("NBM_DATA_DIR", str(tmp_path / "data"))
        mp.setenv("EMAIL_BACKEND", "outbox")
        config.get_settings.cache_clear()
        yield config.get_settings()
    config.get_settings.cache_clear()


@pytest.fixture()
def client(connection: Any) -> Any:
    """The web app's test client; every unit of work joins the test's rolled-back transaction."""
    from bot.web import create_app

    return create_app().test_client()


@pytest.fixture()
def links(email_settings: config.Settings) -> Any:
    from bot.email.links import EmailLinks

    return EmailLinks.from_settings()


@pytest.fixture()
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


@dataclass
class Handler:
    """Keeps each message accepted; answers the first ``len(failures)`` DATA commands with those replies,
    and QUIT with ``quit_reply``."""

    failures: list[str] = field(default_factory=list)
    received: list[EmailMessage] = field(default_factory=list)
    data_attempts: int = 0
    quit_reply: str = "221 Bye"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        return self.quit_reply

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_attempts += 1
        if self.failures:
            return self.failures.pop(0)
        parsed = BytesParser(policy=policy.default).parsebytes(envelope.original_content or envelope.content)
        self.received.append(cast(EmailMessage, parsed))
        return "250 2.0.0 OK"


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: Handler
    logins: list[tuple[str, str]]


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> LoopbackCertificate:
    """A self-signed certificate for 127.0.0.1 and localhost (trusted by tests via SSL_CERT_FILE)."""
    return loopback_certificate(tmp_path_factory.mktemp("tls"), now=machine_now())


StartSmtp = Callable[..., SmtpServer]


@pytest.fixture()
def smtp_server() -> Iterator[StartSmtp]:
    """``smtp_server(tls=None|"starttls"|"ssl", certificate=..., credentials=(user, password), failures=[...],
    quit_reply=...)``."""
    controllers: list[Controller] = []

    def start(*, tls: str | None = None, certificate: LoopbackCertificate | None = None,
              credentials: tuple[str, str] | None = None, failures: list[str] | None = None,
              quit_reply: str = "221 Bye") -> SmtpServer:
        handler = Handler(failures=list(failures or []), quit_reply=quit_reply)
        logins: list[tuple[str, str]] = []

        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
            if not isinstance(auth_data, LoginPassword):
                return AuthResult(success=False, handled=False)
            login, password = auth_data.login.decode(), auth_data.password.decode()
            logins.append((login, password))
            # handled=False: aiosmtpd itself answers a failure with 535
            return AuthResult(success=(login, password) == credentials, handled=False)

        kwargs: dict[str, Any] = {}
        if tls == "starttls":
            kwargs.update(tls_context=certificate.server_context(), require_starttls=True)  # type: ignore[union-attr]
        elif tls == "ssl":
            kwargs.update(ssl_context=certificate.server_context(), server_hostname="localhost")  # type: ignore[union-attr]
        if credentials:
            kwargs.update(authenticator=authenticate, auth_required=True, auth_require_tls=tls is not None)
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        controllers.append(controller)
        return SmtpServer("127.0.0.1", port, handler, logins)

    yield start
    for controller in controllers:
        controller.stop()


CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture()
def live_server(email_settings, engine) -> Iterator[str]:
    """The web app on 127.0.0.1 under a real WSGI server, with BASE_URL pointing at it (emails link to it)."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BASE_URL", base_url)
        config.get_settings.cache_clear()
        from bot.web import create_app

        server = make_server("127.0.0.1", port, create_app(), threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield base_url
        finally:
            server.shutdown()
            thread.join(timeout=10)
    config.get_settings.cache_clear()


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[Any]:
    """Headless Chromium under chromedriver, with a throw-away profile."""
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        missing = "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):  # .ci/run installs them: missing there is a failure, not a skip
            pytest.fail(missing)
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SE_OFFLINE", "true")  # Selenium Manager must not look for downloads
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
