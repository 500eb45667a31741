"""`nbm plan` counts everyone waiting for a reply and says how to list those it does not show."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import time_machine
from sqlalchemy import Connection

from tests.cli import nbm


def test_the_plan_counts_everyone_waiting(connection: Connection) -> None:
    with time_machine.travel(datetime(2026, 11, 25, 12, 0, tzinfo=UTC), tick=False):
        nbm("users", "add", "wes@example.com", "--name", "Wes", "--tz", "Europe/London")
        for n in range(12):
            nbm("leads", "add", "--user", "wes@example.com", f"Lead {n:02d}", f"https://x.io/{n}")
        for action in json.loads(nbm("actions", "list", "--user", "wes@example.com", "--json").output):
            assert nbm("mark", "--user", "wes@example.com", str(action["id"]), "sent").exit_code == 0
        shown = nbm("plan", "--user", "wes@example.com").output
        as_json = json.loads(nbm("plan", "--user", "wes@example.com", "--json").output)
    assert "Waiting for a reply (12):" in shown
    assert "…and 2 more: nbm actions list --state SENT lists them all." in shown
    assert (len(as_json["waiting"]), as_json["waiting_total"]) == (10, 12)


def test_a_past_days_plan_lists_what_was_waiting_at_its_end_not_what_was_sent_since(connection: Connection) -> None:
    """Monday's plan, read on Wednesday: Ann's message sent on Monday was waiting that evening; Bea's,
    sent on Tuesday, was not yet, and Cy's, answered on Monday, no longer was. Today's plan lists
    what waits now."""
    user = "wes@example.com"

    def at(day: int, hour: int) -> time_machine.travel:
        return time_machine.travel(datetime(2026, 11, day, hour, 0, tzinfo=UTC), tick=False)

    with at(23, 9):
        nbm("users", "add", user, "--name", "Wes", "--tz", "Europe/London")
        for name in ("Ann Lee", "Bea Stone", "Cy Dee"):
            nbm("leads", "add", "--user", user, name, f"https://x.io/{name.split()[0].lower()}")
        planned = json.loads(nbm("plan", "--user", user, "--json").output)["items"]
        ids = {item["lead"]: item["action_id"] for item in planned}
        for name in ("Ann Lee", "Cy Dee"):
            assert nbm("mark", "--user", user, ids[name], "sent").exit_code == 0
    with at(23, 17):
        assert nbm("mark", "--user", user, ids["Cy Dee"], "replied").exit_code == 0
    with at(24, 10):
        assert nbm("mark", "--user", user, ids["Bea Stone"], "sent").exit_code == 0

    with at(25, 9):
        monday = nbm("plan", "--user", user, "--date", "2026-11-23").output
        as_json = json.loads(nbm("plan", "--user", user, "--date", "2026-11-23", "--json").output)
        today = json.loads(nbm("plan", "--user", user, "--json").output)

    assert "Waiting for a reply at the end of Mon 23 Nov (1):" in monday
    assert "Your first message to Ann Lee (sent Mon 23 Nov)" in monday
    assert "Bea Stone" not in monday.split("Waiting for a reply")[1]
    assert ([w["lead"] for w in as_json["waiting"]], as_json["waiting_total"], as_json["waiting_on"]) == (
        ["Ann Lee"], 1, "2026-11-23")
    assert ([w["lead"] for w in today["waiting"]], today["waiting_on"]) == (["Ann Lee", "Bea Stone"], None)
