"""Slack over TLS, as in production: every call verifies Slack with the process's one TLS context.

Reading the system's certificate store into a context costs about 16 ms of CPU, several times a
whole press; slack_sdk's calls, left to themselves, made a context for every connection, so every
press's ``chat.update`` and every DM paid it (core/tls.py).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from bot.chaos.loopback_tls import loopback_certificate
from bot.slack.delivery import plan_sender
from core.models import ActionState, User
from tests.factories import machine_now
from tests.slack.conftest import NOW, add_leads, block_action, command, deliver_dm, interact, plan_of, state_of
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture()
def fake(tmp_path: Path, trust_certificate: Callable[[Path], None]) -> Iterator[FakeSlack]:
    """The fake Web API over TLS, with a certificate this process trusts (and only it)."""
    certificate = loopback_certificate(tmp_path, now=machine_now())
    trust_certificate(certificate.cert_file)
    fake = FakeSlack(certificate)
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    assert fake.refused == []


@pytest.fixture()
def contexts_made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every TLS context made with the certificate store read from now on (ours, and the one
    http.client makes for each connection it is given none for)."""
    made: list[str] = []

    def counting(name: str, make: Callable[..., ssl.SSLContext]) -> Callable[..., ssl.SSLContext]:
        def counted(*args: Any, **kwargs: Any) -> ssl.SSLContext:
            made.append(name)
            return make(*args, **kwargs)
        return counted

    monkeypatch.setattr(ssl, "_create_default_https_context", counting("per connection", ssl.create_default_context))
    monkeypatch.setattr(ssl, "create_default_context", counting("made", ssl.create_default_context))
    return made


def test_presses_and_a_dm_over_tls_never_read_the_certificate_store_again(
        web: FlaskClient, fake: FakeSlack, ann: User, contexts_made: list[str]) -> None:
    """The app is built (``web``) before the counting starts: its one context is made by then."""
    assert fake.api_url.startswith("https://127.0.0.1:")
    add_leads(ann, "Bea Stone", "Carl Diaz", "Dan Roe")
    command(web, fake, "today", channel="DU1")
    blocks = fake.calls_to("chat.postMessage")[-1].args["blocks"]
    items = [item.action_id for item in plan_of(ann).items]
    container = {"type": "message", "channel_id": "DU1", "message_ts": "1700000000.000001", "is_ephemeral": False}
    for item in items:
        button = {"type": "button", "action_id": "nbm_done", "block_id": f"plan|{item}", "value": str(item)}
        assert interact(web, block_action(fake, button, container=container, message_blocks=blocks)).status_code == 200
    deliver_dm(plan_sender, ann, NOW.date())

    assert [state_of(ann, item) for item in items] == [ActionState.DONE] * 3
    assert len(fake.calls_to("chat.update")) == 3, "each press redrew its message, over TLS"
    assert len(fake.calls_to("chat.postMessage")) == 2, "the plan asked for, and the morning's DM"
    assert contexts_made == [], "the process's one context served every call; none read the store again"
