"""`nbm plan --date` of a day that is over shows the plan that day had, as it was kept, and never makes
or changes one after the fact: a day without a plan is refused (exit 2), saying so, and so is a
refresh or a capacity for a past day, changing nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from core.models import CapacityOverride, DailyPlan, DailyPlanAction
from tests.cli import nbm

USER = "wes@example.com"


def at(day: int, hour: int) -> time_machine.travel:
    """An instant of November 2026 in UTC (Wes is in London: the same date)."""
    return time_machine.travel(datetime(2026, 11, day, hour, 0, tzinfo=UTC), tick=False)


def plans(service: Session) -> list[tuple[object, ...]]:
    """Every plan and its items as stored, to compare before and after."""
    rows = service.execute(
        select(DailyPlan.date, DailyPlan.capacity, DailyPlan.generated_at, DailyPlan.last_number,
               DailyPlanAction.action_id, DailyPlanAction.number, DailyPlanAction.position)
        .join(DailyPlanAction, DailyPlanAction.daily_plan_id == DailyPlan.id, isouter=True)
        .order_by(DailyPlan.date, DailyPlanAction.number)
    )
    return [tuple(row) for row in rows]


def overrides(service: Session) -> list[tuple[object, ...]]:
    """Every capacity override as stored, to compare before and after."""
    rows = service.execute(select(CapacityOverride.user_id, CapacityOverride.day, CapacityOverride.capacity)
                           .order_by(CapacityOverride.user_id, CapacityOverride.day))
    return [tuple(row) for row in rows]


@pytest.fixture()
def monday_planned(connection: Connection) -> dict[str, str]:
    """Wes joined on Monday 23 Nov with two leads, made Monday's plan and marked Ann's outreach done;
    on Tuesday he added Cy (which made Tuesday's plan); on Wednesday he did nothing, and no plan was
    made. Returns Monday's action ids by lead."""
    with at(23, 9):
        assert nbm("users", "add", USER, "--name", "Wes", "--tz", "Europe/London").exit_code == 0
        for name in ("Ann Lee", "Bea Stone"):
            nbm("leads", "add", "--user", USER, name, f"https://x.io/{name.split()[0].lower()}")
        planned = json.loads(nbm("plan", "--user", USER, "--json").output)["items"]
        ids = {item["lead"]: item["action_id"] for item in planned}
        assert nbm("mark", "--user", USER, ids["Ann Lee"], "done").exit_code == 0
    with at(24, 10):
        assert nbm("leads", "add", "--user", USER, "Cy Dee", "https://x.io/cy").exit_code == 0
    return ids


def test_a_past_days_plan_is_shown_as_it_was_kept(monday_planned: dict[str, str], service: Session) -> None:
    """Monday's plan, read on Thursday: Monday's two items, Ann's done, not Cy, added since."""
    before = plans(service)
    with at(26, 9):
        shown = nbm("plan", "--user", USER, "--date", "2026-11-23")
        as_json = json.loads(nbm("plan", "--user", USER, "--date", "2026-11-23", "--json").output)
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith("Mon 23 Nov") and "Cy Dee" not in shown.output
    assert as_json["date"] == "2026-11-23"
    assert {(item["lead"], item["state"]) for item in as_json["items"]} == {("Ann Lee", "DONE"), ("Bea Stone", "NEW")}
    assert plans(service) == before


@pytest.mark.parametrize("json_flag", [(), ("--json",)], ids=["text", "json"])
def test_a_past_day_without_a_plan_is_refused_and_none_is_made(
    monday_planned: dict[str, str], service: Session, json_flag: tuple[str, ...]
) -> None:
    before = plans(service)
    with at(26, 9):
        result = nbm("plan", "--user", USER, "--date", "2026-11-25", *json_flag)
    assert result.exit_code == 2, result.output
    assert ("no plan was made for Wed 25 Nov, and none is made for a day that is over; a plan can be made for "
            "today (Thu 26 Nov) or a later day") in result.output
    assert plans(service) == before


@pytest.mark.parametrize(("args", "said"), [
    (("--refresh",), "a refresh is for today (Thu 26 Nov) or a later day"),
    (("--capacity", "micro"), "a capacity is set for today (Thu 26 Nov) or a later day"),
    (("--capacity", "default"), "a capacity is set for today (Thu 26 Nov) or a later day"),
], ids=["refresh", "capacity", "capacity default"])
@pytest.mark.parametrize("day", ["2026-11-23", "2026-11-25"], ids=["planned", "unplanned"])
def test_a_past_days_plan_is_neither_refreshed_nor_resized(
    monday_planned: dict[str, str], service: Session, args: tuple[str, ...], said: str, day: str
) -> None:
    with at(24, 11):  # a light Friday, set ahead (its plan made): an override a capacity could clear
        assert nbm("plan", "--user", USER, "--date", "2026-11-27", "--capacity", "light").exit_code == 0
    before = plans(service), overrides(service)
    with at(26, 9):
        result = nbm("plan", "--user", USER, "--date", day, *args)
    assert result.exit_code == 2, result.output
    assert "is over, so its plan stays as it was; " + said in result.output
    assert (plans(service), overrides(service)) == before
