"""Replied pressed on a page of `/nbm waiting` redraws that page, not the first one; when the press
emptied the last page, the new last page."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from core.actions.service import change_state
from core.db import unit_of_work
from core.models import Action, ActionState, Channel, User
from tests.slack.conftest import add_leads, block_action, command, interact
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")

EPHEMERAL = {"type": "message", "channel_id": "C1", "message_ts": "1700000000.000002", "is_ephemeral": True}


def _waiting_for(user: User, count: int) -> None:
    """``count`` leads, each with its first message marked sent."""
    leads = add_leads(user, *(f"Lead {n:02d}" for n in range(count)))
    with unit_of_work(user_id=user.id) as session:
        me = session.get_one(User, user.id)
        for lead in leads:
            outreach = session.scalars(select(Action.id).where(Action.person_id == lead.id)).one()
            change_state(session, user=me, action_id=outreach, to=ActionState.SENT, channel=Channel.CLI)


def _shown(fake: FakeSlack) -> str:
    return str(fake.calls_to("respond")[-1].args["blocks"])


def _press_replied_on_a_row(web: FlaskClient, fake: FakeSlack) -> None:
    """Replied on the first row of the waiting page shown last."""
    row = next(b for b in fake.calls_to("respond")[-1].args["blocks"] if b.get("accessory"))
    press = {"type": "button", "action_id": "nbm_replied", "block_id": row["block_id"],
             "value": row["accessory"]["value"]}
    interact(web, block_action(fake, press, container=EPHEMERAL))


def test_replied_on_page_two_redraws_page_two_then_the_last_page_left(web: FlaskClient, fake: FakeSlack,
                                                                        ann: User) -> None:
    _waiting_for(ann, 47)
    command(web, fake, "waiting 2")
    assert "page 2 of 2" in _shown(fake)
    _press_replied_on_a_row(web, fake)
    assert "*Waiting for a reply* (46) · page 2 of 2" in _shown(fake)
    assert len(re.findall(r"'Replied'", _shown(fake))) == 1
    _press_replied_on_a_row(web, fake)  # page 2 is now empty: the one page left is drawn
    assert "*Waiting for a reply* (45)" in _shown(fake) and "There is no page" not in _shown(fake)
    assert len(re.findall(r"'Replied'", _shown(fake))) == 45
