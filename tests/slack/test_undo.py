"""Undo in Slack: a settled item offers Undo for the rest of the day; it puts the action back, redraws
the plan, and a second press changes nothing."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.db import unit_of_work
from core.models import Action, ActionState, Channel, Delivery, DeliveryKind, DeliveryStatus, User
from tests.slack.conftest import (
    NOW,
    add_leads,
    block_action,
    command,
    events_of,
    interact,
    plan_of,
    replies,
    run_redraws,
    state_of,
)
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")

NOTHING_TO_UNDO = ("Nothing to undo: that change was already taken back, was not made today, or the action has "
                   "changed since.")
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
    assert replies(fake) == [NOTHING_TO_UNDO]


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
    assert replies(fake)[-1] == NOTHING_TO_UNDO
    redrawn = fake.calls_to("chat.update")[-1].args["blocks"]
    row = [block for block in redrawn if block.get("block_id") == f"plan|{first}"]
    controls = [element for block in row
                for element in ([block["accessory"]] if block.get("accessory") else block.get("elements", []))]
    assert row and "nbm_undo" not in [element.get("action_id") for element in controls]


# The Undo of a typed mark (`/nbm done 2`): its answer offers Undo for the change it names.

IN_THE_ANSWER = {"type": "message", "channel_id": "C1", "message_ts": "1700000000.000009", "is_ephemeral": True}


def _answer(fake: FakeSlack) -> dict[str, Any]:
    """The last answer posted to a response_url, as Slack got it."""
    return fake.calls_to("respond")[-1].args


def _undo_of(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer's Undo button, as Slack sends it back when it is pressed."""
    (block,) = [block for block in answer["blocks"] if block.get("accessory")]
    button = block["accessory"]
    assert button["text"]["text"] == "Undo"
    return {"type": "button", "action_id": button["action_id"], "block_id": block["block_id"], "value": button["value"]}


def _press_in_answer(web: FlaskClient, fake: FakeSlack, button: dict[str, Any]) -> None:
    interact(web, block_action(fake, button, container=IN_THE_ANSWER))


def _buttons(blocks: list[dict[str, Any]]) -> list[str]:
    return [element.get("action_id", "") for block in blocks
            for element in ([block["accessory"]] if block.get("accessory") else block.get("elements", []))]


def test_a_typed_mark_offers_undo_which_puts_that_action_back_once_and_says_so_in_place(
    web: FlaskClient, fake: FakeSlack, ann: User, service: Session
) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz")
    second = plan_of(ann).items[1]
    service.add(Delivery(user_id=ann.id, kind=DeliveryKind.PLAN, channel=Channel.SLACK, period=date(2026, 11, 25),
                         status=DeliveryStatus.SENT, external_id="DU1:1700000000.000777"))
    service.flush()

    command(web, fake, "done 2")
    answer = _answer(fake)
    assert answer["text"] == f"✅ Marked done: #2 of today's plan — {second.title}."
    undo = _undo_of(answer)

    _press_in_answer(web, fake, undo)
    assert state_of(ann, second.action_id) == ActionState.NEW
    replaced = _answer(fake)
    assert replaced["replace_original"] is True
    assert replaced["text"] == f"↩️ Undone, open again: {second.title}."
    assert _buttons(replaced["blocks"]) == [], "the answer offers no Undo any more"

    _press_in_answer(web, fake, undo)  # a double click, or Slack's retry
    assert state_of(ann, second.action_id) == ActionState.NEW
    assert [(e.from_state, e.to_state) for e in events_of(ann, second.action_id)][1:] == [
        (ActionState.NEW, ActionState.DONE), (ActionState.DONE, ActionState.NEW)]
    assert _answer(fake)["text"] == NOTHING_TO_UNDO

    updates, published = len(fake.calls_to("chat.update")), len(fake.calls_to("views.publish"))
    run_redraws()
    (home,) = fake.calls_to("views.publish")[published:]
    (dm,) = fake.calls_to("chat.update")[updates:]
    assert (dm.args["channel"], dm.args["ts"]) == ("DU1", "1700000000.000777")
    for blocks in (home.args["view"]["blocks"], dm.args["blocks"]):
        row = [block for block in blocks if block.get("block_id", "").endswith(f"|{second.action_id}")]
        assert "nbm_done" in _buttons(row) and "✅ Done" not in str(row), "open again everywhere"


def test_the_undo_of_a_typed_snooze_brings_the_action_back_today(web: FlaskClient, fake: FakeSlack,
                                                                  ann: User) -> None:
    add_leads(ann, "Bea Stone")
    first = plan_of(ann).items[0]
    command(web, fake, "snooze Bea Stone next monday")
    assert _answer(fake)["text"] == "💤 Snoozed until Mon 30 Nov: Reach out to Bea Stone."

    _press_in_answer(web, fake, _undo_of(_answer(fake)))

    assert state_of(ann, first.action_id) == ActionState.NEW
    again = plan_of(ann).items[0]
    assert (again.action_id, again.state, again.due_date) == (first.action_id, ActionState.NEW, date(2026, 11, 25))
    assert _answer(fake)["text"] == "↩️ Undone, open again: Reach out to Bea Stone."


def test_the_undo_of_a_typed_unsnooze_puts_back_the_snooze_and_its_date(web: FlaskClient, fake: FakeSlack,
                                                                         ann: User) -> None:
    add_leads(ann, "Bea Stone")
    first = plan_of(ann).items[0]
    command(web, fake, "snooze 1 2026-12-09")
    command(web, fake, "unsnooze Bea Stone")
    assert _answer(fake)["text"] == "⏰ Unsnoozed, open again and due today: Reach out to Bea Stone."
    assert snoozed_until(ann, first.action_id) == (ActionState.NEW, None)

    _press_in_answer(web, fake, _undo_of(_answer(fake)))

    assert _answer(fake)["text"] == "↩️ Undone, back to snoozed until Wed 9 Dec: Reach out to Bea Stone."
    assert snoozed_until(ann, first.action_id) == (ActionState.SNOOZED, date(2026, 12, 9))


def test_a_repeated_typed_mark_offers_no_undo(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone")
    plan_of(ann)  # today's plan, the one whose numbers she types
    command(web, fake, "done 1")
    command(web, fake, "done 1")
    assert _answer(fake)["text"] == "Already done: #1 of today's plan — Reach out to Bea Stone."
    assert not _answer(fake).get("blocks")


def test_undo_after_a_snooze_was_moved_brings_back_the_date_it_had_before(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    """Snoozed from the plan DM's menu, then moved with the date picker of the same message as Slack
    still showed it (another device, or before the redraw came): the row's Undo takes back the move,
    so the action stays snoozed until the preset's day instead of coming back open, and the snooze
    the person had set is not lost. A second press takes back nothing more (one change, not a chain)."""
    add_leads(ann, "Bea Stone")
    command(web, fake, "today", channel="DU1")
    posted = fake.calls_to("chat.postMessage")[-1].args["blocks"]
    first = plan_of(ann).items[0].action_id
    tomorrow = {"type": "static_select", "action_id": "nbm_snooze", "block_id": f"plan|{first}",
                "selected_option": {"value": "2026-11-26", "text": {"type": "plain_text", "text": "Tomorrow"}}}
    interact(web, block_action(fake, tomorrow, container=IN_THE_DM, message_blocks=posted))
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        picked = {"type": "datepicker", "action_id": "nbm_snooze_date", "block_id": f"plan|{first}",
                  "selected_date": "2026-12-07"}
        interact(web, block_action(fake, picked, container=IN_THE_DM, message_blocks=posted))
    assert snoozed_until(ann, first) == (ActionState.SNOOZED, date(2026, 12, 7))
    after_move = fake.calls_to("chat.update")[-1].args["blocks"]

    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        _press(web, fake, after_move, "nbm_undo", first)
        assert snoozed_until(ann, first) == (ActionState.SNOOZED, date(2026, 11, 26))
        _press(web, fake, after_move, "nbm_undo", first)  # a double press, or Slack's retry

    assert snoozed_until(ann, first) == (ActionState.SNOOZED, date(2026, 11, 26))
    assert replies(fake) == [NOTHING_TO_UNDO]
    assert [(e.from_state, e.to_state) for e in events_of(ann, first)][1:] == [
        (ActionState.NEW, ActionState.SNOOZED), (ActionState.SNOOZED, ActionState.SNOOZED),
        (ActionState.SNOOZED, ActionState.SNOOZED)]


def test_a_typed_snooze_moved_to_another_day_offers_undo_back_to_the_day_before(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    """The answer to a typed move offers Undo, which puts the snooze back to the day it had; the
    first snooze's Undo, pressed once the move was made, names a change that no longer is the last,
    so it unsnoozes nothing."""
    add_leads(ann, "Bea Stone")
    first = plan_of(ann).items[0]
    command(web, fake, "snooze 1")
    undo_first = _undo_of(_answer(fake))
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        command(web, fake, "snooze Bea Stone next monday")
        assert _answer(fake)["text"] == "💤 Snoozed until Mon 30 Nov: Reach out to Bea Stone."
        undo_move = _undo_of(_answer(fake))
        _press_in_answer(web, fake, undo_first)
        assert _answer(fake)["text"] == NOTHING_TO_UNDO
        assert snoozed_until(ann, first.action_id) == (ActionState.SNOOZED, date(2026, 11, 30))

        _press_in_answer(web, fake, undo_move)

    assert _answer(fake)["text"] == "↩️ Undone, back to snoozed until Thu 26 Nov: Reach out to Bea Stone."
    assert snoozed_until(ann, first.action_id) == (ActionState.SNOOZED, date(2026, 11, 26))


def snoozed_until(user: User, action_id: Any) -> tuple[ActionState, date | None]:
    with unit_of_work(user_id=user.id) as session:
        action = session.get_one(Action, action_id)
        assert action.snooze_until in (None, action.due_date)
        return action.state, action.snooze_until


def test_a_typed_marks_undo_takes_back_nothing_once_another_change_followed(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    """The answer names the Sent; once Replied followed it, its Undo must not take back the Replied."""
    add_leads(ann, "Bea Stone")
    first = plan_of(ann).items[0]
    command(web, fake, "sent 1")
    undo_sent = _undo_of(_answer(fake))
    command(web, fake, "replied Bea Stone")

    _press_in_answer(web, fake, undo_sent)

    assert state_of(ann, first.action_id) == ActionState.REPLIED
    assert _answer(fake)["text"].startswith("Nothing to undo:")
