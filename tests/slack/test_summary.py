"""The weekly summary: the DM, `/nbm summary`, and the "Save draft" buttons; only of a week its user lived."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.slack.delivery import summary_sender
from core.db import unit_of_work
from core.models import ActionState, Channel, ContentPrompt, ContentPromptStatus, ContentPromptType, User, WeeklySummary
from tests.factories import JOINED, joined, make_action, make_event
from tests.slack.conftest import NOW, block_action, command, deliver_dm, interact, replies
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture()
def member(ann: User) -> User:
    """Ann, who joined on 1 Oct: she lived the week of 16 Nov these tests summarise."""
    joined(ann, JOINED)
    return ann


def summaries_of(user: User) -> list[WeeklySummary]:
    with unit_of_work(user_id=user.id) as session:
        return list(session.scalars(select(WeeklySummary)))


def send_summary_dm(user: User, week_start: date) -> tuple[str, str]:
    """The Monday job's Slack delivery of the summary of the week starting ``week_start``: (channel, ts)."""
    return deliver_dm(summary_sender, user, week_start)


def test_save_draft_saves_once_and_marks_the_message(web: FlaskClient, fake: FakeSlack, member: User) -> None:
    channel, ts = send_summary_dm(member, date(2026, 11, 16))
    posted = fake.calls_to("chat.postMessage")[0].args
    assert posted["text"].startswith("Your week of 16–22 Nov: 0 actions completed")
    button = next(b["accessory"] for b in posted["blocks"] if b.get("block_id") == "draft_open|WIN_POST")
    press = block_action(fake, {"type": "button", "action_id": button["action_id"], "block_id": "draft_open|WIN_POST",
                                "value": button["value"]},
                         container={"type": "message", "channel_id": channel, "message_ts": ts},
                         message_blocks=posted["blocks"])
    interact(web, press)
    interact(web, press)
    with unit_of_work(user_id=member.id) as session:
        saved = session.scalars(select(ContentPrompt)).all()
    assert [(p.type, p.status) for p in saved] == [(ContentPromptType.WIN_POST, ContentPromptStatus.DRAFT)]
    update = fake.calls_to("chat.update")[-1].args
    assert (update["channel"], update["ts"]) == (channel, ts)
    ids = [b.get("block_id") for b in update["blocks"]]
    assert "draft_saved|WIN_POST" in ids and "draft_open|INSIGHT_POST" in ids


def test_a_summary_sent_after_a_save_shows_it_saved(web: FlaskClient, fake: FakeSlack, member: User) -> None:
    send_summary_dm(member, date(2026, 11, 16))
    value = next(b["accessory"]["value"] for b in fake.calls_to("chat.postMessage")[0].args["blocks"]
                 if b.get("block_id") == "draft_open|INSIGHT_POST")
    interact(web, block_action(fake, {"type": "button", "action_id": "nbm_save_draft",
                                      "block_id": "draft_open|INSIGHT_POST", "value": value}))
    send_summary_dm(member, date(2026, 11, 16))
    again = [b.get("block_id") for b in fake.calls_to("chat.postMessage")[-1].args["blocks"]]
    assert "draft_saved|INSIGHT_POST" in again and "draft_open|WIN_POST" in again


def test_a_draft_saved_elsewhere_shows_saved_when_the_dm_is_redrawn(web: FlaskClient, fake: FakeSlack,
                                                                    member: User) -> None:
    channel, ts = send_summary_dm(member, date(2026, 11, 16))
    dm_blocks = fake.calls_to("chat.postMessage")[0].args["blocks"]
    value = {b["block_id"]: b["accessory"]["value"] for b in dm_blocks if b.get("accessory")}
    # The win post is saved from the ephemeral `/nbm summary` answer (its message is not the DM)...
    interact(web, block_action(fake, {"type": "button", "action_id": "nbm_save_draft",
                                      "block_id": "draft_open|WIN_POST", "value": value["draft_open|WIN_POST"]},
                               container={"type": "message", "channel_id": "C1", "message_ts": "1.2",
                                          "is_ephemeral": True}))
    # ...then the insight post from the DM, whose blocks still show the win post unsaved.
    interact(web, block_action(fake, {"type": "button", "action_id": "nbm_save_draft",
                                      "block_id": "draft_open|INSIGHT_POST", "value": value["draft_open|INSIGHT_POST"]},
                               container={"type": "message", "channel_id": channel, "message_ts": ts},
                               message_blocks=dm_blocks))
    update = fake.calls_to("chat.update")[-1].args
    shown = [b.get("block_id") for b in update["blocks"]]
    assert "draft_saved|WIN_POST" in shown and "draft_saved|INSIGHT_POST" in shown
    assert not any(b.get("accessory") for b in update["blocks"]), "no Save button is left"


def test_a_user_who_joined_this_week_is_told_when_their_first_summary_comes(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    joined(ann, NOW)  # Wed 25 Nov: last week, 16–22 Nov, ended before she came
    command(web, fake, "summary")
    assert replies(fake) == ["The week of Mon 16 Nov ended before you joined on Wed 25 Nov; your first weekly "
                             "summary comes on Mon 30 Nov and covers the week you joined (23–29 Nov)"]
    assert summaries_of(ann) == []


def test_a_first_week_is_the_users_own_week_holding_the_day_they_joined(
    web: FlaskClient, fake: FakeSlack, ann: User, service: Session
) -> None:
    """Sunday 22 Nov, 21:00 in Los Angeles is Monday 05:00 in UTC and in London: in her own week, Ann
    joined on the last evening of 16–22 Nov, and its summary is her first, of that evening."""
    sunday_evening = datetime(2026, 11, 23, 5, tzinfo=UTC)
    joined(ann, sunday_evening)
    service.execute(update(User).where(User.id == ann.id).values(timezone="America/Los_Angeles"))
    make_event(service, make_action(service, ann, created_at=sunday_evening), to_state=ActionState.DONE,
               at=sunday_evening, channel=Channel.SLACK)
    command(web, fake, "summary")
    blocks = fake.calls_to("respond")[0].args["blocks"]
    assert blocks[0]["text"]["text"] == "Your week of 16–22 Nov"
    assert blocks[2]["text"]["text"] == "💡 Your first week: 1 action completed. You showed up on 1 day."


def test_a_week_after_the_first_is_compared_with_the_week_before_even_an_empty_one(
    web: FlaskClient, fake: FakeSlack, ann: User, service: Session
) -> None:
    """Ann joined on Wed 11 Nov and did nothing that week: 16–22 Nov is her second week, not her first."""
    joined(ann, datetime(2026, 11, 11, 9, tzinfo=UTC))
    for day in (17, 19):
        at = datetime(2026, 11, day, 10, tzinfo=UTC)
        make_event(service, make_action(service, ann, created_at=at), to_state=ActionState.DONE, at=at,
                   channel=Channel.SLACK)
    command(web, fake, "summary")
    blocks = fake.calls_to("respond")[0].args["blocks"]
    assert blocks[0]["text"]["text"] == "Your week of 16–22 Nov"
    assert blocks[2]["text"]["text"] == "💡 You completed 2 actions after a week with none. You showed up on 2 days."


def test_the_summary_says_where_a_saved_draft_is_found_this_message(web: FlaskClient, fake: FakeSlack,
                                                                    member: User) -> None:
    """No surface lists saved drafts: the summary says to copy a draft from itself, not that saved ones
    wait somewhere as content prompts."""
    command(web, fake, "summary")
    shown = str(fake.calls_to("respond")[-1].args["blocks"])
    assert "content prompts" not in shown and "Saved to your drafts" not in shown
    assert "Save draft marks a draft you mean to post (✅ here); copy it from this message when it suits you." in shown


def test_a_draft_gone_from_its_summary_is_refused_naming_the_week_as_its_title_does(
    web: FlaskClient, fake: FakeSlack, member: User, service: Session
) -> None:
    """A "Save draft" pressed for a draft the summary no longer holds said "the week of 16 Nov"; the week
    is named as the summary's own title names it."""
    send_summary_dm(member, date(2026, 11, 16))
    button = next(b["accessory"] for b in fake.calls_to("chat.postMessage")[0].args["blocks"]
                  if b.get("block_id") == "draft_open|WIN_POST")
    service.execute(update(WeeklySummary).where(WeeklySummary.user_id == member.id).values(win_post_draft=None))
    interact(web, block_action(fake, {"type": "button", "action_id": button["action_id"],
                                      "block_id": "draft_open|WIN_POST", "value": button["value"]}))
    (shown,) = fake.calls_to("views.open")  # no response_url with a press in a DM: the answer is a modal
    assert [b["text"]["text"] for b in shown.args["view"]["blocks"]] == [
        "The summary of the week of 16–22 Nov has no win post"]
