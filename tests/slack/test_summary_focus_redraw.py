"""A Monday plan DM sent before last week's summary was made (a second worker took the plans' batch
first) is redrawn with the focus the summary names once it is made, as after any change of the plan."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from core.jobs import tasks
from core.models import User
from tests.factories import JOINED, joined
from tests.slack.conftest import add_leads
from tests.slack.fake_slack import FakeSlack

MONDAY = datetime(2026, 11, 23, 8, tzinfo=UTC)  # 08:00 in London: Monday's plan and last week's summary


@pytest.mark.usefixtures("web")  # Slack on and the channels registered, as in every process
def test_the_plan_dm_sent_before_the_summary_is_redrawn_with_the_summarys_focus(fake: FakeSlack, ann: User) -> None:
    joined(ann, JOINED)  # she lived last week
    with time_machine.travel(MONDAY, tick=False):
        add_leads(ann, "Bea Stone")
        sent = tasks.deliver("plan", "slack", str(ann.id), "2026-11-23")  # "sent (channel:ts)"
        (posted,) = fake.calls_to("chat.postMessage")
        assert "Focus" not in str(posted.args["blocks"])  # no summary of last week yet
        fake.calls.clear()

        assert tasks.deliver("weekly_summary", "slack", str(ann.id), "2026-11-16").startswith("sent")

    redrawn = [call.args for call in fake.calls_to("chat.update") if call.args["ts"] in sent]
    assert redrawn and "🎯 Focus: Show up daily: one action every work day" in str(redrawn[-1]["blocks"])
