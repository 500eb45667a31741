"""One clock: what the product stores is stamped by the clock it decides by, not the database server's.

The clock is pinned far from any day this suite will really run on, before and after, so these
tests fail on code that lets PostgreSQL's ``now()`` stamp a row (the server's clock is real, or
shifted on purpose in CI) and pass whatever the date.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import time_machine
from click.testing import CliRunner
from sqlalchemy import Connection, text

from bot.cli import main
from core.db import unit_of_work


def nbm(*args: str) -> dict:
    result = CliRunner().invoke(main, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize("now", [datetime(2019, 6, 3, 14, 0, tzinfo=UTC), datetime(2034, 6, 5, 14, 0, tzinfo=UTC)],
                         ids=["years-ago", "years-ahead"])
def test_a_lead_added_and_acted_on_from_the_cli_is_stamped_by_the_products_clock(
    connection: Connection, now: datetime
) -> None:
    with time_machine.travel(now, tick=False):
        nbm("users", "add", "ann@example.com", "--name", "Ann Lee", "--tz", "Europe/London")
        nbm("leads", "add", "--user", "ann@example.com", "Priya Raman", "https://www.linkedin.com/in/priya")
        (item,) = nbm("plan", "--user", "ann@example.com")["items"]
        nbm("mark", "--user", "ann@example.com", item["action_id"], "done")

    with unit_of_work(service=True) as session:
        action = session.execute(text(
        "SELECT a.due_date, a.created_at, a.updated_at, l.created_at AS lead_created_at, u.created_at AS joined "
            "FROM actions a JOIN leads l ON l.id = a.person_id JOIN users u ON u.id = a.user_id WHERE a.id = :id"),
            {"id": item["action_id"]}).one()
        events = session.execute(text("SELECT created_at FROM action_events WHERE action_id = :id"),
                                 {"id": item["action_id"]}).scalars().all()
    assert action.due_date == now.date()
    assert (action.created_at, action.updated_at, action.lead_created_at, action.joined) == (now, now, now, now)
    assert events and set(events) == {now}
