"""Dates in Slack are read from the user's own today: an older plan message redrawn after a press
offers snooze presets from today, not from the day the plan was for; and a date months away says
its year (core.text.short_date_from), as a snooze's end does: a plan message's day and a summary's
week too, when the message is redrawn months on."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.slack.delivery import summary_sender
from core.actions.service import change_state
from core.db import unit_of_work
from core.models import Action, ActionState, Channel, User
from tests.factories import JOINED, joined
from tests.slack.conftest import add_leads, block_action, command, deliver_dm, interact, replies
from tests.slack.fake_slack import FakeSlack

THURSDAY = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # the day after NOW, noon in London
MONTHS_ON = datetime(2027, 4, 7, 12, 0, tzinfo=UTC)  # 133 days after NOW


def _snooze_menus(blocks: list[dict]) -> list[list[str]]:
    return [[o["text"]["text"] for o in element["options"]] for block in blocks if block["type"] == "actions"
            for element in block["elements"] if element["action_id"] == "nbm_snooze"]


@pytest.mark.usefixtures("clock")
def test_yesterdays_plan_message_redrawn_after_a_press_offers_snoozes_from_today(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz")
    command(web, fake, "today", channel="DU1")  # Wednesday's plan DM
    posted = fake.calls_to("chat.postMessage")[-1].args
    assert _snooze_menus(posted["blocks"])[0][0] == "Tomorrow (Thu 26 Nov)"
    controls = next(b for b in posted["blocks"] if b["type"] == "actions")
    sent = next(e for e in controls["elements"] if e["action_id"] == "nbm_sent")
    container = {"type": "message", "channel_id": posted["channel"], "message_ts": "1700000000.000001"}
    with time_machine.travel(THURSDAY, tick=False):  # Sent pressed on Wednesday's message, on Thursday
        interact(web, block_action(fake, {"type": "button", "action_id": "nbm_sent", "value": sent["value"],
                                          "block_id": controls["block_id"]},
                                   container=container, message_blocks=posted["blocks"]))
    redrawn = fake.calls_to("chat.update")[-1].args
    assert redrawn["ts"] == "1700000000.000001"
    (menu,) = _snooze_menus(redrawn["blocks"])  # the item still open
    assert menu[0] == "Tomorrow (Fri 27 Nov)" and not any("Thu 26 Nov" in label for label in menu)


@pytest.mark.usefixtures("clock")
def test_a_call_months_away_is_confirmed_with_its_year(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone")
    command(web, fake, "call Bea 2027-03-01")
    assert replies(fake) == ["📞 Logged your call with Bea Stone on Mon 1 Mar 2027. "
                             "Planned: prep on Fri 26 Feb 2027 and the follow-up on Tue 2 Mar 2027."]


def test_a_message_sent_months_ago_says_its_year_in_the_waiting_list(web: FlaskClient, fake: FakeSlack,
                                                                     ann: User) -> None:
    with time_machine.travel(datetime(2026, 7, 15, 12, 0, tzinfo=UTC), tick=False):
        leads = add_leads(ann, "Bea Stone", "Carl Diaz")
        with unit_of_work(user_id=ann.id) as session:
            for lead in leads:
                outreach = session.scalars(select(Action.id).where(Action.person_id == lead.id)).one()
                change_state(session, user=session.get_one(User, ann.id), action_id=outreach, to=ActionState.SENT,
                             channel=Channel.CLI)
    with time_machine.travel(datetime(2026, 11, 25, 12, 0, tzinfo=UTC), tick=False):
        command(web, fake, "waiting")
        command(web, fake, "capacity micro")  # one lead's follow-up in the plan: the other one is waiting there
        command(web, fake, "today", channel="DU1")
    assert "Sent Wed 15 Jul 2026" in str(fake.calls_to("respond")[0].args["blocks"])
    assert "Sent Wed 15 Jul 2026" in str(fake.calls_to("chat.postMessage")[-1].args["blocks"])


@pytest.mark.usefixtures("clock")
def test_a_plan_message_redrawn_months_on_names_its_day_with_the_year(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    """"Your next best moves for Wed 25 Nov", read in April 2027, is a day still to come (and a Thursday)."""
    add_leads(ann, "Bea Stone", "Carl Diaz")
    command(web, fake, "today", channel="DU1")
    posted = fake.calls_to("chat.postMessage")[-1].args
    assert posted["text"].startswith("Your next best moves for Wed 25 Nov: ")
    controls = next(b for b in posted["blocks"] if b["type"] == "actions")
    sent = next(e for e in controls["elements"] if e["action_id"] == "nbm_sent")
    container = {"type": "message", "channel_id": posted["channel"], "message_ts": "1700000000.000001"}
    with time_machine.travel(MONTHS_ON, tick=False):
        interact(web, block_action(fake, {"type": "button", "action_id": "nbm_sent", "value": sent["value"],
                                          "block_id": controls["block_id"]},
                                   container=container, message_blocks=posted["blocks"]))
    redrawn = fake.calls_to("chat.update")[-1].args
    assert redrawn["ts"] == "1700000000.000001"
    assert redrawn["text"].startswith("Your next best moves for Wed 25 Nov 2026: ")
    assert redrawn["blocks"][0]["text"]["text"] == "Your next best moves for Wed 25 Nov 2026"


@pytest.mark.usefixtures("clock")
def test_a_summary_redrawn_months_on_names_its_week_with_the_year(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    """A "Save draft" pressed in April 2027 on the summary DM of 16–22 Nov 2026 redraws it: "Your week of
    16–22 Nov" would then read as a week still to come."""
    joined(ann, JOINED)
    channel, ts = deliver_dm(summary_sender, ann, date(2026, 11, 16))
    posted = fake.calls_to("chat.postMessage")[0].args
    assert posted["text"].startswith("Your week of 16–22 Nov: ")
    button = next(b["accessory"] for b in posted["blocks"] if b.get("block_id") == "draft_open|WIN_POST")
    with time_machine.travel(MONTHS_ON, tick=False):
        interact(web, block_action(fake, {"type": "button", "action_id": button["action_id"],
                                          "block_id": "draft_open|WIN_POST", "value": button["value"]},
                                   container={"type": "message", "channel_id": channel, "message_ts": ts},
                                   message_blocks=posted["blocks"]))
    redrawn = fake.calls_to("chat.update")[-1].args
    assert (redrawn["channel"], redrawn["ts"]) == (channel, ts)
    assert redrawn["text"].startswith("Your week of 16–22 Nov 2026: ")
    assert redrawn["blocks"][0]["text"]["text"] == "Your week of 16–22 Nov 2026"
