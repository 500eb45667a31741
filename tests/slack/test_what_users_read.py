"""What a Slack user reads is true: nothing cut silently, dates on work days, one wording, notes shown."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actions.service import change_state
from core.db import unit_of_work
from core.leads import add_lead
from core.models import Action, ActionState, Channel, Lead, User
from tests.factories import NINE_WORK_DAYS, make_lead, make_streak
from tests.slack.conftest import NOW, add_leads, block_action, command, event, interact, plan_drawn, replies
from tests.slack.fake_slack import FakeSlack

SATURDAY = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # noon in London


@pytest.fixture()
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _send_first_message(user: User, lead: Lead) -> uuid.UUID:
    """Mark the lead's outreach sent, as the user would; its id."""
    with unit_of_work(user_id=user.id) as session:
        outreach = session.scalars(select(Action).where(Action.person_id == lead.id)).one()
        change_state(session, user=session.get_one(User, user.id), action_id=outreach.id, to=ActionState.SENT,
                     channel=Channel.CLI)
        return outreach.id


def _sent(user: User, count: int) -> list[str]:
    """``count`` leads, each with its first message marked sent; their names, oldest sent first."""
    names = [f"Lead {n:02d}" for n in range(count)]
    for lead in add_leads(user, *names):
        _send_first_message(user, lead)
    return names


def _texts(blocks: list[dict[str, Any]]) -> str:
    return str(blocks)


def test_the_plan_counts_everyone_waiting_and_says_where_to_see_the_rest(
    web: FlaskClient, fake: FakeSlack, ann: User, clock: Any
) -> None:
    _sent(ann, 30)
    add_leads(ann, "Bea Stone")
    command(web, fake, "today", channel="DU1")
    shown = _texts(plan_drawn(fake)["blocks"])
    assert "*Waiting for a reply* (30)" in shown
    assert "…and 20 more waiting. `/nbm waiting` lists them all." in shown


def test_nbm_waiting_pages_through_everyone(web: FlaskClient, fake: FakeSlack, ann: User, clock: Any) -> None:
    names = _sent(ann, 50)
    command(web, fake, "waiting")
    command(web, fake, "waiting 2")
    command(web, fake, "waiting two")
    first, second, bad = fake.calls_to("respond")
    listed = re.findall(r"to (Lead \d\d)", _texts(first.args["blocks"]) + _texts(second.args["blocks"]))
    assert sorted(listed) == names  # each once across the two pages (sent in the same instant: any order)
    assert "`/nbm waiting 2` shows the next 5." in _texts(first.args["blocks"])
    assert "'two' is not a page number" in bad.args["text"]


def test_app_home_cuts_the_lead_list_between_leads_and_counts_the_rest(
    web: FlaskClient, fake: FakeSlack, ann: User, service: Session, clock: Any
) -> None:
    for n in range(15):
        make_lead(service, ann, name=f"{n:02d} " + "Very long name " * 13, url=f"https://x.io/{n}/" + "p" * 150)
    event(web, {"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home"})
    blocks = fake.calls_to("views.publish")[0].args["view"]["blocks"]
    leads = next(b["text"]["text"] for b in blocks if b.get("text", {}).get("text", "").startswith("• <"))
    lines = leads.split("\n")
    assert all(line.startswith("• <https://x.io/") and line.endswith(">") for line in lines[:-1])
    shown = len(lines) - 1
    assert 0 < shown < 15 and lines[-1] == f"…and {15 - shown} more not shown: `/nbm leads` lists them all."


def test_on_a_saturday_snooze_offers_work_days_and_the_streak_does_not_nag(
    web: FlaskClient, fake: FakeSlack, ann: User, service: Session
) -> None:
    with time_machine.travel(SATURDAY, tick=False):
        add_leads(ann, "Bea Stone")
        ann_now = service.get_one(User, ann.id)
        ann_now.streak_count, ann_now.last_action_date = 8, SATURDAY.date() - timedelta(days=1)
        service.flush()
        command(web, fake, "today", channel="DU1")
        command(web, fake, "streak")
    menu = next(e for b in fake.calls_to("chat.postMessage")[-1].args["blocks"] if b["type"] == "actions"
                for e in b["elements"] if e["action_id"] == "nbm_snooze")
    assert menu["options"][0]["text"]["text"] == "Next work day (Mon 30 Nov)"
    assert all(not o["text"]["text"].endswith(("(Sat 28 Nov)", "(Sun 29 Nov)")) for o in menu["options"])
    assert replies(fake)[-1] == "🔥 You are on an 8-day streak. Today is not a work day, so it is safe without one."


def test_a_follow_up_closed_by_a_reply_says_so_and_a_lead_is_not_both_to_do_and_waiting(
    web: FlaskClient, fake: FakeSlack, ann: User, clock: Any
) -> None:
    # Bea's first message went out on Friday; her follow-up is due today, Wednesday.
    with time_machine.travel(datetime(2026, 11, 20, 12, 0, tzinfo=UTC), tick=False):
        (bea,) = add_leads(ann, "Bea Stone")
        outreach = _send_first_message(ann, bea)
    command(web, fake, "today", channel="DU1")
    shown = _texts(plan_drawn(fake)["blocks"])
    assert "Follow up with Bea Stone" in shown
    assert "Your first message to Bea Stone" not in shown and "Reach out to Bea Stone" not in shown

    # She answered the first message: Replied on it, from the full waiting list.
    container = {"type": "message", "channel_id": "C1", "message_ts": "1700000000.000002", "is_ephemeral": True}
    press = {"type": "button", "action_id": "nbm_replied", "block_id": f"waiting|{outreach}|waiting",
             "value": str(outreach)}
    interact(web, block_action(fake, press, container=container))
    command(web, fake, "today", channel="DU1")
    shown = _texts(plan_drawn(fake)["blocks"])
    assert "~1. Follow up with Bea Stone~  💬 Closed — they replied" in shown and "Archived" not in shown


def test_notes_are_shown_where_the_user_acts(web: FlaskClient, fake: FakeSlack, ann: User, clock: Any) -> None:
    with unit_of_work(user_id=ann.id) as session:
        add_lead(session, user=session.get_one(User, ann.id), name="Priya Raman", url="https://x.io/priya",
                 notes="met at SaaStr,\nwants a pilot in January " + "and more " * 20, channel=Channel.CLI)
    command(web, fake, "today", channel="DU1")
    shown = _texts(plan_drawn(fake)["blocks"])
    assert "📝 _met at SaaStr, wants a pilot in January and more" in shown and "…_" in shown


def test_the_streak_in_slack_is_the_streak_as_of_the_users_today(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    """Until the hourly housekeeping has run, the stored streak is still yesterday's: a user who missed a
    work day saw "9-day streak" in the morning's plan, App Home and `/nbm streak`. Each shows the streak
    as of the user's today: still 9 on Wednesday (the day is not over), none on Thursday after an empty
    Wednesday."""
    make_streak(ann, NINE_WORK_DAYS)
    shown = {}
    for morning in (datetime(2026, 11, 25, 7, 30, tzinfo=UTC), datetime(2026, 11, 26, 7, 30, tzinfo=UTC)):
        fake.reset()
        with time_machine.travel(morning, tick=False):
            command(web, fake, "streak")
            command(web, fake, "today", channel="DU1")
            event(web, {"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home"},
                  event_id=f"Ev{morning.day}")
        shown[morning.day] = (replies(fake)[0], str(fake.calls_to("chat.postMessage")[-1].args["blocks"]),
                              str(fake.calls_to("views.publish")[-1].args["view"]["blocks"]))
    streak, plan, home = shown[25]
    assert streak == "🔥 You are on a 9-day streak. One action done today keeps it going."
    assert "🔥 9-day streak" in plan and "🔥 9-day streak" in home
    streak, plan, home = shown[26]
    assert streak == "Finish one action today to start a streak."
    assert "streak" not in plan and "streak" not in home
