"""Migrations about timezones: 0008 gives each user stored with a timezone core.clock.zone refused the
name core.clock.place_for reads it as; 0016 gives each weekly summary stored before it its user's
timezone.

0008 runs place_for as it is now, so these pins say what a database that has not yet run 0008 gets.
Two pins show a better answer than 0008 first gave: ``Etc/GMT+5`` (UTC before place_for kept fixed
offsets) and the System V rules (``CET``, ``EST5EDT``, ``HST``: UTC on a machine whose tz data had
them as zones of their own, such as Debian's, where they were links to their places in tzdata 2024b
and later). A database already past 0008 is not migrated again, so this changes nothing stored: what
it gave UTC then cannot be told from a user who chose UTC."""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, text

from core import migrate


def test_old_aliases_and_system_v_rules_become_their_place_fixed_offsets_stay_and_other_non_places_utc(
    connection: Connection
) -> None:
    migrate.downgrade(connection, "0007")
    connection.execute(text("SELECT set_config('app.service', 'on', true)"))
    stored = {"US/Eastern": "America/New_York", "GB": "Europe/London", "Factory": "UTC", "localtime": "UTC",
              "Etc/GMT+5": "Etc/GMT+5", "Asia/Kolkata": "Asia/Kolkata", "Etc/UTC": "UTC", "GMT": "UTC",
              "US/Pacific": "America/Los_Angeles", "Mars/Olympus_Mons": "UTC", "CET": "Europe/Brussels",
              "EST5EDT": "America/New_York", "HST": "Pacific/Honolulu"}
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


def test_summaries_stored_before_0016_get_their_users_timezone(connection: Connection) -> None:
    migrate.downgrade(connection, "0015")
    connection.execute(text("SELECT set_config('app.service', 'on', true)"))
    users = {"Asia/Tokyo": uuid.uuid4(), "America/Los_Angeles": uuid.uuid4()}
    for tz, user_id in users.items():
        connection.execute(text("INSERT INTO users (id, email, name, timezone) VALUES (:i, :e, 'T', :tz)"),
                           {"i": user_id, "e": f"{user_id}@example.com", "tz": tz})
        connection.execute(text("INSERT INTO weekly_summaries (user_id, week_start_date, insight_text, "
                                "next_week_focus) VALUES (:i, '2026-11-16', 'i', 'f')"), {"i": user_id})
    migrate.upgrade(connection)
    connection.execute(text("SELECT set_config('app.service', 'on', true)"))
    stored = {tz: connection.scalar(text("SELECT timezone FROM weekly_summaries WHERE user_id = :i"), {"i": user_id})
              for tz, user_id in users.items()}
    assert stored == {tz: tz for tz in users}
