"""A mail setting that could only fail at send time is refused when a command starts: one line naming
the variable and what it accepts, exit code 2, nothing sent and no delivery recorded (it used to be
recorded failed for good, the morning's digest with it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.cli import main
from bot.email.backends import get_backend
from core import config
from core.models import Delivery
from tests.email.conftest import StartSmtp
from tests.email.pages import make_world

pytestmark = pytest.mark.usefixtures("email_settings", "clock", "connection")

FROM_ACCEPTED = ("EMAIL_FROM must be one ASCII email address on a dotted domain, with a name or without, such as "
                 "'NextBestMove <plan@example.com>' or plan@example.com; got ")


@pytest.fixture()
def environment() -> Iterator[Callable[..., None]]:
    """Set variables for the rest of the test, as a process would find them."""
    with pytest.MonkeyPatch.context() as mp:
        def use(**values: str) -> None:
            for name, value in values.items():
                mp.setenv(name, value)
            config.get_settings.cache_clear()

        yield use
    config.get_settings.cache_clear()


def _deliveries(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Delivery)) or 0


@pytest.mark.parametrize("email_from", [
    "notanaddress", "plan@localhost", "NextBestMove <plan@mycompany>", "plan@example.com, ops@example.com",
    "NextBestMove <plan@exa mple.com>", "NextBestMove <plän@example.com>", "plan@example.com\tx",
])
def test_digest_send_refuses_a_from_no_mail_server_takes_before_recording_anything(
    service: Session, email_settings: config.Settings, environment: Callable[..., None], email_from: str
) -> None:
    make_world(service, email="zoe@example.com")
    environment(EMAIL_FROM=email_from)
    result = CliRunner().invoke(main, ["digest", "send", "--user", "zoe@example.com"])
    assert (result.exit_code, result.stderr.splitlines()) == (2, [f"Error: {FROM_ACCEPTED}{email_from!r}"])
    assert _deliveries(service) == 0
    assert get_backend(email_settings).entries() == []  # the outbox the command would have written to


@pytest.mark.parametrize(("email_from", "address"), [
    ("NextBestMove <plan@example.com>", "plan@example.com"), ("plan@mail.example.co.uk", "plan@mail.example.co.uk"),
    ("Zoë's \"plans\" <plan@example.com>", "plan@example.com"), ("plan@example.com (NextBestMove)", "plan@example.com"),
])
def test_digest_send_sends_from_any_single_address_on_a_dotted_domain(
    service: Session, environment: Callable[..., None], email_from: str, address: str
) -> None:
    make_world(service, email="zoe@example.com")
    environment(EMAIL_FROM=email_from)
    result = CliRunner().invoke(main, ["digest", "send", "--user", "zoe@example.com"])
    assert result.exit_code == 0, result.output
    (entry,) = get_backend().entries()
    assert get_backend().read(entry.id)["From"].addresses[0].addr_spec == address


def test_the_development_from_is_accepted() -> None:
    assert config.load_settings({}).email_from == config.DEV_EMAIL_FROM


@pytest.mark.parametrize(("name", "raw", "accepted"), [
    ("SMTP_TIMEOUT", "0", "a number of seconds greater than 0, such as 10 or 2.5"),
    ("SMTP_TIMEOUT", "-5", "a number of seconds greater than 0, such as 10 or 2.5"),
    ("SMTP_PORT", "0", "a whole number from 1 to 65535"),
    ("SMTP_PORT", "70000", "a whole number from 1 to 65535"),
])
def test_digest_send_refuses_smtp_settings_no_connection_could_use(
    service: Session, environment: Callable[..., None], smtp_server: StartSmtp,
    name: str, raw: str, accepted: str
) -> None:
    server = smtp_server()
    make_world(service, email="zoe@example.com")
    environment(**{"EMAIL_BACKEND": "smtp", "SMTP_HOST": server.host, "SMTP_PORT": str(server.port),
                   "SMTP_SECURITY": "none", name: raw})
    result = CliRunner().invoke(main, ["digest", "send", "--user", "zoe@example.com"])
    assert (result.exit_code, result.stderr.splitlines()) == (2, [f"Error: {name} must be {accepted}; got {raw!r}"])
    assert _deliveries(service) == 0
    assert server.handler.received == []
