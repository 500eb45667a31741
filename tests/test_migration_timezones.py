"""Migration 0008: users stored with a timezone that is not a place get the place with the same rules."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, text

from core import migrate


def test_old_aliases_become_their_place_and_non_places_become_utc(connection: Connection) -> None:
    migrate.downgrade(connection, "0007")
    connection.execute(text("SELECT set_config('app.service', 'on', true)"))
    stored = {"US/Eastern": "America/New_York", "GB": "Europe/London", "Factory": "UTC", "localtime": "UTC",
              "Etc/GMT+5": "UTC", "Asia/Kolkata": "Asia/Kolkata"}
    ids = {}
    for name in stored:
        ids[name] = uuid.uuid4()
        connection.execute(text("INSERT INTO users (id, email, name, timezone) VALUES (:i, :e, 'T', :tz)"),
                           {"i": ids[name], "e": f"{ids[name]}@example.com", "tz": name})
    migrate.upgrade(connection)
    connection.execute(text("SELECT set_config('app.service', 'on', true)"))
    now = {name: connection.scalar(text("SELECT timezone FROM users WHERE id = :i"), {"i": ids[name]})
           for name in stored}
    assert now == stored
