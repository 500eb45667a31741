"""`/nbm capacity` sets and clears today's capacity only: a day set ahead (`nbm plan --date DAY
--capacity LEVEL`) keeps its own, which its plan still reads when refreshed on the day."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from click.testing import CliRunner
from flask.testing import FlaskClient

from bot.cli import main
from core.models import CapacityLevel, User
from tests.slack.conftest import add_leads, command, plan_of, replies
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")


def test_capacity_today_keeps_the_day_set_ahead(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz", "Dana Fox", "Eli Gray")
    ahead = CliRunner().invoke(main, ["plan", "--user", ann.email, "--date", "2026-11-27", "--capacity", "light"])
    assert ahead.exit_code == 0, ahead.output
    command(web, fake, "capacity micro")
    command(web, fake, "capacity default")
    assert replies(fake)[-1].startswith("Today is back to its planned size, a *default* day")
    assert plan_of(ann).capacity is CapacityLevel.DEFAULT
    with time_machine.travel(datetime(2026, 11, 27, 12, tzinfo=UTC), tick=False):  # refreshed on its day
        assert CliRunner().invoke(main, ["plan", "--user", ann.email, "--refresh"]).exit_code == 0
        assert plan_of(ann).capacity is CapacityLevel.LIGHT
