"""The plan DM of a plan with nothing due offers to add a lead only to a user with no active lead
(core.planner.nothing_due), as `nbm plan` and the digest do."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from flask.testing import FlaskClient

from core.models import User
from tests.cli import nbm_ok
from tests.slack.conftest import NOW, add_leads, command
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")
THURSDAY = NOW + timedelta(days=1)


def posted_blocks(web: FlaskClient, fake: FakeSlack) -> str:
    fake.calls.clear()
    with time_machine.travel(THURSDAY, tick=False):
        command(web, fake, "today")
    (posted,) = fake.calls_to("chat.postMessage") + fake.calls_to("chat.update")
    return str(posted.args["blocks"])


def test_the_plan_dm_offers_a_lead_only_without_an_active_one(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    (lead,) = add_leads(ann, "Bea Stone")  # Wed 25 Nov: a lead, messaged at once
    (outreach,) = json.loads(nbm_ok("actions", "list", "--user", ann.email, "--json").output)
    nbm_ok("mark", "--user", ann.email, outreach["id"], "sent")  # its follow-up is due on Mon 30 Nov
    with_lead = posted_blocks(web, fake)
    assert "Nothing is due." in with_lead and "Add a lead" not in with_lead
    with time_machine.travel(THURSDAY, tick=False):
        nbm_ok("leads", "archive", "--user", ann.email, str(lead.id))
    without = posted_blocks(web, fake)
    assert "Nothing is due. Add a lead with `/nbm add` and its first outreach shows up here." in without
