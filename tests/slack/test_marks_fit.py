"""Slack offers Sent and Replied only on a message to a lead, and refuses them elsewhere."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.models import ActionState, User
from tests.slack.conftest import NOW, block_action, command, interact, replies, state_of
from tests.slack.fake_slack import FakeSlack
from tests.test_marks_fit_the_action import plan_with_a_prep_a_fast_win_and_an_outreach, refusal

pytestmark = pytest.mark.usefixtures("clock")

def test_the_slack_plan_offers_sent_and_replied_only_on_the_message(
    web: FlaskClient, fake: FakeSlack, ann: User, service: Session
) -> None:
    prep, win, outreach = plan_with_a_prep_a_fast_win_and_an_outreach(service, ann, NOW.date())
    command(web, fake, "today", channel="DU1")
    blocks = fake.calls_to("chat.postMessage")[-1].args["blocks"]
    buttons = {b["block_id"]: [e["action_id"] for e in b["elements"]] for b in blocks if b["type"] == "actions"}
    assert buttons[f"plan|{prep.id}"] == buttons[f"plan|{win.id}"] == ["nbm_done", "nbm_snooze", "nbm_snooze_date"]
    assert buttons[f"plan|{outreach.id}"] == ["nbm_done", "nbm_sent", "nbm_replied", "nbm_snooze", "nbm_snooze_date"]


def test_sent_or_replied_on_a_call_prep_is_refused_by_button_and_command_and_changes_nothing(
    web: FlaskClient, fake: FakeSlack, ann: User, service: Session
) -> None:
    prep, _, _ = plan_with_a_prep_a_fast_win_and_an_outreach(service, ann, NOW.date())
    stale = {"type": "button", "action_id": "nbm_sent", "block_id": f"plan|{prep.id}", "value": str(prep.id)}
    in_the_dm = {"type": "message", "channel_id": "DU1", "message_ts": "1700000000.000001", "is_ephemeral": False}
    interact(web, block_action(fake, stale, container=in_the_dm))
    command(web, fake, "replied Priya")
    assert state_of(ann, prep.id) == ActionState.NEW
    sent, replied = replies(fake)
    assert refusal("sent") in sent and refusal("replied") in replied
