"""`nbm plan` counts everyone waiting for a reply and says how to list those it does not show."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import time_machine
from click.testing import CliRunner, Result
from sqlalchemy import Connection

from bot.cli import main


def nbm(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


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
