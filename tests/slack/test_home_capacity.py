"""App Home without a calendar says what sizes the plans truly, whatever capacity the user set."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from core.models import User
from tests.slack.conftest import add_leads, command, event
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")


def test_no_calendar_with_a_capacity_set_for_today_does_not_claim_the_default(web: FlaskClient, fake: FakeSlack,
                                                                               ann: User) -> None:
    add_leads(ann, "Bea Stone")
    command(web, fake, "capacity light")
    event(web, {"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home"})
    home = str(fake.calls_to("views.publish")[-1].args["view"]["blocks"])
    assert "your plan uses the default capacity of 5 actions a day" not in home
    assert ("No calendar connected: your next plans use the default capacity of 5 actions a day (or the capacity "
            "you set for a day). Connect one and the free time in your working hours (or the capacity you set for a "
            "day) sizes them.") in home
