"""The Fast Win, as PRODUCT.md has it: "a FAST_WIN action if one is due, else the candidate with the
smallest effort estimate", with no cap: a new user whose plan is all 10-minute outreach has one too."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from core.models import ActionType
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


def test_a_day_of_ten_minute_outreach_starts_with_the_oldest_leads_as_the_fast_win(
    connection: Connection, clock: time_machine.Traveller
) -> None:
    ok_json("users", "add", EMAIL, "--name", "Ann Lee", "--tz", "America/New_York")
    for name in ("Bea Stone", "Carl Diaz"):
        ok_json("leads", "add", "--user", EMAIL, name, f"https://x.io/{name.split()[0].lower()}")
        clock.shift(timedelta(minutes=1))
    plan = plan_json()
    assert [(item["lead"], item["minutes"], item["fast_win"]) for item in plan["items"]] == [
        ("Bea Stone", 10, True), ("Carl Diaz", 10, False)]
    assert [item["fast_win"] for item in plan_json("--refresh")["items"]] == [True, False]
    assert " 1. ★ Fast Win: Reach out to Bea Stone (10 min)" in nbm("plan", "--user", EMAIL).output


def test_a_refresh_gives_a_plan_made_without_a_fast_win_one_among_its_items(service: Session) -> None:
    """A plan made when the Fast Win had to take 5 minutes at most may have none: refreshed, it takes
    the quickest of its own items (the outreach, before the 15-minute prep), not new fill."""
    user = make_user(service, timezone="America/New_York")
    prep = make_action(service, user, make_lead(service, user), action_type=ActionType.CALL_PREP,
                       due_date=NOW.date(), created_at=NOW)
    outreach = make_action(service, user, make_lead(service, user), due_date=NOW.date(), created_at=NOW)
    plan = make_plan(service, user, [prep, outreach], date=NOW.date())
    plan.items[0].is_fast_win = False
    service.flush()
    later = make_action(service, user, make_lead(service, user), action_type=ActionType.FAST_WIN,
                        due_date=NOW.date(), created_at=NOW)
    refreshed = ok_json("plan", "--user", user.email, "--refresh")
    assert [(item["action_id"], item["fast_win"]) for item in refreshed["items"]] == [
        (str(outreach.id), True), (str(prep.id), False), (str(later.id), False)]
