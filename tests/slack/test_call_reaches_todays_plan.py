"""A call logged in Slack after today's plan was made puts its prep, due today, into that plan at
once, as every other change that makes something due today does (core.planner.replan)."""

from __future__ import annotations

from datetime import date

import pytest
from flask.testing import FlaskClient

from core.db import unit_of_work
from core.leads import snooze_lead
from core.models import User
from tests.slack.conftest import add_leads, command, interact, plan_drawn, view_submission
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")

PREP = "Prepare for your call with Bea Stone on Wed 25 Nov"


def _shown_plan(web: FlaskClient, fake: FakeSlack) -> str:
    """Today's plan as `/nbm today` shows it in the DM: posted, or the copy there brought up to date."""
    command(web, fake, "today")
    return str(plan_drawn(fake)["blocks"])


def test_a_call_today_typed_after_the_plan_was_made_puts_its_prep_in_the_plan(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz")
    assert PREP not in _shown_plan(web, fake)
    command(web, fake, "call Bea today")
    assert PREP in _shown_plan(web, fake)


def test_a_call_logged_in_the_form_with_a_snoozed_lead_puts_its_prep_in_the_plan(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    bea, _ = add_leads(ann, "Bea Stone", "Carl Diaz")
    with unit_of_work(user_id=ann.id) as session:
        snooze_lead(session, user=session.get_one(User, ann.id), lead_id=bea.id, until=date(2026, 12, 15))
    assert "Bea Stone" not in _shown_plan(web, fake)
    interact(web, view_submission("nbm_log_call", {
        "lead": {"type": "static_select", "selected_option": {"value": str(bea.id)}},
        "date": {"type": "datepicker", "selected_date": "2026-11-25"}}))
    assert PREP in _shown_plan(web, fake)
