"""The weekly summary DM and its "Save draft" buttons."""

from __future__ import annotations

from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.slack.delivery import summary_sender
from core.db import unit_of_work
from core.models import ContentPrompt, ContentPromptStatus, ContentPromptType, User
from tests.slack.conftest import block_action, deliver_dm, interact
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")


def send_summary_dm(user: User, week_start: date) -> tuple[str, str]:
    """The Monday job's Slack delivery of the summary of the week starting ``week_start``: (channel, ts)."""
    return deliver_dm(summary_sender, user, week_start)


def test_save_draft_saves_once_and_marks_the_message(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    channel, ts = send_summary_dm(ann, date(2026, 11, 16))
    posted = fake.calls_to("chat.postMessage")[0].args
    assert posted["text"].startswith("Your week of 16–22 Nov: 0 actions completed")
    button = next(b["accessory"] for b in posted["blocks"] if b.get("block_id") == "draft_open|WIN_POST")
    press = block_action(fake, {"type": "button", "action_id": button["action_id"], "block_id": "draft_open|WIN_POST",
                                "value": button["value"]},
                         container={"type": "message", "channel_id": channel, "message_ts": ts},
                         message_blocks=posted["blocks"])
    interact(web, press)
    interact(web, press)
    with unit_of_work(user_id=ann.id) as session:
        saved = session.scalars(select(ContentPrompt)).all()
    assert [(p.type, p.status) for p in saved] == [(ContentPromptType.WIN_POST, ContentPromptStatus.DRAFT)]
    update = fake.calls_to("chat.update")[-1].args
    assert (update["channel"], update["ts"]) == (channel, ts)
    ids = [b.get("block_id") for b in update["blocks"]]
    assert "draft_saved|WIN_POST" in ids and "draft_open|INSIGHT_POST" in ids


def test_a_summary_sent_after_a_save_shows_it_saved(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    send_summary_dm(ann, date(2026, 11, 16))
    value = next(b["accessory"]["value"] for b in fake.calls_to("chat.postMessage")[0].args["blocks"]
                 if b.get("block_id") == "draft_open|INSIGHT_POST")
    interact(web, block_action(fake, {"type": "button", "action_id": "nbm_save_draft",
                                      "block_id": "draft_open|INSIGHT_POST", "value": value}))
    send_summary_dm(ann, date(2026, 11, 16))
    again = [b.get("block_id") for b in fake.calls_to("chat.postMessage")[-1].args["blocks"]]
    assert "draft_saved|INSIGHT_POST" in again and "draft_open|WIN_POST" in again


def test_a_draft_saved_elsewhere_shows_saved_when_the_dm_is_redrawn(web: FlaskClient, fake: FakeSlack,
                                                                    ann: User) -> None:
    channel, ts = send_summary_dm(ann, date(2026, 11, 16))
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
