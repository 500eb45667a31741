"""The scheduler's question each minute, :func:`core.jobs.schedule.due_deliveries`, over N users.

**Ours**: the tick's one statement, and the rows it returns turned into ``Due`` values, as the tick
uses them. **The floor**: what any tick over every user must at least do, in one statement too:
read each user with their settings once and probe the deliveries' unique key once for each of them
(``FLOOR``), with no time arithmetic at all.

Targets: one statement at every size; at 100,000 users in the database, under a second (below that,
the largest size's cost per user is scaled to 100,000); and no worse than linear: the cost per user at
the largest size at most 1.5 times that at the smallest (the query it replaced cost 19 times as much
for 10 times the users).

The users are grown to each size in turn (10,000, then 100,000 by default) and the tick measured at
each. Each user has a realistic history: two weeks of sent plan deliveries on each channel they have
on and the last two weekly summaries, and, as in the middle of a real morning, two users in five
already had today's email and one in three this week's summary. Settings vary as people's do:
delivery times from 06:30 to 09:00, a few six-day or Sunday–Thursday weeks, one user in three on
Slack, a few who turned email off or unsubscribed, one in twenty who joined this week (no summary
yet). The query reads every user with service, whoever created them, so the cost is reported per user
in the database.

The default instant is this week's Monday at 12:00 UTC: plans and weekly summaries are both due
then, and the users' local times run from 02:00 Monday (Honolulu) to 01:00 Tuesday (Auckland), so
some are due, some not yet, some already served — the heaviest tick of the week (about 1.1 due
deliveries per user, all of which the tick hands over).

Run: ``python -m benchmarks.morning_tick [--users 10000 100000] [--repeat 5] [--at ISO_INSTANT]``.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from benchmarks.harness import (
    BenchUsers,
    Figures,
    arguments,
    check_arguments,
    environment,
    insert_rows,
    measure,
    mib,
    open_database,
    print_table,
    throwaway_users,
    vacuum_analyze,
    verdict,
)
from core.clock import local_today, utcnow
from core.db import unit_of_work
from core.jobs.schedule import Due, due_deliveries
from core.models import (
    Channel,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    SlackUserLink,
    User,
)
from core.planner.batch import week_start

TARGET_USERS, TARGET_SECONDS = 100_000, 1.0
MAX_GROWTH = 1.5
HISTORY_DAYS = 14
DELIVERY_TIMES = (clock_time(6, 30), clock_time(7), clock_time(7, 30), clock_time(7, 30), clock_time(8), clock_time(9))
CHANNELS = (Channel.EMAIL, Channel.SLACK)


def default_instant(now: datetime) -> datetime:
    """This week's Monday at 12:00 UTC (see the module's docstring)."""
    monday = (now.astimezone(UTC) - timedelta(days=now.astimezone(UTC).weekday())).date()
    return datetime.combine(monday, clock_time(12), tzinfo=UTC)


def user_settings(n: int, _timezone: str) -> dict[str, Any]:
    work_days = [1, 2, 3, 4, 5, 6] if n % 8 == 3 else [7, 1, 2, 3, 4] if n % 15 == 7 else [1, 2, 3, 4, 5]
    return {"delivery_time": DELIVERY_TIMES[n % len(DELIVERY_TIMES)], "work_days": work_days,
            "slack_enabled": n % 3 == 0, "email_enabled": n % 30 != 1,
            "email_unsubscribed_at": datetime(2026, 1, 1, tzinfo=UTC) if n % 25 == 2 else None}


def grow(bench: BenchUsers, *, to: int, at: datetime) -> None:
    """Add users (with links, settings and history) until this run has ``to`` of them; analyse."""
    first = bench.created
    with unit_of_work(service=True) as session:
        users = bench.add(session, count=to - first, created_at=at - timedelta(days=60), settings=user_settings)
        links, deliveries = [], []
        for n, (user_id, timezone) in enumerate(users, start=first):
            slack = n % 3 == 0
            if slack:
                links.append({"user_id": user_id, "team_id": "TBENCH", "slack_user_id": f"U{bench.token}{n}"})
            deliveries += history(user_id, n, today=local_today(timezone, at=at), slack=slack)
        insert_rows(session, SlackUserLink, links)
        insert_rows(session, Delivery, deliveries)
        newcomers = [user_id for n, (user_id, _) in enumerate(users, start=first) if n % 20 == 9]
        session.execute(update(User).where(User.id.in_(newcomers)).values(created_at=at - timedelta(hours=2)))
    vacuum_analyze(("users", "user_settings", "slack_user_links", "deliveries"))


def history(user_id: uuid.UUID, n: int, *, today: date, slack: bool) -> list[dict[str, Any]]:
    """Sent deliveries: the past two weeks' plans, the last two summaries, some of today's."""
    channels = CHANNELS if slack else CHANNELS[:1]
    monday = week_start(today)
    rows = [(DeliveryKind.PLAN, channel, today - timedelta(days=d))
            for d in range(1, HISTORY_DAYS + 1) if (today - timedelta(days=d)).isoweekday() <= 5
            for channel in channels]
    rows += [(DeliveryKind.WEEKLY_SUMMARY, channel, monday - timedelta(days=7 * w))
             for w in (2, 3) for channel in channels]
    if n % 5 in (0, 1):
        rows.append((DeliveryKind.PLAN, Channel.EMAIL, today))
    if n % 3 == 1:
        rows.append((DeliveryKind.WEEKLY_SUMMARY, Channel.EMAIL, monday - timedelta(days=7)))
    return [{"id": uuid.uuid4(), "user_id": user_id, "kind": kind, "channel": channel, "period": period,
             "status": DeliveryStatus.SENT, "attempts": 1}
            for kind, channel, period in rows]


def counts(session: Session) -> tuple[int, int]:
    """Users and deliveries in the whole database (every one is in the tick's reach)."""
    return session.scalar(select(func.count()).select_from(User)) or 0, \
        session.scalar(select(func.count()).select_from(Delivery)) or 0


#: The floor: every user with their settings, read once, and one probe of the deliveries' key each.
FLOOR = text("""
    SELECT u.id, s.delivery_time, d.status
    FROM users u
    JOIN user_settings s ON s.user_id = u.id
    LEFT JOIN LATERAL (SELECT d.status FROM deliveries d
                       WHERE d.user_id = u.id AND d.kind = 'plan' AND d.channel = 'email'
                         AND d.period = CAST(:day AS date) LIMIT 1) AS d ON true
""")


def floor(session: Session, *, at: datetime) -> list[Any]:
    return list(session.execute(FLOOR, {"day": at.date()}).all())


def main(argv: Sequence[str] | None = None) -> int:
    parser = arguments("Measure the scheduler's due-deliveries query over N users, beside its floor.",
                       users=(10_000, 100_000), repeat=5)
    args = parser.parse_args(argv)
    check_arguments(parser, args)
    at = args.at or default_instant(utcnow())
    engine = open_database()
    print("\n".join(environment(engine)))
    print(f"ticking at {at.isoformat()}; best of {args.repeat} runs\n")
    rows: list[tuple[object, ...]] = []
    results: list[tuple[int, float, float]] = []  # users in the database, ours, floor (seconds)
    statements: set[int] = set()
    with throwaway_users() as bench:
        for size in sorted(set(args.users)):
            started = time.perf_counter()
            grow(bench, to=size, at=at)
            print(f"grew to {size} benchmark users ({time.perf_counter() - started:.1f} s)")
            with unit_of_work(service=True) as session:
                in_database, deliveries = counts(session)
            tick: Figures[list[Due]] = measure(engine, lambda s: due_deliveries(s, at=at, channels=CHANNELS),
                                               repeat=args.repeat)
            base: Figures[list[Any]] = measure(engine, lambda s: floor(s, at=at), repeat=args.repeat)
            statements.add(tick.statements)
            results.append((in_database, tick.seconds, base.seconds))
            rows.append((size, in_database, deliveries, f"{tick.seconds * 1000:.0f} ms",
                         f"{base.seconds * 1000:.0f} ms", f"{tick.seconds / base.seconds:.1f}x",
                         f"{tick.seconds / in_database * 1e6:.1f} µs", tick.statements, mib(tick.peak_bytes),
                         len(tick.result)))
    print()
    print_table(("bench users", "users in db", "deliveries", "ours", "floor", "ours/floor", "ours per user",
                 "statements", "peak memory", "due deliveries"), rows)
    in_database, seconds, _ = results[-1]
    at_target = seconds if in_database >= TARGET_USERS else seconds / in_database * TARGET_USERS
    how = "measured" if in_database >= TARGET_USERS else "scaled from the largest size"
    (small_n, small_s, _), (large_n, large_s, _) = results[0], results[-1]
    growth = (large_s / large_n) / (small_s / small_n)
    verdicts = [
        (statements == {1},
         f"statements per tick: {', '.join(map(str, sorted(statements)))} (target: 1 at every size)"),
        (at_target < TARGET_SECONDS, f"{at_target * 1000:.0f} ms at {TARGET_USERS:,} users ({how}; target: under "
                                     f"{TARGET_SECONDS:.0f} s)"),
        (len(results) > 1 and growth <= MAX_GROWTH,
         f"cost per user at {large_n:,} users is {growth:.2f}x that at {small_n:,} (target: at most {MAX_GROWTH}x, "
         "linear)" if len(results) > 1 else "linear in users: not judged, measure two sizes"),
    ]
    print()
    for met, text_ in verdicts:
        print(verdict(met, text_))
    return 0 if all(met for met, _ in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
