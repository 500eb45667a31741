"""Migration 0020 says who logged each call stored before it: ``system`` for one found in the calendar
(it has a ``calendar_event_calls`` row), ``person`` for every other; and a call the code before it
finds in the calendar while it still serves is ``system`` too."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, text

from core import migrate


def test_calls_stored_before_0020_say_who_logged_them(connection: Connection) -> None:
    migrate.downgrade(connection, "0019")
    connection.execute(text("SELECT set_config('app.service', 'on', true)"))
    user, lead, calendar = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    by_hand, found, found_later = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    connection.execute(text("INSERT INTO users (id, email, name, timezone) VALUES (:i, 'a@example.com', 'A', 'UTC')"),
                       {"i": user})
    connection.execute(text("INSERT INTO leads (id, user_id, name, url) VALUES (:l, :u, 'Bo', 'https://bo.io')"),
                       {"l": lead, "u": user})
    connection.execute(text("INSERT INTO calendar_connections (id, user_id, provider, refresh_token, calendar_id) "
                            "VALUES (:c, :u, 'ics', 'x', 'primary')"), {"c": calendar, "u": user})
    calls = text("INSERT INTO logged_calls (id, user_id, lead_id, call_date) VALUES (:i, :u, :l, :d)")
    link = text("INSERT INTO calendar_event_calls (user_id, calendar_connection_id, event_key, logged_call_id) "
                "VALUES (:u, :c, :k, :i)")
    for call, day in ((by_hand, "2026-11-24"), (found, "2026-11-25")):
        connection.execute(calls, {"i": call, "u": user, "l": lead, "d": day})
    connection.execute(link, {"u": user, "c": calendar, "k": "event-1", "i": found})

    migrate.upgrade(connection)
    connection.execute(text("SELECT set_config('app.service', 'on', true)"))
    # The code before 0020, still serving during the release, finds a call as it always did.
    connection.execute(calls, {"i": found_later, "u": user, "l": lead, "d": "2026-11-26"})
    connection.execute(link, {"u": user, "c": calendar, "k": "event-2", "i": found_later})

    sources = dict(connection.execute(text("SELECT id, source::text FROM logged_calls")).all())
    assert sources == {by_hand: "person", found: "system", found_later: "system"}
