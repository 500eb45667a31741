"""Presses on the plan: acknowledged, applied once through the core, and redrawn in place."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from bot.web import create_app
from core.actions.service import change_state
from core.models import ActionState, Channel, Delivery, DeliveryKind, DeliveryStatus, User
from tests.factories import make_action, make_plan
from tests.slack.conftest import (
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


def _posted_plan(web: FlaskClient, fake: FakeSlack) -> dict[str, Any]:
    command(web, fake, "today", channel="DU1")
    return fake.calls_to("chat.postMessage")[-1].args


def _in_message(fake: FakeSlack, posted: dict[str, Any], action: dict[str, Any]) -> dict[str, Any]:
    container = {"type": "message", "channel_id": "DU1", "message_ts": "1700000000.000001", "is_ephemeral": False}
    return block_action(fake, action, container=container, message_blocks=posted["blocks"])


def _button(action_id: str, item_id: Any, surface: str = "plan") -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "block_id": f"{surface}|{item_id}", "value": str(item_id)}


def test_done_changes_state_once_and_updates_the_message_in_place(web: FlaskClient, fake: FakeSlack,
                                                                   ann: User) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz")
    posted = _posted_plan(web, fake)
    first = plan_of(ann).items[0]
    press = _in_message(fake, posted, _button("nbm_done", first.action_id))

    assert interact(web, press).status_code == 200
    assert interact(web, press).status_code == 200  # a double click
    assert interact(web, press, {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}).status_code == 200

    assert state_of(ann, first.action_id) == ActionState.DONE
    assert [e.to_state for e in events_of(ann, first.action_id)] == [ActionState.NEW, ActionState.DONE]
    update = fake.calls_to("chat.update")[0].args
    assert (update["channel"], update["ts"]) == ("DU1", "1700000000.000001")
    first_block = next(b for b in update["blocks"] if b.get("block_id") == f"plan|{first.action_id}")
    assert "✅ Done" in first_block["text"]["text"]
    assert not any(b.get("block_id") == f"plan|{first.action_id}" and b["type"] == "actions" for b in update["blocks"])
    run_redraws()
    assert fake.calls_to("views.publish"), "App Home follows"
    assert replies(fake) == []


@pytest.mark.parametrize(("action_id", "state"), [("nbm_sent", ActionState.SENT), ("nbm_replied", ActionState.REPLIED)])
def test_sent_and_replied_buttons(web: FlaskClient, fake: FakeSlack, ann: User, action_id: str,
                                  state: ActionState) -> None:
    add_leads(ann, "Bea Stone")
    posted = _posted_plan(web, fake)
    item = plan_of(ann).items[0]
    interact(web, _in_message(fake, posted, _button(action_id, item.action_id)))
    assert state_of(ann, item.action_id) == state


def test_snooze_menu_and_date_picker(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz")
    posted = _posted_plan(web, fake)
    first, second = plan_of(ann).items
    menu = next(e for b in posted["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["action_id"] == "nbm_snooze")
    assert [o["text"]["text"] for o in menu["options"]] == [
        "Tomorrow (Thu 26 Nov)", "Next Monday (Mon 30 Nov)", "In 2 weeks (Wed 9 Dec)"]
    preset = {"type": "static_select", "action_id": "nbm_snooze", "block_id": f"plan|{first.action_id}",
              "selected_option": {"value": "2026-11-30", "text": {"type": "plain_text", "text": "Next Monday"}}}
    picked = {"type": "datepicker", "action_id": "nbm_snooze_date", "block_id": f"plan|{second.action_id}",
              "selected_date": "2026-12-07"}
    interact(web, _in_message(fake, posted, preset))
    interact(web, _in_message(fake, posted, picked))
    with_dates = {item.action_id: item for item in plan_of(ann).items}
    assert with_dates[first.action_id].state == with_dates[second.action_id].state == ActionState.SNOOZED
    assert [item.due_date for item in plan_of(ann).items] == [date(2026, 11, 30), date(2026, 12, 7)]


def test_a_date_in_the_past_is_refused_ephemerally_and_changes_nothing(web: FlaskClient, fake: FakeSlack,
                                                                       ann: User) -> None:
    add_leads(ann, "Bea Stone")
    posted = _posted_plan(web, fake)
    item = plan_of(ann).items[0]
    interact(web, _in_message(fake, posted, {"type": "datepicker", "action_id": "nbm_snooze_date",
                                             "block_id": f"plan|{item.action_id}", "selected_date": "2026-11-25"}))
    assert state_of(ann, item.action_id) == ActionState.NEW
    (answer,) = fake.calls_to("respond")
    assert answer.args["text"] == "A snooze must end after today (Wed 25 Nov); Wed 25 Nov is today, so pick a later day"
    assert (answer.args["response_type"], answer.args["replace_original"]) == ("ephemeral", False)
    assert fake.calls_to("chat.update") == []


def test_a_refused_transition_says_what_is_possible(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone")
    posted = _posted_plan(web, fake)
    item = plan_of(ann).items[0]
    interact(web, _in_message(fake, posted, _button("nbm_replied", item.action_id)))
    interact(web, _in_message(fake, posted, _button("nbm_sent", item.action_id)))
    assert state_of(ann, item.action_id) == ActionState.REPLIED
    assert replies(fake) == ["This action is replied, so you cannot mark it sent; you can: mark it done"]


def test_a_press_in_app_home_republishes_it_and_the_plan_dm_of_the_morning(
        web: FlaskClient, fake: FakeSlack, ann: User, service: Session) -> None:
    add_leads(ann, "Bea Stone")
    item = plan_of(ann).items[0]
    service.add(Delivery(user_id=ann.id, kind=DeliveryKind.PLAN, channel=Channel.SLACK, period=date(2026, 11, 25),
                         status=DeliveryStatus.SENT, external_id="DU1:1700000000.000777"))
    service.flush()
    interact(web, block_action(fake, _button("nbm_done", item.action_id, surface="home")))
    assert state_of(ann, item.action_id) == ActionState.DONE
    run_redraws()
    (home,) = fake.calls_to("views.publish")
    assert home.args["user_id"] == "U1" and home.args["view"]["type"] == "home"
    assert "✅ Done" in str(home.args["view"]["blocks"])
    (update,) = fake.calls_to("chat.update")
    assert (update.args["channel"], update.args["ts"]) == ("DU1", "1700000000.000777")


def test_an_error_from_app_home_is_shown_in_a_small_modal(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone")
    item = plan_of(ann).items[0]
    interact(web, block_action(fake, {"type": "datepicker", "action_id": "nbm_snooze_date",
                                      "block_id": f"home|{item.action_id}", "selected_date": "2020-01-01"}))
    (modal,) = fake.calls_to("views.open")
    assert "A snooze must end after today" in str(modal.args["view"]["blocks"])


def test_replied_in_the_waiting_list_redraws_that_list(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone")
    command(web, fake, "sent 1")
    item = plan_of(ann).items[0]
    container = {"type": "message", "channel_id": "C1", "message_ts": "1700000000.000042", "is_ephemeral": True}
    interact(web, block_action(fake, _button("nbm_replied", item.action_id, surface="waiting"), container=container))
    assert state_of(ann, item.action_id) == ActionState.REPLIED
    redrawn = fake.calls_to("respond")[-1].args
    assert redrawn["replace_original"] is True
    assert redrawn["text"] == "Nothing is waiting for a reply. Actions you mark Sent show up here."


def test_a_press_on_yesterdays_plan_redraws_yesterdays_plan(web: FlaskClient, fake: FakeSlack, ann: User,
                                                            service: Session) -> None:
    old = make_action(service, ann, due_date=date(2026, 11, 24), created_at=datetime(2026, 11, 24, 9, tzinfo=UTC))
    make_plan(service, ann, [old], date=date(2026, 11, 24))
    blocks = [{"type": "header", "block_id": "plan|2026-11-24", "text": {"type": "plain_text", "text": "x"}}]
    container = {"type": "message", "channel_id": "DU1", "message_ts": "1699999999.000001", "is_ephemeral": False}
    interact(web, block_action(fake, _button("nbm_done", old.id), container=container, message_blocks=blocks))
    update = next(c.args for c in fake.calls_to("chat.update") if c.args["ts"] == "1699999999.000001")
    assert update["blocks"][0]["text"]["text"] == "Your next best moves for Tue 24 Nov"
    assert state_of(ann, old.id) == ActionState.DONE


def test_a_forged_block_id_is_refused_plainly(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    interact(web, _in_message(fake, {"blocks": []}, {"type": "button", "action_id": "nbm_done",
                                                   "block_id": "plan|not-a-uuid", "value": "x"}))
    assert replies(fake) == ["That button no longer matches an action; open /nbm today for a fresh plan"]


def test_sent_then_replied_in_the_same_message_updates_it_each_time(web: FlaskClient, fake: FakeSlack,
                                                                    ann: User) -> None:
    add_leads(ann, "Bea Stone")
    posted = _posted_plan(web, fake)
    item = plan_of(ann).items[0]
    interact(web, _in_message(fake, posted, _button("nbm_sent", item.action_id)))
    sent = fake.calls_to("chat.update")[-1].args
    (row,) = [b for b in sent["blocks"] if b.get("accessory", {}).get("action_id") == "nbm_replied"]
    assert "📤 Sent, waiting for a reply" in str(sent["blocks"]) and "*Waiting for a reply* (1)" in str(sent["blocks"])

    interact(web, _in_message(fake, {"blocks": sent["blocks"]}, {**row["accessory"], "block_id": row["block_id"]}))
    assert state_of(ann, item.action_id) == ActionState.REPLIED
    assert [(e.to_state, e.channel) for e in events_of(ann, item.action_id)][1:] == [
        (ActionState.SENT, Channel.SLACK), (ActionState.REPLIED, Channel.SLACK)]
    replied = fake.calls_to("chat.update")[-1].args
    assert (replied["channel"], replied["ts"]) == ("DU1", "1700000000.000001")
    assert "💬 Replied" in str(replied["blocks"]) and "Waiting for a reply" not in str(replied["blocks"])


def test_a_press_is_acknowledged_before_its_work_is_done(oauth_env: None, fake: FakeSlack, ann: User,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """With listeners on a real thread, Slack gets its 200 while the state change is still held back."""
    add_leads(ann, "Bea Stone")
    item = plan_of(ann).items[0]
    release, changed = threading.Event(), threading.Event()

    def held_back(*args: Any, **kwargs: Any) -> Any:
        assert release.wait(10), "the test never released the change"
        result = change_state(*args, **kwargs)
        changed.set()
        return result

    pool = ThreadPoolExecutor(max_workers=1)
    monkeypatch.setattr("bot.slack.app.new_listener_executor", lambda: pool)
    monkeypatch.setattr("bot.slack.listeners.actions.change_state", held_back)
    threaded = create_app().test_client()
    try:
        response = interact(threaded, block_action(fake, _button("nbm_done", item.action_id, surface="home")))
        assert response.status_code == 200 and not changed.is_set()
    finally:
        release.set()
        pool.shutdown(wait=True)
    assert changed.is_set() and state_of(ann, item.action_id) == ActionState.DONE
    run_redraws()
    assert fake.calls_to("views.publish")
