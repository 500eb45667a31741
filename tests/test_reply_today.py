"""A reply comes back today: "Reply to <name>" joins today's plan the moment the action is marked
Replied, on every surface (the CLI, a Slack press, the email result page), though the replied action
already holds that lead's slot. The plan's size rule: the reply shares the slot of the action it
answers (one item more, nothing pushed out); for a lead not in the plan it takes the room of the last
open item."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from bot.email.links import EmailLinks
from core.actions import marks
from core.models import ActionOrigin, ActionState, ActionType, DailyPlanAction, User
from core.planner.service import build_plan, get_plan
from tests.email import conftest as email_fixtures
from tests.email.pages import World, action_path, make_world, text_of
from tests.factories import make_action, make_lead, make_plan, make_user
from tests.slack import conftest as slack_fixtures
from tests.slack.conftest import add_leads, block_action, command, interact, plan_of, run_redraws
from tests.slack.fake_slack import FakeSlack
from tests.test_cli_core import ok_json

NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)  # Wed 25 Nov: 09:00 in New York, 14:00 in London
EMAIL = "ann@example.com"

# The fixtures of tests/slack (signed requests, the fake Web API) and tests/email (the web client,
# signed links), which pytest finds here by name.
fake_server, fake, slack_env, oauth_env, web, installed, ann = (
    slack_fixtures.fake_server, slack_fixtures.fake, slack_fixtures.slack_env, slack_fixtures.oauth_env,
    slack_fixtures.web, slack_fixtures.installed, slack_fixtures.ann)
email_settings, client, links = email_fixtures.email_settings, email_fixtures.client, email_fixtures.links


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


# --- the CLI ----------------------------------------------------------------------------------

@pytest.fixture()
def user(connection: Connection) -> str:
    ok_json("users", "add", EMAIL, "--name", "Ann Lee", "--tz", "America/New_York")
    return EMAIL


def add(user: str, *names: str, clock: time_machine.Traveller) -> dict[str, str]:
    """Leads added a minute apart (the plan reaches out to the oldest first), then today's plan
    built; each lead's OUTREACH action id, by the lead's name."""
    for name in names:
        ok_json("leads", "add", "--user", user, name, f"https://x.io/{name.split()[0].lower()}")
        clock.shift(timedelta(minutes=1))
    return {action["lead"]: action["action_id"] for action in ok_json("plan", "--user", user)["items"]}


def titles(plan: dict[str, Any]) -> list[tuple[str, str]]:
    return [(item["title"], item["state"]) for item in plan["items"]]


def test_nbm_plan_shows_the_reply_right_after_marking_and_after_a_refresh(
    user: str, clock: time_machine.Traveller
) -> None:
    ids = add(user, "Bea Stone", "Carl Diaz", clock=clock)
    ok_json("mark", "--user", user, ids["Bea Stone"], "replied")
    # Bea's outreach, the oldest lead's, was the morning's Fast Win: the reply comes straight after it.
    expected = [("Reach out to Bea Stone", "REPLIED"), ("Reply to Bea Stone", "NEW"), ("Reach out to Carl Diaz", "NEW")]
    assert titles(ok_json("plan", "--user", user)) == expected
    assert titles(ok_json("plan", "--user", user, "--refresh")) == expected  # a refresh no longer leaves it out


def test_a_full_plan_grows_by_the_reply_and_keeps_every_lead(user: str, clock: time_machine.Traveller) -> None:
    names = ["Bea Stone", "Carl Diaz", "Dan Roe", "Eve Park", "Fay Wu"]
    ids = add(user, *names, clock=clock)
    assert len(ids) == 5  # the default capacity, full
    ok_json("mark", "--user", user, ids["Dan Roe"], "replied")
    plan = ok_json("plan", "--user", user)
    assert plan["capacity"] == "default" and len(plan["items"]) == 6
    assert {item["lead"] for item in plan["items"]} == set(names)
    assert [(item["title"], item["fast_win"]) for item in plan["items"][:2]] == [
        ("Reach out to Bea Stone", True), ("Reply to Dan Roe", False)]  # straight after the morning's Fast Win


def test_a_reply_for_a_lead_outside_a_full_plan_takes_the_last_open_items_place(
    user: str, clock: time_machine.Traveller
) -> None:
    add(user, "Bea Stone", "Carl Diaz", "Dan Roe", "Eve Park", "Fay Wu", clock=clock)
    lead = ok_json("leads", "add", "--user", user, "Gus Hill", "https://x.io/gus")  # after the plan: not in it
    gus = next(a["id"] for a in ok_json("actions", "list", "--user", user) if a["lead_id"] == lead["id"])
    ok_json("mark", "--user", user, gus, "sent")
    ok_json("mark", "--user", user, gus, "replied")
    plan = ok_json("plan", "--user", user)
    assert [item["lead"] for item in plan["items"]] == ["Bea Stone", "Gus Hill", "Carl Diaz", "Dan Roe", "Eve Park"]
    assert plan["items"][1]["title"] == "Reply to Gus Hill"


# --- a Slack press ----------------------------------------------------------------------------

def test_replied_in_the_slack_plan_redraws_it_with_the_reply(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz")
    command(web, fake, "today", channel="DU1")
    posted = fake.calls_to("chat.postMessage")[-1].args
    bea = next(item.action_id for item in plan_of(ann).items if item.lead_name == "Bea Stone")
    container = {"type": "message", "channel_id": "DU1", "message_ts": "1700000000.000001", "is_ephemeral": False}
    press = {"type": "button", "action_id": "nbm_replied", "block_id": f"plan|{bea}", "value": str(bea)}
    interact(web, block_action(fake, press, container=container, message_blocks=posted["blocks"]))

    redrawn = fake.calls_to("chat.update")[-1].args
    assert (redrawn["channel"], redrawn["ts"]) == ("DU1", "1700000000.000001")
    assert "Reply to Bea Stone" in str(redrawn["blocks"])
    run_redraws()  # App Home is redrawn by the job a press schedules (bot/slack/redraws.py)
    assert "Reply to Bea Stone" in str(fake.calls_to("views.publish")[-1].args["view"]["blocks"])  # App Home


# --- the email result page --------------------------------------------------------------------

@pytest.mark.usefixtures("email_settings")
def test_the_email_result_page_lists_the_reply_in_todays_plan(client: FlaskClient, links: EmailLinks,
                                                                service: Session) -> None:
    world: World = make_world(service, name="Zoe Quinn")
    bo = world.actions[1]
    page = client.post(action_path(links, world.user, bo, marks.REPLIED))
    text = text_of(page.text)
    assert "Marked replied: Reach out to Bo Chen" in text
    plan = text.split("The rest of today's plan")[1]
    assert "Reply to Bo Chen" in plan and "3 of 4 actions left, ~25 min." in plan
    assert "Just added for today" not in text


# --- the service rules behind them ------------------------------------------------------------

def test_todays_plan_takes_a_reply_in_once_however_often_it_is_read_and_past_plans_never(service: Session) -> None:
    user = make_user(service, timezone="Europe/London")
    lead = make_lead(service, user)
    yesterday = make_action(service, user, lead, due_date=date(2026, 11, 24), state=ActionState.REPLIED)
    make_plan(service, user, [yesterday], date=date(2026, 11, 24))
    build_plan(service, user=user)
    reply = make_action(service, user, lead, action_type=ActionType.FOLLOW_UP, origin=ActionOrigin.REPLY,
                        due_date=date(2026, 11, 24), description="Reply to them")  # due since yesterday
    for _ in range(3):
        plan = get_plan(service, user=user)
        assert plan is not None and [item.action_id for item in plan.items] == [reply.id]
    assert service.scalar(select(func.count()).select_from(DailyPlanAction)
                          .where(DailyPlanAction.action_id == reply.id)) == 1
    past = get_plan(service, user=user, day=date(2026, 11, 24))
    assert past is not None and [item.action_id for item in past.items] == [yesterday.id]
