"""Migration 0017 gives each plan item stored before it the number it showed then (its position + 1),
and each plan's counter of numbers given the highest of them (0 for an empty plan)."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, text

from core import migrate


def test_items_stored_before_0017_keep_the_numbers_they_showed(connection: Connection) -> None:
    migrate.downgrade(connection, "0016")
    connection.execute(text("SELECT set_config('app.service', 'on', true)"))
    user, full, empty = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    connection.execute(text("INSERT INTO users (id, email, name, timezone) VALUES (:i, 'a@example.com', 'A', 'UTC')"),
                       {"i": user})
    for plan, day in ((full, "2026-11-24"), (empty, "2026-11-25")):
        connection.execute(text("INSERT INTO daily_plans (id, user_id, date) VALUES (:p, :u, :d)"),
                           {"p": plan, "u": user, "d": day})
    actions = [uuid.uuid4() for _ in range(3)]
    for position, action in enumerate(actions):
        connection.execute(text("INSERT INTO actions (id, user_id, action_type, due_date, created_at) "
                                "VALUES (:a, :u, 'CONTENT', '2026-11-24', '2026-11-24T08:00Z')"),
                           {"a": action, "u": user})
        connection.execute(text("INSERT INTO daily_plan_actions (daily_plan_id, action_id, position, is_fast_win) "
                                "VALUES (:p, :a, :n, :n = 0)"), {"p": full, "a": action, "n": position})
    migrate.upgrade(connection)
    connection.execute(text("SELECT set_config('app.service', 'on', true)"))
    numbers = connection.execute(text("SELECT action_id, number FROM daily_plan_actions ORDER BY position")).all()
    assert numbers == [(action, n) for n, action in enumerate(actions, start=1)]
    counters = dict(connection.execute(text("SELECT id, last_number FROM daily_plans")).all())
    assert counters == {full: 3, empty: 0}
