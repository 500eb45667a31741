"""The users ``benchmarks.morning`` delivers to: their books and a week of history, seeded in SQL."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from sqlalchemy import text

from benchmarks.harness import BenchUsers, vacuum_analyze
from benchmarks.plan_batch import LEADS_PER_USER, seed_books
from core.clock import utcnow
from core.db import unit_of_work

#: Every seeded user works every day, so every size is due whatever the weekday of the run.
ALL_WEEK = [1, 2, 3, 4, 5, 6, 7]


def seed(bench: BenchUsers, *, count: int) -> list[uuid.UUID]:
    """``count`` more users with their books and a week of history (plans and their emails); every one
    works every day and reads email only."""
    started = time.perf_counter()
    now = utcnow()
    with unit_of_work(service=True) as session:
        users = bench.add(session, count=count, created_at=now - timedelta(days=90),
                          settings=lambda n, tz: {"work_days": ALL_WEEK, "slack_enabled": False})
        seed_books(session, users, at=now)
        ids = [user_id for user_id, _ in users]
        session.execute(_PAST_PLANS, {"users": ids, "at": now, "days": HISTORY_DAYS})
        session.execute(_PAST_ITEMS, {"users": ids})
        session.execute(_PAST_EMAILS, {"users": ids})
    vacuum_analyze(("users", "user_settings", "leads", "actions", "logged_calls", "weekly_summaries",
                    "deliveries", "daily_plans", "daily_plan_actions"))
    print(f"seeded {count} users, {count * LEADS_PER_USER} leads, {HISTORY_DAYS} days of plans and emails each "
          f"({time.perf_counter() - started:.1f} s)")
    return ids


#: A week of history, so that the tables the morning reads and writes have the shape they have in
#: production (an empty table invites plans, sequential scans, that no real morning would get).
HISTORY_DAYS = 7
_PAST_PLANS = text("""
    INSERT INTO daily_plans (user_id, date, capacity, last_number, generated_at)
    SELECT u.id, (CAST(:at AS timestamptz) AT TIME ZONE u.timezone)::date - back, 'default',
           (SELECT least(count(*), 5) FROM actions WHERE user_id = u.id),
           CAST(:at AS timestamptz) - back * interval '1 day'
    FROM users u CROSS JOIN generate_series(1, :days) AS back
    WHERE u.id = ANY(:users)
""")
_PAST_ITEMS = text("""
    INSERT INTO daily_plan_actions (daily_plan_id, action_id, position, number, is_fast_win)
    SELECT p.id, a.id, a.n - 1, a.n, a.n = 1
    FROM daily_plans p
    CROSS JOIN LATERAL (SELECT id, row_number() OVER (ORDER BY id) AS n FROM actions
                        WHERE user_id = p.user_id ORDER BY id LIMIT 5) AS a
    WHERE p.user_id = ANY(:users)
""")
_PAST_EMAILS = text("""
    INSERT INTO deliveries (user_id, kind, channel, period, status, attempts, external_id, sent_at)
    SELECT p.user_id, 'plan', 'email', p.date, 'sent', 1, '<bench-' || p.id || '@bench.nextbestmove.invalid>',
           p.generated_at
    FROM daily_plans p WHERE p.user_id = ANY(:users)
""")
