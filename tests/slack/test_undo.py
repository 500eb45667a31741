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


def test_undo_pressed_twice_after_sent_then_replied_takes_back_the_reply_only(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    """A double press (or Slack's retry) of Undo takes back one change, not a chain: after Sent then
    Replied, the message is still sent (not back to new, with a follow-up planned for a message never
    sent), and the row no longer offers Undo."""
    add_leads(ann, "Bea Stone")
    command(web, fake, "today", channel="DU1")
    posted = fake.calls_to("chat.postMessage")[-1].args["blocks"]
    first = plan_of(ann).items[0].action_id
    _press(web, fake, posted, "nbm_sent", first)
    _press(web, fake, fake.calls_to("chat.update")[-1].args["blocks"], "nbm_replied", first)
    after_reply = fake.calls_to("chat.update")[-1].args["blocks"]

    _press(web, fake, after_reply, "nbm_undo", first)
    _press(web, fake, after_reply, "nbm_undo", first)

    assert state_of(ann, first) == ActionState.SENT
    assert [(e.from_state, e.to_state) for e in events_of(ann, first)][1:] == [
        (ActionState.NEW, ActionState.SENT), (ActionState.SENT, ActionState.REPLIED),
        (ActionState.REPLIED, ActionState.SENT)]
    assert replies(fake)[-1] == "Nothing to undo: that change was already taken back, or it was not made today."
    redrawn = fake.calls_to("chat.update")[-1].args["blocks"]
    row = [block for block in redrawn if block.get("block_id") == f"plan|{first}"]
    controls = [element for block in row
                for element in ([block["accessory"]] if block.get("accessory") else block.get("elements", []))]
    assert row and "nbm_undo" not in [element.get("action_id") for element in controls]
