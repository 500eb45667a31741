"""Each day keeps the capacity its user chose for it: setting (or clearing) another day's from the CLI
leaves it as it was (Slack's `/nbm capacity`: tests/slack/test_capacity_days.py); and migration 0019
moves the one override stored before it to its day."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

import pytest
import time_machine
from click.testing import CliRunner
from sqlalchemy import Connection, text

from bot.cli import main
from core import migrate

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)  # Sun 29 Nov, 10:00 in New York
BOB = "bob@example.com"
MONDAY = "2026-11-30"


@pytest.fixture(autouse=True)
def pinned_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def plan(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(main, ["plan", "--user", BOB, *args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    shown: dict[str, object] = json.loads(result.output)
    return shown


@pytest.fixture()
def bob(connection: Connection) -> str:
    runner = CliRunner()
    assert runner.invoke(main, ["users", "add", BOB, "--name", "Bob", "--tz", "America/New_York"]).exit_code == 0
    for n in range(6):
        assert runner.invoke(main, ["leads", "add", "--user", BOB, f"Lead {n}", f"https://x.io/{n}"]).exit_code == 0
    return BOB


def test_setting_another_days_capacity_keeps_todays(bob: str) -> None:
    assert plan("--capacity", "micro")["capacity"] == "micro"
    assert plan("--date", MONDAY, "--capacity", "heavy")["capacity"] == "heavy"
    today = plan("--refresh")
    assert (today["capacity"], len(today["items"])) == ("micro", 1)  # type: ignore[arg-type]
    assert plan("--date", MONDAY, "--refresh")["capacity"] == "heavy"


def test_default_for_another_day_clears_that_days_only(bob: str) -> None:
    plan("--capacity", "micro")
    plan("--date", MONDAY, "--capacity", "heavy")
    assert plan("--date", MONDAY, "--capacity", "default")["capacity"] == "default"
    assert plan("--refresh")["capacity"] == "micro"
    assert plan("--capacity", "default")["capacity"] == "default"


def test_the_override_stored_before_0019_moves_to_its_day(connection: Connection) -> None:
    migrate.downgrade(connection, "0018")
    connection.execute(text("SELECT set_config('app.service', 'on', true)"))
    set_one, unset = uuid.uuid4(), uuid.uuid4()
    for user, email in ((set_one, "a@example.com"), (unset, "b@example.com")):
        connection.execute(text("INSERT INTO users (id, email, name, timezone) VALUES (:i, :e, 'A', 'UTC')"),
                           {"i": user, "e": email})
    connection.execute(text("INSERT INTO user_settings (user_id, capacity_override, capacity_override_date) "
                            "VALUES (:u, 'light', '2026-11-30'), (:v, NULL, NULL)"), {"u": set_one, "v": unset})
    migrate.upgrade(connection)
    connection.execute(text("SELECT set_config('app.service', 'on', true)"))
    rows = connection.execute(text("SELECT user_id, day, capacity FROM capacity_overrides")).all()
    assert rows == [(set_one, date(2026, 11, 30), "light")]
