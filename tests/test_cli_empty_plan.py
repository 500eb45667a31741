"""`nbm plan` on a plan with nothing due offers to add a lead only to a user with no active lead
(core.planner.nothing_due); one with leads whose next steps are not due yet is told only that."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import Connection

from tests.cli import nbm_ok

NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)  # Wed 25 Nov, 09:00 in New York
ANN = "ann@example.com"


@pytest.fixture()
def ann(connection: Connection) -> Iterator[str]:
    with time_machine.travel(NOW, tick=False):
        nbm_ok("users", "add", ANN, "--name", "Ann Lee", "--tz", "America/New_York")
        yield ANN


def test_an_empty_plan_offers_a_lead_to_a_user_without_one(ann: str) -> None:
    shown = nbm_ok("plan", "--user", ann).output
    assert "Nothing is due in this plan: add a lead with `nbm leads add` and its first outreach shows up here." \
        in shown


def test_an_empty_plan_of_a_user_with_leads_says_only_that_nothing_is_due(ann: str) -> None:
    nbm_ok("leads", "add", "--user", ann, "Priya Raman", "https://x.io/priya")
    (outreach,) = json.loads(nbm_ok("actions", "list", "--user", ann, "--json").output)
    nbm_ok("mark", "--user", ann, outreach["id"], "sent")  # its follow-up is due on Mon 30 Nov
    shown = nbm_ok("plan", "--user", ann, "--date", "2026-11-26").output
    assert shown.startswith("Thu 26 Nov — nothing due")
    assert "Nothing is due in this plan." in shown and "add a lead" not in shown
