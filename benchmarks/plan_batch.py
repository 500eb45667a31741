"""The morning's batch planning, :func:`core.planner.batch.plan_users`, beside the same plans computed in SQL.

**Ours**: the first N seeded users (``--users``, each size in turn) planned as the morning plans
them, in batches of ``--batch`` (the morning's ``core.jobs.tasks.BATCH_SIZE``, 200), each batch one
``plan_users`` call: users, existing plans, candidates and summaries read in bulk, each user's plan
chosen in Python (``core.planner.ordering.choose``), plans and items inserted in bulk.

**The floor**: the same plans computed entirely in the database: for each batch, after the same
wake-up statements as ours (:func:`core.housekeeping.wake_due`, which every build of a plan runs
first), one statement that reads the candidates, ranks them, picks the Fast Win, the replies and the
fill with window functions, and inserts the plans and their items (:data:`PLAN_IN_SQL`). Nothing
crosses to Python but the batch's ids. It is the same plan: the run compares every user's items
(action, position, number, Fast Win, and the plan's counter of numbers given) with ours and says how
many differ (the SQL follows the ordering's rules for new plans; it does not know the rule for a
CONTENT action with a lead, which the benchmark's data never has).

Targets: at the largest size (10,000 users by default), ours plans at least 1/1.5 of the floor's
users per second; the same number of statements for every batch, whatever the number of users; the
floor's plans equal ours.

Each user gets a realistic book, dated relative to their own local day at ``--at`` (default: now):
20 leads (16 active, 2 snoozed, 2 archived) in five shapes that make every rank of the ordering
appear — a fresh outreach, a sent outreach with its follow-up (some overdue), a finished lead with
a nurture, a replied lead with its "reply to" follow-up, a lead with a call tomorrow (prep and
post-call) — plus a Fast Win and a content action: about 40 actions, more than half of them not
plannable today (done, sent, due later, or on a snoozed or archived lead). A third of the users
have no calendar (``default`` capacity), the others' free minutes span micro to heavy; one in ten
overrode today's capacity; one in four has last week's summary focus. Timezones span Honolulu to
Auckland.

Run: ``python -m benchmarks.plan_batch [--users 1000 10000] [--batch 200] [--repeat 2] [--at ISO_INSTANT]``.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from benchmarks.harness import (
    BenchUsers,
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
from core.housekeeping import wake_due
from core.jobs.tasks import BATCH_SIZE
from core.models import (
    Action,
    ActionOrigin,
    ActionState,
    ActionType,
    CapacityLevel,
    CapacityOverride,
    Lead,
    LeadStatus,
    LoggedCall,
    WeeklySummary,
)
from core.planner.batch import plan_users, week_start

MAX_RATIO = 1.5  # ours may take at most this many times the SQL floor's time
LEADS_PER_USER = 20
#: Free minutes by user number (None: no calendar, so the ``default`` capacity).
FREE_MINUTES = (None, 45, 120, None, 240, 360, None, 200, 90)


def seed_books(session: Session, users: Sequence[tuple[uuid.UUID, str]], *, at: datetime) -> int:
    """Every user's leads, actions, calls and last week's summary; returns how many actions."""
    leads: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    summaries: list[dict[str, Any]] = []
    for n, (user_id, timezone) in enumerate(users):
        today = local_today(timezone, at=at)
        for i in range(LEADS_PER_USER):
            _book_lead(user_id, n, i, today=today, at=at, leads=leads, actions=actions, calls=calls)
        for action_type in (ActionType.FAST_WIN, ActionType.CONTENT):
            actions.append(_action(user_id, None, action_type, ActionOrigin.USER, due=today,
                                   created=at - timedelta(days=1)))
        if n % 4 == 0:
            summaries.append({"id": uuid.uuid4(), "user_id": user_id,
                              "week_start_date": week_start(today) - timedelta(days=7), "timezone": timezone,
                              "insight_text": "Replies came fastest on Tuesdays.",
                              "next_week_focus": "Close the three warm conversations"})
    insert_rows(session, Lead, leads)
    insert_rows(session, LoggedCall, calls)
    insert_rows(session, Action, actions)
    insert_rows(session, WeeklySummary, summaries)
    return len(actions)


def _book_lead(user_id: uuid.UUID, n: int, i: int, *, today: date, at: datetime, leads: list[dict[str, Any]],
               actions: list[dict[str, Any]], calls: list[dict[str, Any]]) -> None:
    """One lead and its actions; ``i`` picks the lead's shape and status."""
    created = at - timedelta(days=10 + (n + i * 3) % 50)
    status = LeadStatus.ARCHIVED if i >= 18 else LeadStatus.SNOOZED if i >= 16 else LeadStatus.ACTIVE
    lead: dict[str, Any] = {
        "id": uuid.uuid4(), "user_id": user_id, "name": f"Lead {i}", "created_at": created, "status": status,
        "url": f"https://www.linkedin.com/in/bench-{n}-{i}",
        "snooze_until": today + timedelta(days=3) if status == LeadStatus.SNOOZED else None}
    leads.append(lead)
    first_due = created.date() + timedelta(days=1)

    def add(action_type: ActionType, origin: ActionOrigin, due: date, state: ActionState = ActionState.NEW,
            **extra: Any) -> None:
        actions.append(_action(user_id, lead["id"], action_type, origin, due=due, created=created, state=state,
                               **extra))

    shape = i % 5
    if shape == 0:  # a fresh lead: its outreach, some overdue
        add(ActionType.OUTREACH, ActionOrigin.LEAD_ADDED, today - timedelta(days=i % 4))
        return
    if shape == 1:  # sent, waiting: a follow-up, overdue, due today, or not yet due
        add(ActionType.OUTREACH, ActionOrigin.LEAD_ADDED, first_due, ActionState.SENT)
        add(ActionType.FOLLOW_UP, ActionOrigin.SENT, today + timedelta(days=(i % 3) - 1))
    elif shape == 2:  # finished, gone quiet: a nurture
        add(ActionType.OUTREACH, ActionOrigin.LEAD_ADDED, first_due, ActionState.DONE, completed_at=created)
        add(ActionType.NURTURE, ActionOrigin.COLD, today)
    elif shape == 3:  # replied: someone is waiting on the user
        add(ActionType.OUTREACH, ActionOrigin.LEAD_ADDED, first_due, ActionState.REPLIED, completed_at=created)
        add(ActionType.FOLLOW_UP, ActionOrigin.REPLY, today)
    else:  # a call tomorrow: its prep today, its debrief the day after
        call_id = uuid.uuid4()
        calls.append({"id": call_id, "user_id": user_id, "lead_id": lead["id"], "call_date": today + timedelta(1),
                      "created_at": created})
        add(ActionType.OUTREACH, ActionOrigin.LEAD_ADDED, first_due, ActionState.DONE, completed_at=created)
        add(ActionType.CALL_PREP, ActionOrigin.CALL, today, logged_call_id=call_id)
        add(ActionType.POST_CALL, ActionOrigin.CALL, today + timedelta(days=2), logged_call_id=call_id)


def _action(user_id: uuid.UUID, lead_id: uuid.UUID | None, action_type: ActionType, origin: ActionOrigin, *,
            due: date, created: datetime, state: ActionState = ActionState.NEW, **extra: Any) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "user_id": user_id, "person_id": lead_id, "action_type": action_type,
            "origin": origin, "auto_created": origin != ActionOrigin.USER, "state": state, "due_date": due,
            "created_at": created, "completed_at": None, "logged_call_id": None, **extra}


def capacity_overrides(users: Sequence[tuple[uuid.UUID, str]], *, at: datetime) -> list[dict[str, Any]]:
    """One user in ten set today's capacity by hand."""
    return [{"user_id": user_id, "day": local_today(timezone, at=at), "capacity": CapacityLevel.HEAVY}
            for user_id, timezone in users[5::10]]


def seed(bench: BenchUsers, *, count: int, at: datetime) -> list[tuple[uuid.UUID, str]]:
    """``count`` users with their books, committed and analysed; prints what it made."""
    started = time.perf_counter()
    with unit_of_work(service=True) as session:
        users = bench.add(session, count=count, created_at=at - timedelta(days=90))
        insert_rows(session, CapacityOverride, capacity_overrides(users, at=at))
        actions = seed_books(session, users, at=at)
    vacuum_analyze(("users", "user_settings", "capacity_overrides", "leads", "actions", "logged_calls",
                    "weekly_summaries"))
    print(f"seeded {count} users, {count * LEADS_PER_USER} leads, {actions} actions "
          f"({time.perf_counter() - started:.1f} s)\n")
    return users


def items_of(session: Session, users: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[tuple[Any, ...], ...]]:
    """Each user's plan items as (position, number, action, Fast Win), with the plan's counter of numbers
    given, read after the measurement, in its transaction."""
    rows = session.execute(text("""
        SELECT p.user_id, p.last_number, i.position, i.number, i.action_id, i.is_fast_win
        FROM daily_plans p JOIN daily_plan_actions i ON i.daily_plan_id = p.id
        WHERE p.user_id = ANY(:users) ORDER BY p.user_id, i.position
    """), {"users": list(users)})
    found: dict[uuid.UUID, list[tuple[Any, ...]]] = {user_id: [] for user_id in users}
    for user_id, last_number, position, number, action_id, fast in rows:
        found[user_id].append((last_number, position, number, action_id, fast))
    return {user_id: tuple(items) for user_id, items in found.items()}


#: The floor: a batch's plans chosen and written by the database alone (module docstring). Ranks,
#: ties, slots, the Fast Win, replies and the one-content rule as core.planner.ordering has them for a
#: new plan; capacity and focus as core.planner.batch has them.
PLAN_IN_SQL = text("""
WITH k AS (
  SELECT u.id AS user_id, d.day, f.free, date_trunc('week', d.day)::date AS monday,
         CASE WHEN o.capacity IS NOT NULL THEN o.capacity
              WHEN f.free IS NULL THEN 'default' WHEN f.free >= 300 THEN 'heavy' WHEN f.free >= 180 THEN 'standard'
              WHEN f.free >= 60 THEN 'light' ELSE 'micro' END::capacity_level AS capacity,
         s.focus_text, s.focus_week_start
  FROM unnest(CAST(:users AS uuid[]), CAST(:free AS integer[])) AS f (user_id, free)
  JOIN users u ON u.id = f.user_id
  LEFT JOIN user_settings s ON s.user_id = u.id
  CROSS JOIN LATERAL (SELECT (CAST(:at AS timestamptz) AT TIME ZONE u.timezone)::date AS day) AS d
  LEFT JOIN capacity_overrides o ON o.user_id = u.id AND o.day = d.day
  WHERE NOT EXISTS (SELECT 1 FROM daily_plans p WHERE p.user_id = u.id AND p.date = d.day)
),
ks AS (
  SELECT k.*, CASE k.capacity WHEN 'micro' THEN 1 WHEN 'light' THEN 3 WHEN 'heavy' THEN 8 ELSE 5 END AS slots,
         CASE WHEN k.focus_text <> '' AND k.focus_week_start = k.monday THEN k.focus_text
              ELSE (SELECT nullif(w.next_week_focus, '') FROM weekly_summaries w
                    WHERE w.user_id = k.user_id AND w.week_start_date = k.monday - 7) END AS focus
  FROM k
),
c AS (
  SELECT ks.user_id, a.id, a.person_id AS lead_id, a.action_type AS t, a.due_date, a.created_at,
         a.action_type = 'FOLLOW_UP' AND a.origin = 'REPLY' AS reply,
         CASE a.action_type WHEN 'FAST_WIN' THEN 2 WHEN 'FOLLOW_UP' THEN 5 WHEN 'NURTURE' THEN 5 WHEN 'OUTREACH' THEN 10
              WHEN 'POST_CALL' THEN 10 WHEN 'CALL_PREP' THEN 15 ELSE 20 END AS minutes,
         CASE WHEN a.action_type = 'FOLLOW_UP' AND a.origin = 'REPLY' THEN 1
              WHEN a.action_type = 'FOLLOW_UP' THEN CASE WHEN a.due_date < ks.day THEN 4 ELSE 5 END
              WHEN a.action_type = 'CALL_PREP' THEN
                CASE WHEN lc.call_date IS NULL OR lc.call_date BETWEEN ks.day AND ks.day + 1 THEN 2
                     WHEN lc.call_date < ks.day THEN 11 ELSE 6 END
              WHEN a.action_type = 'POST_CALL' THEN 3 WHEN a.action_type = 'OUTREACH' THEN 7
              WHEN a.action_type = 'NURTURE' THEN 8 WHEN a.action_type = 'FAST_WIN' THEN 9 ELSE 10 END AS rank,
         CASE WHEN a.action_type = 'CALL_PREP' AND NOT (a.action_type = 'FOLLOW_UP' AND a.origin = 'REPLY')
              THEN coalesce(lc.call_date, ks.day) END AS w_date,
         CASE WHEN a.action_type = 'OUTREACH' THEN coalesce(l.created_at, a.created_at) END AS w_at
  FROM ks
  JOIN actions a ON a.user_id = ks.user_id AND a.state = 'NEW' AND a.due_date <= ks.day
  LEFT JOIN leads l ON l.id = a.person_id
  LEFT JOIN logged_calls lc ON lc.id = a.logged_call_id
  WHERE a.person_id IS NULL OR l.status = 'ACTIVE'
),
ranked AS (
  SELECT c.*, row_number() OVER (PARTITION BY c.user_id ORDER BY rank, w_date, w_at, due_date, created_at, id) AS pos
  FROM c
),
r AS (  -- what a plan may hold: every reply, each lead's highest-ranked other action, every item without a lead
  SELECT * FROM (
    SELECT ranked.*, row_number() OVER (PARTITION BY user_id, lead_id, reply ORDER BY pos) AS nth_of_lead
    FROM ranked) AS numbered
  WHERE reply OR lead_id IS NULL OR nth_of_lead = 1
),
fw AS (SELECT DISTINCT ON (user_id) user_id, id, lead_id FROM r
       ORDER BY user_id, t <> 'FAST_WIN', minutes, pos),
fwr AS (SELECT DISTINCT ON (user_id) user_id, id FROM r WHERE reply
        ORDER BY user_id, t <> 'FAST_WIN', minutes, pos),
rs AS (SELECT user_id, coalesce(array_agg(lead_id) FILTER (WHERE lead_id IS NOT NULL), '{}') AS leads,
              count(*) FILTER (WHERE lead_id IS NULL) AS leadless
       FROM r WHERE reply GROUP BY user_id),
f AS (
  SELECT ks.user_id,
         CASE WHEN fw.id IS NULL THEN NULL
              WHEN (SELECT count(DISTINCT x) FROM unnest(coalesce(rs.leads, '{}') || fw.lead_id) AS x)
                   + coalesce(rs.leadless, 0) + (fw.lead_id IS NULL)::int > ks.slots THEN fwr.id
              ELSE fw.id END AS id
  FROM ks LEFT JOIN fw USING (user_id) LEFT JOIN fwr USING (user_id) LEFT JOIN rs USING (user_id)
),
init AS (
  SELECT r.user_id, r.id, r.lead_id, r.t, r.pos, r.reply, CASE WHEN r.id = f.id THEN 0 ELSE 1 END AS grp
  FROM r JOIN f USING (user_id) WHERE r.id = f.id OR r.reply
),
taken AS (
  SELECT ks.user_id, ks.slots - coalesce((SELECT count(DISTINCT i.lead_id) + count(*) FILTER (WHERE i.lead_id IS NULL)
                                          FROM init i WHERE i.user_id = ks.user_id), 0) AS free_slots
  FROM ks
),
rest AS (  -- a lead in the plan through its replies alone shares their slot with its own action
  SELECT r.*, r.lead_id IS NOT NULL AND EXISTS (
           SELECT 1 FROM init i WHERE i.user_id = r.user_id AND i.lead_id = r.lead_id) AS shares,
         row_number() OVER (PARTITION BY r.user_id, r.t = 'CONTENT' ORDER BY r.pos) AS nth_of_kind
  FROM r
  WHERE NOT EXISTS (SELECT 1 FROM init i WHERE i.id = r.id)
    AND (r.lead_id IS NULL OR NOT EXISTS (
           SELECT 1 FROM init i WHERE i.user_id = r.user_id AND i.lead_id = r.lead_id AND NOT i.reply))
),
fill AS (
  SELECT o.user_id, o.id, o.pos, o.shares, row_number() OVER (PARTITION BY o.user_id, o.shares ORDER BY o.pos) AS nth
  FROM rest o  -- one CONTENT a day, which may be the Fast Win (the quickest of a day of posts)
  WHERE o.t <> 'CONTENT' OR (o.nth_of_kind = 1 AND NOT EXISTS (
          SELECT 1 FROM init i WHERE i.user_id = o.user_id AND i.t = 'CONTENT'))
),
chosen AS (
  SELECT user_id, id, grp, pos FROM init
  UNION ALL
  SELECT fill.user_id, fill.id, 2, fill.pos FROM fill JOIN taken USING (user_id)
  WHERE fill.shares OR fill.nth <= taken.free_slots
),
plans AS (
  INSERT INTO daily_plans (user_id, date, focus_statement, capacity, free_minutes, last_number, generated_at)
  SELECT user_id, day, focus, capacity, free, (SELECT count(*) FROM chosen WHERE chosen.user_id = ks.user_id),
         CAST(:at AS timestamptz) FROM ks
  ON CONFLICT (user_id, date) DO NOTHING
  RETURNING id, user_id
),
placed AS (
  SELECT plans.id AS plan_id, chosen.id, chosen.grp,
         row_number() OVER (PARTITION BY chosen.user_id ORDER BY chosen.grp, chosen.pos) AS n
  FROM chosen JOIN plans USING (user_id)
)
INSERT INTO daily_plan_actions (daily_plan_id, action_id, position, number, is_fast_win)
SELECT plan_id, id, n - 1, n, grp = 0 FROM placed
""")


def plan_in_sql(session: Session, *, user_ids: Sequence[uuid.UUID], at: datetime,
                free_minutes: dict[uuid.UUID, int | None]) -> None:
    wake_due(session, at=at, user_ids=user_ids)  # as ours does first: the same statements on both sides
    session.execute(PLAN_IN_SQL, {"users": list(user_ids), "free": [free_minutes.get(u) for u in user_ids],
                                  "at": at})


def main(argv: Sequence[str] | None = None) -> int:
    parser = arguments("Measure the morning's batch planning beside the same plans computed in SQL.",
                       users=(1000, 10_000), repeat=2)
    parser.add_argument("--batch", type=int, default=BATCH_SIZE, help=f"users per batch (default: {BATCH_SIZE})")
    args = parser.parse_args(argv)
    check_arguments(parser, args)
    at = args.at or utcnow()
    sizes = sorted(set(args.users))
    engine = open_database()
    print("\n".join(environment(engine)))
    print(f"planning at {at.isoformat()} in batches of {args.batch}; best of {args.repeat} runs, each rolled back\n")
    rows: list[tuple[object, ...]] = []
    verdicts: list[tuple[bool, str]] = []
    per_batch: set[float] = set()
    with throwaway_users() as bench:
        users = seed(bench, count=sizes[-1], at=at)
        ids = [user_id for user_id, _ in users]
        free_minutes = {user_id: FREE_MINUTES[n % len(FREE_MINUTES)] for n, user_id in enumerate(ids)}

        def batched(plan: Callable[..., object], size: int) -> Callable[[Session], dict[uuid.UUID, Any]]:
            def work(session: Session) -> dict[uuid.UUID, Any]:
                for start in range(0, size, args.batch):
                    plan(session, user_ids=ids[start:min(start + args.batch, size)], at=at, free_minutes=free_minutes)
                return {}
            return work

        def outcome(size: int) -> Callable[[Session, object], dict[uuid.UUID, Any]]:
            return lambda session, _: items_of(session, ids[:size])

        for plan in (plan_users, plan_in_sql):  # warm-up: imports, compiled-statement caches, the buffer cache
            measure(engine, batched(plan, min(sizes[0], args.batch)), repeat=1)
        for size in sizes:
            batches = -(-size // args.batch)
            try:
                ours = measure(engine, batched(plan_users, size), repeat=args.repeat, outcome=outcome(size))
                floor = measure(engine, batched(plan_in_sql, size), repeat=args.repeat, outcome=outcome(size))
            except DBAPIError as exc:  # a finding to report, not a reason to lose the other sizes' figures
                verdicts.append((False, f"{size} users failed: {str(exc.orig or exc).splitlines()[0]}"))
                continue
            per_batch.add(ours.statements / batches)
            differ = sum(1 for user_id in ids[:size] if ours.result[user_id] != floor.result[user_id])
            ratio = ours.seconds / floor.seconds
            for name, figures in (("ours", ours), ("floor (SQL)", floor)):
                rows.append((size, name, f"{figures.seconds:.2f} s", f"{size / figures.seconds:.0f}",
                             figures.statements, mib(figures.peak_bytes),
                             sum(len(items) for items in figures.result.values())))
            rows.append((size, "ours / floor", f"{ratio:.2f}x time", "", "", "", f"{differ} users differ"))
            last = (size, ours, floor, ratio, differ)
    print()
    print_table(("users", "", "wall time", "users/s", "statements", "peak memory", "plan items"), rows)
    print()
    if rows:
        size, ours, floor, ratio, differ = last
        verdicts += [
            (ratio <= MAX_RATIO, f"{size} users: ours {size / ours.seconds:.0f} users/s, the SQL floor "
                                 f"{size / floor.seconds:.0f} users/s: {ratio:.2f}x its time (target: at most "
                                 f"{MAX_RATIO}x)"),
            (len(per_batch) == 1, f"statements per batch of {args.batch}: "
                                  f"{', '.join(f'{n:g}' for n in sorted(per_batch))} (target: the same at every size)"),
            (differ == 0, f"the floor's plans equal ours: {size - differ} of {size} users identical"),
        ]
    for met, text_ in verdicts:
        print(verdict(met, text_))
    return 0 if verdicts and all(met for met, _ in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
