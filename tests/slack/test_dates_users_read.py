"""Dates in Slack are read from the user's own today: an older plan message redrawn after a press
offers snooze presets from today, not from the day the plan was for; and a date months away says
its year (core.text.short_date_from), as a snooze's end does."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import select

from core.actions.service import change_state
from core.db import unit_of_work
from core.models import Action, ActionState, Channel, User
from tests.slack.conftest import add_leads, block_action, command, interact, replies
from tests.slack.fake_slack import FakeSlack

THURSDAY = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # the day after NOW, noon in London


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
