"""A Fast Win is fast: at most 5 minutes of effort, or no Fast Win at all that day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from core.planner.service import build_plan
from tests.factories import make_action, make_lead, make_plan, make_user
from tests.test_cli_core import nbm, ok_json

NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)  # Wed 25 Nov, 09:00 in New York
EMAIL = "ann@example.com"


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def plan_json(*args: str) -> Any:
    return ok_json("plan", "--user", EMAIL, *args)


def test_a_day_of_ten_minute_outreach_has_no_fast_win(connection: Connection, clock: time_machine.Traveller) -> None:
    ok_json("users", "add", EMAIL, "--name", "Ann Lee", "--tz", "America/New_York")
    for name in ("Bea Stone", "Carl Diaz"):
        ok_json("leads", "add", "--user", EMAIL, name, f"https://x.io/{name.split()[0].lower()}")
        clock.shift(timedelta(minutes=1))
    plan = plan_json()
    assert [(item["lead"], item["minutes"], item["fast_win"]) for item in plan["items"]] == [
        ("Bea Stone", 10, False), ("Carl Diaz", 10, False)]
    assert [item["fast_win"] for item in plan_json("--refresh")["items"]] == [False, False]
    assert "Fast Win" not in nbm("plan", "--user", EMAIL).output


def test_a_refresh_takes_the_mark_from_a_slow_fast_win_an_older_plan_left(service: Session) -> None:
    """A plan made before the rule (its Fast Win a 10-minute outreach) is put right when refreshed."""
    user = make_user(service, timezone="America/New_York")
    outreach = [make_action(service, user, make_lead(service, user), due_date=NOW.date(), created_at=NOW)
                for _ in range(2)]
    make_plan(service, user, outreach, date=NOW.date())  # position 0 marked the Fast Win
    plan = build_plan(service, user=user, refresh=True)
    assert [(item.action_id, item.is_fast_win) for item in plan.items] == [(a.id, False) for a in outreach]
