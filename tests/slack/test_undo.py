"""Undo in Slack: a settled item offers Undo for the rest of the day; it puts the action back, redraws
the plan, and a second press changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from core.models import ActionState, User
from tests.slack.conftest import add_leads, block_action, command, events_of, interact, plan_of, replies, state_of
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")

IN_THE_DM = {"type": "message", "channel_id": "DU1", "message_ts": "1700000000.000001", "is_ephemeral": False}


def _press(web: FlaskClient, fake: FakeSlack, blocks: list[dict[str, Any]], action_id: str, item: Any) -> None:
    button = {"type": "button", "action_id": action_id, "block_id": f"plan|{item}", "value": str(item)}
    interact(web, block_action(fake, button, container=IN_THE_DM, message_blocks=blocks))


def test_done_then_undo_puts_the_action_back_and_the_message_offers_its_buttons_again(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz")
    command(web, fake, "today", channel="DU1")
    posted = fake.calls_to("chat.postMessage")[-1].args["blocks"]
    first = plan_of(ann).items[0].action_id

    _press(web, fake, posted, "nbm_done", first)
    after_done = fake.calls_to("chat.update")[-1].args["blocks"]
    row = next(b for b in after_done if b.get("block_id") == f"plan|{first}")
    assert "✅ Done" in row["text"]["text"] and row["accessory"]["action_id"] == "nbm_undo"

    _press(web, fake, after_done, "nbm_undo", first)
    assert state_of(ann, first) == ActionState.NEW
    after_undo = fake.calls_to("chat.update")[-1].args["blocks"]
    controls = next(b for b in after_undo if b.get("block_id") == f"plan|{first}" and b["type"] == "actions")
    assert [e["action_id"] for e in controls["elements"]][:3] == ["nbm_done", "nbm_sent", "nbm_replied"]
    assert [(e.from_state, e.to_state) for e in events_of(ann, first)][-2:] == [
        (ActionState.NEW, ActionState.DONE), (ActionState.DONE, ActionState.NEW)]

    _press(web, fake, after_done, "nbm_undo", first)  # the old message's Undo, pressed again
    assert state_of(ann, first) == ActionState.NEW
    assert replies(fake) == ["Nothing to undo: that change was already taken back, or it was not made today."]
