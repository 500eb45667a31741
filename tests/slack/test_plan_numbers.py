"""What a plan number typed in ``/nbm`` means: an item of today's plan the person has seen, through
the signed slash command. A number typed before today's plan exists was read in another plan
(yesterday's DM, an older message), so it marks nothing: the plan is made and shown, and the answer
says to type the number from it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from flask.testing import FlaskClient

from core.models import ActionState, User
from tests.slack.conftest import NOW, add_leads, command, events_of, plan_of, replies, state_of
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
