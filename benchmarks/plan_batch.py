"""The morning's batch planning, :func:`core.planner.batch.plan_users`, for batches of N users.

Target: the same number of SQL statements for every batch size (the planner is set-based: a fixed
number of queries per batch, not per user), and 1,000 users planned in well under a minute: the
verdict scales the largest batch's per-user cost to 1,000 users (at most 60 ms per user).

Each user gets a realistic book, dated relative to their own local day at ``--at`` (default: now):
20 leads (16 active, 2 snoozed, 2 archived) in five shapes that make every rank of the ordering
appear — a fresh outreach, a sent outreach with its follow-up (some overdue), a finished lead with
a nurture, a replied lead with its "reply to" follow-up, a lead with a call tomorrow (prep and
post-call) — plus a Fast Win and a content action: about 40 actions, more than half of them not
plannable today (done, sent, due later, or on a snoozed or archived lead). A third of the users
have no calendar (``default`` capacity), the others' free minutes span micro to heavy; one in ten
overrode today's capacity; one in four has last week's summary focus. Timezones span Honolulu to
Auckland.

Run: ``python -m benchmarks.plan_batch [--users 10 100 1000] [--repeat 3] [--at ISO_INSTANT]``.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from benchmarks.harness import (
    BenchUsers,
    analyze,
    arguments,
    check_arguments,
    environment,
    insert_rows,
    measure,
    mib,
    open_database,
    print_table,
    throwaway_users,
    verdict,
)
from core.clock import local_today, utcnow
from core.db import unit_of_work
from core.models import (
    Action,
    ActionOrigin,
    ActionState,
    ActionType,
    CapacityLevel,
    DailyPlan,
    DailyPlanAction,
    Lead,
    LeadStatus,
    LoggedCall,
    WeeklySummary,
)
from core.planner.batch import plan_users, week_start

PER_USER_BUDGET = 0.060  # seconds: 1,000 users in a minute
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
                              "week_start_date": week_start(today) - timedelta(days=7),
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
    lead = {"id": uuid.uuid4(), "user_id": user_id, "name": f"Lead {i}", "created_at": created, "status": status,
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


def user_settings(n: int, timezone: str, *, at: datetime) -> dict[str, Any]:
    """One user in ten set today's capacity by hand."""
    if n % 10 == 5:
        return {"capacity_override": CapacityLevel.HEAVY, "capacity_override_date": local_today(timezone, at=at)}
    return {}


def seed(bench: BenchUsers, *, count: int, at: datetime) -> list[tuple[uuid.UUID, str]]:
    """``count`` users with their books, committed and analysed; prints what it made."""
    started = time.perf_counter()
    with unit_of_work(service=True) as session:
        users = bench.add(session, count=count, created_at=at - timedelta(days=90),
                          settings=lambda n, timezone: user_settings(n, timezone, at=at))
        actions = seed_books(session, users, at=at)
    with unit_of_work(service=True) as session:
        analyze(session, ("users", "user_settings", "leads", "actions", "logged_calls", "weekly_summaries"))
    print(f"seeded {count} users, {count * LEADS_PER_USER} leads, {actions} actions "
          f"({time.perf_counter() - started:.1f} s)\n")
    return users


def produced(session: Session, plans: dict[uuid.UUID, DailyPlan]) -> tuple[int, int]:
    """How many plans and plan items a batch made (counted after the measurement)."""
    items = session.scalar(select(func.count()).select_from(DailyPlanAction).where(
        DailyPlanAction.daily_plan_id.in_([plan.id for plan in plans.values()])))
    return len(plans), items or 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = arguments("Measure the morning's batch planning for batches of N users.", users=(10, 100, 1000), repeat=3)
    args = parser.parse_args(argv)
    check_arguments(parser, args)
    at = args.at or utcnow()
    sizes = sorted(set(args.users))
    engine = open_database()
    print("\n".join(environment(engine)))
    print(f"planning at {at.isoformat()}; best of {args.repeat} runs, each rolled back\n")
    with throwaway_users() as bench:
        users = seed(bench, count=sizes[-1], at=at)
        ids = [user_id for user_id, _ in users]
        free_minutes = {user_id: FREE_MINUTES[n % len(FREE_MINUTES)] for n, user_id in enumerate(ids)}

        def batch_of(size: int) -> Callable[[Session], dict[uuid.UUID, DailyPlan]]:
            return lambda session: plan_users(session, user_ids=ids[:size], at=at, free_minutes=free_minutes)

        measure(engine, batch_of(min(sizes[0], 10)), repeat=1)  # warm-up: imports, compiled-statement caches
        rows, statements, failures, per_user = [], set(), [], 0.0
        for size in sizes:
            try:
                figures = measure(engine, batch_of(size), repeat=args.repeat, outcome=produced)
            except DBAPIError as exc:  # a finding to report, not a reason to lose the other sizes' figures
                failures.append(f"a batch of {size} users failed: {str(exc.orig or exc).splitlines()[0]}")
                rows.append((size, "failed", "", "", "", "", ""))
                continue
            plans, items = figures.result
            per_user = figures.seconds / size
            statements.add(figures.statements)
            rows.append((size, f"{figures.seconds:.3f} s", f"{per_user * 1000:.2f} ms", figures.statements,
                         mib(figures.peak_bytes), plans, items))
    print()
    print_table(("users", "wall time", "per user", "statements", "peak memory", "plans", "items"), rows)
    same, fast = len(statements) == 1 and not failures, per_user <= PER_USER_BUDGET and not failures
    print()
    for failure in failures:
        print(verdict(False, failure))
    print(verdict(same, f"statements per batch: {', '.join(map(str, sorted(statements)))} "
                        "(target: the same for every batch size)"))
    print(verdict(fast, f"{per_user * 1000:.2f} ms per user in the largest batch measured: 1,000 users in about "
                        f"{per_user * 1000:.1f} s (target: well under a minute, at most 60 ms per user)"))
    return 0 if same and fast else 1


if __name__ == "__main__":
    sys.exit(main())
