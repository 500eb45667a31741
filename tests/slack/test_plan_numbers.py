"""What a plan number typed in ``/nbm`` means: an item of today's plan the person has seen, through
the signed slash command. A number typed before today's plan exists was read in another plan
(yesterday's DM, an older message), so it marks nothing: the plan is made and shown, and the answer
says to type the number from it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.slack.delivery import plan_sender
from core.actions.service import change_state
from core.db import unit_of_work
from core.models import Action, ActionState, Channel, Delivery, DeliveryKind, DeliveryStatus, User
from tests.slack.conftest import (
    NOW,
    add_leads,
    block_action,
    command,
    deliver_dm,
    events_of,
    interact,
    plan_of,
    replies,
    run_redraws,
    state_of,
)
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")

BEFORE_PLAN = "Nothing was changed: today's plan did not exist until now, so the number you typed could not be from it."


def _leads_added_yesterday(ann: User) -> None:
    """Ann's leads, added yesterday: yesterday's plan numbered them, today has no plan yet."""
    with time_machine.travel(NOW - timedelta(days=1), tick=False):
        add_leads(ann, "Bea Stone", "Carl Diaz", "Dan Ode")


@pytest.mark.parametrize(("typed", "word"), [("done 2", "done"), ("sent #2", "sent"), ("snooze 2 tomorrow", "snooze")])
def test_a_number_typed_before_todays_plan_exists_marks_nothing_and_shows_the_plan(
        web: FlaskClient, fake: FakeSlack, ann: User, typed: str, word: str) -> None:
    """Before the fix, the plan was made for the command and its #2, never seen, was marked."""
    _leads_added_yesterday(ann)
    command(web, fake, typed)
    plan = plan_of(ann)
    assert [item.state for item in plan.items] == [ActionState.NEW] * 3
    assert all(len(events_of(ann, item.action_id)) == 1 for item in plan.items)  # created, nothing since
    (posted,) = fake.calls_to("chat.postMessage")
    assert posted.args["channel"] == "DU1"
    assert posted.args["text"] == "Your next best moves for Wed 25 Nov: 3 actions, ~30 min"
    assert replies(fake) == [f"{BEFORE_PLAN} It is in your DM with me now. The numbers refer to this plan: "
                             f"type `/nbm {word}` again with the number from it."]

    fake.calls.clear()
    command(web, fake, typed)
    second = plan_of(ann).items[1]
    assert second.action_id == plan.items[1].action_id and second.state != ActionState.NEW
    assert f"#2 of today's plan — {second.title}" in replies(fake)[0]
    assert fake.calls_to("chat.postMessage") == []


def test_typed_in_the_dm_the_plan_is_just_above_the_answer(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    _leads_added_yesterday(ann)
    command(web, fake, "done 2", channel="DU1")
    assert len(fake.calls_to("chat.postMessage")) == 1
    assert replies(fake) == [f"{BEFORE_PLAN} Here it is, just above. The numbers refer to this plan: type "
                             "`/nbm done` again with the number from it."]


def test_an_unsnooze_by_number_before_the_plan_points_to_the_leads_name(
        web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    """A plan just made holds only open actions: no number of it can be unsnoozed."""
    _leads_added_yesterday(ann)
    command(web, fake, "unsnooze 1")
    assert replies(fake) == [f"{BEFORE_PLAN} It is in your DM with me now; a plan just made holds nothing "
                             "snoozed, so name the lead instead (`/nbm unsnooze` with their name or link)."]


def test_a_number_before_an_empty_plan_says_it_has_no_numbers(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    command(web, fake, "done 1")
    (posted,) = fake.calls_to("chat.postMessage")
    assert "nothing due" in posted.args["text"]
    assert replies(fake) == [f"{BEFORE_PLAN} It is in your DM with me now: nothing is due, so it has no numbers; "
                             "name a lead instead (`/nbm done` with their name or link)."]


def test_a_lead_named_before_todays_plan_exists_is_marked_at_once(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    _leads_added_yesterday(ann)
    command(web, fake, "done Carl")
    carl = next(item for item in plan_of(ann).items if item.lead_name == "Carl Diaz")
    assert state_of(ann, carl.action_id) == ActionState.DONE
    assert replies(fake)[0].startswith("✅ Marked done: Reach out to Carl Diaz.")
    assert fake.calls_to("chat.postMessage") == []


# --- a number is the item's for the day --------------------------------------------------------

_ROW = re.compile(r"^[*~](\d+)\.\*? (?:⚡ \*Fast Win\* · )?\*?([^*~\n]+)")


def numbered_rows(blocks: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """Each plan row of ``blocks`` as (the number it shows, the title), top to bottom."""
    texts = [str((block.get("text") or {}).get("text") or "") for block in blocks if block.get("type") == "section"]
    return [(int(row.group(1)), row.group(2)) for row in map(_ROW.match, texts) if row is not None]


def morning_of_four(ann: User) -> None:
    """Zed Wolf, written to yesterday, waits for a reply (his follow-up is not due yet: in no plan); Bea, Dan,
    Carl and Eve are added this morning a minute apart, so today's plan reaches out to them in that
    order, Bea's the Fast Win: #1 to #4."""
    with time_machine.travel(NOW - timedelta(days=1), tick=False):
        (zed,) = add_leads(ann, "Zed Wolf")
        with unit_of_work(user_id=ann.id) as session:
            outreach = session.scalars(select(Action).where(Action.person_id == zed.id)).one()
            change_state(session, user=session.get_one(User, ann.id), action_id=outreach.id, to=ActionState.SENT,
                         channel=Channel.CLI)
    for minutes, name in enumerate(["Bea Stone", "Dan Ode", "Carl Diaz", "Eve Park"], start=1):
        with time_machine.travel(NOW - timedelta(hours=3) + timedelta(minutes=minutes), tick=False):
            add_leads(ann, name)


def _reply_from_zed(web: FlaskClient, fake: FakeSlack, ann: User, how: str, dm: dict[str, Any]) -> None:
    if how == "command":
        command(web, fake, "replied Zed")
        return
    zed = next(item.action_id for item in plan_of(ann).waiting if item.lead_name == "Zed Wolf")
    row = next(block["block_id"] for block in dm["blocks"] if str(zed) in str(block.get("block_id")))
    container = {"type": "message", "channel_id": dm["channel"], "message_ts": dm["ts"], "is_ephemeral": False}
    press = {"type": "button", "action_id": "nbm_replied", "block_id": row, "value": str(zed)}
    interact(web, block_action(fake, press, container=container, message_blocks=dm["blocks"]))


@pytest.mark.parametrize("how", ["command", "button"])
def test_a_number_read_in_the_morning_still_marks_that_item_after_a_reply_joins_the_plan(
        web: FlaskClient, fake: FakeSlack, ann: User, service: Session, how: str) -> None:
    """Before the fix the number was the row's place: "Reply to Zed Wolf" joined right after the Fast
    Win, every later row moved down one, and `/nbm done 3` marked Dan, #2 in the morning."""
    morning_of_four(ann)
    channel, ts = deliver_dm(plan_sender, ann, NOW.date())  # the morning's plan DM, recorded as the job does
    service.add(Delivery(user_id=ann.id, kind=DeliveryKind.PLAN, channel=Channel.SLACK, period=NOW.date(),
                         status=DeliveryStatus.SENT, external_id=f"{channel}:{ts}"))
    service.flush()
    (posted,) = fake.calls_to("chat.postMessage")
    assert numbered_rows(posted.args["blocks"]) == [
        (1, "Reach out to Bea Stone"), (2, "Reach out to Dan Ode"), (3, "Reach out to Carl Diaz"),
        (4, "Reach out to Eve Park")]
    dm = {"channel": channel, "ts": ts, "blocks": posted.args["blocks"]}

    _reply_from_zed(web, fake, ann, how, dm)
    fake.calls.clear()
    command(web, fake, "done 3")
    assert replies(fake)[0].startswith("✅ Marked done: #3 of today's plan — Reach out to Carl Diaz.")
    states = {item.lead_name: item.state for item in plan_of(ann).items if item.title.startswith("Reach out")}
    assert states == {"Bea Stone": ActionState.NEW, "Dan Ode": ActionState.NEW, "Carl Diaz": ActionState.DONE,
                      "Eve Park": ActionState.NEW}

    run_redraws()
    shown = [(1, "Reach out to Bea Stone"), (5, "Reply to Zed Wolf"), (2, "Reach out to Dan Ode"),
             (3, "Reach out to Carl Diaz"), (4, "Reach out to Eve Park")]
    redrawn = fake.calls_to("chat.update")[-1].args
    assert (redrawn["channel"], redrawn["ts"]) == (channel, ts)
    assert numbered_rows(redrawn["blocks"]) == shown  # the morning's plan DM
    assert numbered_rows(fake.calls_to("views.publish")[-1].args["view"]["blocks"]) == shown  # App Home
    command(web, fake, "done 5")
    assert replies(fake)[-1].startswith("✅ Marked done: #5 of today's plan — Reply to Zed Wolf.")


def test_a_number_a_refresh_took_away_is_refused_naming_the_numbers_the_plan_has(
        web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    """Dan's #2, snoozed, leaves the plan at the next refresh (a lighter day): the others keep 1, 3 and
    4. Before the fix the rows were numbered again, 1 to 3, and `/nbm done 2` marked Carl."""
    morning_of_four(ann)
    plan_of(ann)
    command(web, fake, "snooze 2 tomorrow")
    command(web, fake, "capacity light")
    fake.calls.clear()
    command(web, fake, "done 2")
    assert replies(fake) == ["Today's plan has 3 actions; use one of 1, 3 and 4, or a lead's name or link"]
    assert [(item.number, item.lead_name, item.state) for item in plan_of(ann).items] == [
        (1, "Bea Stone", ActionState.NEW), (3, "Carl Diaz", ActionState.NEW), (4, "Eve Park", ActionState.NEW)]
    command(web, fake, "done 4")
    assert replies(fake)[-1].startswith("✅ Marked done: #4 of today's plan — Reach out to Eve Park.")
