"""The Log-a-call form opened from App Home lists the leads a call can be logged with: the active and
the snoozed (a call brings a snoozed lead back, core.calls), never an archived one."""

from __future__ import annotations

from datetime import date

import pytest
from flask.testing import FlaskClient

from core.db import unit_of_work
from core.leads import archive_lead, snooze_lead
from core.models import User
from tests.slack.conftest import add_leads, block_action, interact
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")


def _open_form(web: FlaskClient, fake: FakeSlack) -> dict:
    """The view the App Home's Log a call button opens."""
    interact(web, block_action(fake, {"type": "button", "action_id": "nbm_open_log_call", "block_id": "b"}))
    return fake.calls_to("views.open")[-1].args["view"]


def test_the_form_lists_snoozed_leads_and_leaves_out_archived_ones(web: FlaskClient, fake: FakeSlack,
                                                                   ann: User) -> None:
    bea, carl, _ = add_leads(ann, "Bea Stone", "Carl Diaz", "Dan Roe")
    with unit_of_work(user_id=ann.id) as session:
        me = session.get_one(User, ann.id)
        snooze_lead(session, user=me, lead_id=bea.id, until=date(2026, 12, 15))
        archive_lead(session, user=me, lead_id=carl.id)
    view = _open_form(web, fake)
    assert [o["text"]["text"] for o in view["blocks"][0]["element"]["options"]] == ["Bea Stone", "Dan Roe"]


def test_with_every_lead_snoozed_the_form_still_offers_them(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    (bea,) = add_leads(ann, "Bea Stone")
    with unit_of_work(user_id=ann.id) as session:
        snooze_lead(session, user=session.get_one(User, ann.id), lead_id=bea.id, until=date(2026, 12, 15))
    view = _open_form(web, fake)
    assert view["callback_id"] == "nbm_log_call" and "no leads yet" not in str(view)
    assert [o["text"]["text"] for o in view["blocks"][0]["element"]["options"]] == ["Bea Stone"]


def test_with_only_archived_leads_the_form_says_how_to_add_one(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    (bea,) = add_leads(ann, "Bea Stone")
    with unit_of_work(user_id=ann.id) as session:
        archive_lead(session, user=session.get_one(User, ann.id), lead_id=bea.id)
    assert "You have no leads yet. Add one with `/nbm add`" in str(_open_form(web, fake))
