"""`/nbm call` for a lead that already has a call: the answer says what moved to the new call and
what stays with the other one (core.calls: one prep and one follow-up pending per lead)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from core.models import User
from tests.slack.conftest import add_leads, command, replies
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")


def test_a_second_call_says_its_follow_up_moved_and_its_prep_stays_with_the_sooner_call(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    add_leads(ann, "Bea Stone")
    command(web, fake, "call Bea friday")
    command(web, fake, "call Bea 2026-12-01")
    assert replies(fake)[1] == (
        "📞 Logged your call with Bea Stone on Tue 1 Dec. "
        "Planned: the follow-up on Wed 2 Dec (moved here from your call on Fri 27 Nov). "
        "No prep of its own: the one for your call on Fri 27 Nov is still open (due Thu 26 Nov).")
