"""Typing in the app's DM (its Messages tab): "today" gets the plan there, anything else the help;
edits, bots and the app's own messages get nothing, and a message Slack delivers twice is answered once."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from core.db import unit_of_work
from core.models import SlackInstallation, SlackUserLink, User
from tests.slack.conftest import add_leads, event
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")


def typed(text: str, *, user: str = "U1", channel: str = "DU1", **extra: Any) -> dict[str, Any]:
    """A ``message.im`` event as Slack sends it when ``user`` types ``text`` in their DM with the app."""
    return {"type": "message", "channel_type": "im", "channel": channel, "user": user, "text": text,
            "ts": "1700000100.000100", "event_ts": "1700000100.000100", **extra}


def posted(fake: FakeSlack) -> list[tuple[str, str]]:
    """(channel, text) of every message the app posted."""
    return [(call.args["channel"], call.args["text"]) for call in fake.calls_to("chat.postMessage")]


def test_today_typed_in_the_dm_posts_the_plan_there_and_nothing_else(web: FlaskClient, fake: FakeSlack,
                                                                      ann: User) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz")
    assert event(web, typed("Today")).status_code == 200
    assert posted(fake) == [("DU1", "Your next best moves for Wed 25 Nov: 2 actions, ~20 min")]
    (plan,) = fake.calls_to("chat.postMessage")
    assert "Bea Stone" in str(plan.args["blocks"]) and "Carl Diaz" in str(plan.args["blocks"])


@pytest.mark.parametrize("text", ["help", "hi! what can you do?", "leads"])
def test_anything_else_typed_in_the_dm_gets_the_help_there(web: FlaskClient, fake: FakeSlack, ann: User,
                                                            text: str) -> None:
    assert event(web, typed(text)).status_code == 200
    ((channel, answer),) = posted(fake)
    assert channel == "DU1"
    assert "`/nbm today`" in answer and "`/nbm snooze &lt;n&gt; [when]`" in answer
    assert fake.calls_to("respond") == []


IGNORED = {
    "an edit": typed("", subtype="message_changed", message={"type": "message", "user": "U1", "text": "today"}),
    "a deletion": typed("", subtype="message_deleted", previous_message={"user": "U1", "text": "today"}),
    "another app's bot": typed("help", user="U7", bot_id="B7"),
    "a classic bot": typed("help", subtype="bot_message", bot_id="B8", username="legacy bot"),
    "the app's own message": typed("Your next best moves for Wed 25 Nov", user="UBOT", bot_id="B1"),
    "a message in a channel": typed("today", channel="C1", channel_type="channel"),
}


def test_edits_bots_and_the_apps_own_messages_get_no_answer(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    statuses = {name: event(web, message, event_id=f"Ev{i}").status_code
                for i, (name, message) in enumerate(IGNORED.items())}
    # 200, not Bolt's 404 for an event nothing listens to: Slack would retry that and may turn events off.
    assert statuses == dict.fromkeys(IGNORED, 200)
    assert posted(fake) == []


def test_a_message_slack_delivers_again_is_answered_once(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    event(web, typed("help"), event_id="EvDM")
    event(web, typed("help"), event_id="EvDM", headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "timeout"})
    assert len(posted(fake)) == 1
    event(web, typed("help"), event_id="EvDM2")
    assert len(posted(fake)) == 2, "typing it again is a new message, answered again"


def test_a_failure_is_explained_in_the_dm(web: FlaskClient, fake: FakeSlack, installed: SlackInstallation) -> None:
    fake.add_user("U9", email=None, name="No Mail")
    event(web, typed("today", user="U9", channel="DU9"))
    ((channel, answer),) = posted(fake)
    assert channel == "DU9" and "could not read your email address from Slack" in answer


def test_a_first_message_in_the_dm_makes_the_person_a_user(web: FlaskClient, fake: FakeSlack,
                                                           installed: SlackInstallation) -> None:
    """Whatever they type first: the help it gets is first contact, as ``today`` is."""
    fake.add_user("U9", email="neo@example.com", name="Neo Park", tz="Europe/Madrid")
    event(web, typed("hi! what can you do?", user="U9", channel="DU9"))
    ((channel, answer),) = posted(fake)
    assert channel == "DU9" and "`/nbm today`" in answer
    with unit_of_work(service=True) as session:
        (link,) = session.scalars(select(SlackUserLink)).all()
        user = session.get_one(User, link.user_id)
        assert (link.team_id, link.slack_user_id, user.email, user.timezone) == (
            "T1", "U9", "neo@example.com", "Europe/Madrid")
