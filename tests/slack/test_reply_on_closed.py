"""Replied on a message the system closed: Monday's plan DM still offers Replied on the outreach, but
the follow-up sent since closed it (one message waits per lead). The reply is recorded on the message
waiting now, the answer says which, and with nothing waiting the refusal says what is true."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import select

from core.actions.service import change_state
from core.db import unit_of_work
from core.models import Action, ActionState, ActionType, Channel, User
from tests.slack.conftest import add_leads, block_action, command, events_of, interact, plan_of, replies, state_of
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")

MONDAY = datetime(2026, 11, 23, 10, tzinfo=UTC)  # the clock fixture's Wednesday is NOW
IN_MONDAYS_DM = {"type": "message", "channel_id": "DU1", "message_ts": "1700000000.000001", "is_ephemeral": False}
MOVED = ("✅ Bea Stone replied: marked on your message sent Wed 25 Nov, the one that was waiting for their "
         "reply.\nNext: Reply to Bea Stone, due Wed 25 Nov.")


def _press(web: FlaskClient, fake: FakeSlack, blocks: list[dict[str, Any]], action_id: str,
           item: uuid.UUID) -> None:
    button = {"type": "button", "action_id": action_id, "block_id": f"plan|{item}", "value": str(item)}
    interact(web, block_action(fake, button, container=IN_MONDAYS_DM, message_blocks=blocks))


def _lead_actions(user: User) -> list[Action]:
    with unit_of_work(user_id=user.id) as session:
        return list(session.scalars(select(Action).where(Action.user_id == user.id).order_by(Action.created_at)))


def _mark(user: User, action_id: uuid.UUID, to: ActionState) -> None:
    with unit_of_work(user_id=user.id) as session:
        change_state(session, user=session.get_one(User, user.id), action_id=action_id, to=to, channel=Channel.CLI)


def _outreach_sent_monday_follow_up_sent_today(web: FlaskClient, fake: FakeSlack,
                                               ann: User) -> tuple[list[dict[str, Any]], uuid.UUID, uuid.UUID]:
    """Monday's plan DM (as posted, every row with its buttons), its outreach sent from it on Monday,
    and the follow-up that planned sent today: the outreach is closed by the system."""
    with time_machine.travel(MONDAY, tick=False):
        add_leads(ann, "Bea Stone")
        command(web, fake, "today", channel="DU1")
        posted = fake.calls_to("chat.postMessage")[-1].args["blocks"]
        outreach = plan_of(ann).items[0].action_id
        _press(web, fake, posted, "nbm_sent", outreach)
    (follow_up,) = [a.id for a in _lead_actions(ann) if a.action_type == ActionType.FOLLOW_UP]
    _mark(ann, follow_up, ActionState.SENT)
    assert [(e.to_state, e.channel) for e in events_of(ann, outreach)][-1] == (ActionState.DONE, Channel.SYSTEM)
    return posted, outreach, follow_up


def test_replied_pressed_on_a_closed_message_marks_the_message_waiting_now(
        web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    posted, outreach, follow_up = _outreach_sent_monday_follow_up_sent_today(web, fake, ann)

    _press(web, fake, posted, "nbm_replied", outreach)

    assert replies(fake) == [MOVED]
    assert state_of(ann, outreach) == ActionState.DONE
    assert state_of(ann, follow_up) == ActionState.REPLIED
    assert [(e.to_state, e.channel) for e in events_of(ann, follow_up)][-1] == (ActionState.REPLIED, Channel.SLACK)
    # The chaser the second send planned is archived; "Reply to" is due today.
    assert [(a.description, a.state, a.due_date) for a in _lead_actions(ann) if a.id not in (outreach, follow_up)] == [
        ("Follow up with Bea Stone", ActionState.ARCHIVED, date(2026, 12, 2)),
        ("Reply to Bea Stone", ActionState.NEW, date(2026, 11, 25))]
    redrawn = fake.calls_to("chat.update")[-1].args  # Monday's message, read afresh
    assert redrawn["ts"] == IN_MONDAYS_DM["message_ts"] and "Waiting for a reply" not in str(redrawn["blocks"])

    _press(web, fake, posted, "nbm_replied", outreach)  # pressed again: a repeat, answered as any repeat is
    assert replies(fake) == [MOVED]
    assert [e.to_state for e in events_of(ann, follow_up)].count(ActionState.REPLIED) == 1


def test_with_nothing_waiting_and_no_reply_the_refusal_says_so(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    posted, outreach, follow_up = _outreach_sent_monday_follow_up_sent_today(web, fake, ann)
    _mark(ann, follow_up, ActionState.DONE)

    _press(web, fake, posted, "nbm_replied", outreach)

    assert replies(fake) == ["This message was closed when you marked another one to Bea Stone, and none is "
                             "waiting for their reply now"]
    assert (state_of(ann, outreach), state_of(ann, follow_up)) == (ActionState.DONE, ActionState.DONE)


def test_replied_on_a_message_the_person_marked_done_is_still_refused(
        web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone")
    command(web, fake, "today", channel="DU1")
    posted = fake.calls_to("chat.postMessage")[-1].args["blocks"]
    outreach = plan_of(ann).items[0].action_id
    _press(web, fake, posted, "nbm_done", outreach)
    _press(web, fake, posted, "nbm_replied", outreach)
    assert replies(fake) == ["This action is done, so you cannot mark it replied; nothing more can be done with it"]
    assert state_of(ann, outreach) == ActionState.DONE


def test_nbm_replied_with_the_closed_messages_number_says_the_same(
        web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone")
    plan_of(ann)  # today's plan, the one whose numbers she types
    command(web, fake, "sent 1")
    outreach = plan_of(ann).items[0].action_id
    (follow_up,) = [a.id for a in _lead_actions(ann) if a.action_type == ActionType.FOLLOW_UP]
    _mark(ann, follow_up, ActionState.SENT)

    command(web, fake, "replied 1")

    assert replies(fake)[-1] == MOVED
    assert (state_of(ann, outreach), state_of(ann, follow_up)) == (ActionState.DONE, ActionState.REPLIED)
