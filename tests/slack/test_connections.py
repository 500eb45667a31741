"""Slack's connections, as in production: over TLS, verified with the process's one TLS context,
and kept open from one call to the next (bot/slack/client.py).

Reading the system's certificate store into a context costs about 16 ms of CPU, several times a
whole press, and each new connection is a TCP and a TLS handshake: slack_sdk, left to itself, paid
both on every call (every press's ``chat.update``, every DM).
"""

from __future__ import annotations

import uuid
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

DM = "DU1"


@pytest.fixture()
def fake(tmp_path: Path, trust_certificate: Callable[[Path], None]) -> Iterator[FakeSlack]:
    """The fake Web API over TLS, with a certificate this process trusts (and only it)."""
    certificate = loopback_certificate(tmp_path, now=machine_now())
    trust_certificate(certificate.cert_file)
    fake = FakeSlack(certificate)
    fake.thread.start()
    yield fake
    fake.hang_up()
    fake.server.shutdown()
    assert fake.refused == []


def _plan_in_dm(web: FlaskClient, fake: FakeSlack, user: User) -> tuple[list[dict[str, Any]], list[uuid.UUID]]:
    """``/nbm today`` in the DM: the blocks posted, and the plan's actions."""
    add_leads(user, "Bea Stone", "Carl Diaz", "Dan Roe")
    command(web, fake, "today", channel=DM)
    return fake.calls_to("chat.postMessage")[-1].args["blocks"], [item.action_id for item in plan_of(user).items]


def _press_done(web: FlaskClient, fake: FakeSlack, blocks: list[dict[str, Any]], item: uuid.UUID) -> None:
    button = {"type": "button", "action_id": "nbm_done", "block_id": f"plan|{item}", "value": str(item)}
    container = {"type": "message", "channel_id": DM, "message_ts": "1700000000.000001", "is_ephemeral": False}
    assert interact(web, block_action(fake, button, container=container, message_blocks=blocks)).status_code == 200


def test_presses_and_a_dm_go_over_one_kept_connection_and_never_read_the_certificate_store_again(
        web: FlaskClient, fake: FakeSlack, ann: User, contexts_made: list[str]) -> None:
    """The app is built (``web``) before the counting starts: its one context is made by then."""
    assert fake.api_url.startswith("https://127.0.0.1:")
    blocks, items = _plan_in_dm(web, fake, ann)
    for item in items:
        _press_done(web, fake, blocks, item)
    deliver_dm(plan_sender, ann, NOW.date())

    assert [state_of(ann, item) for item in items] == [ActionState.DONE] * 3
    assert len(fake.calls_to("chat.update")) == 4, "each press redrew its message, and so did the morning, over TLS"
    assert len(fake.calls_to("chat.postMessage")) == 1, "the plan asked for, which the morning's DM took over"
    assert fake.connections == 1, f"{len(fake.calls)} calls, one connection kept open for all of them"
    assert contexts_made == [], "the process's one context served every call; none read the store again"


def test_a_connection_slack_closed_while_idle_is_replaced_and_the_press_goes_once(
        web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    blocks, items = _plan_in_dm(web, fake, ann)
    _press_done(web, fake, blocks, items[0])
    fake.hang_up()  # Slack closes the idle connection

    _press_done(web, fake, blocks, items[1])

    assert state_of(ann, items[1]) == ActionState.DONE
    updates = [call.args["blocks"] for call in fake.calls_to("chat.update")]
    assert len(updates) == 2, "the second press's message redrawn once, on a new connection"
    assert "✅ Done" in str([b for b in updates[1] if b.get("block_id") == f"plan|{items[1]}"])
    assert fake.connections == 2
