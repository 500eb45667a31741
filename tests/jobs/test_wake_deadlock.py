"""Two jobs waking the same rows at once both go through: the hourly housekeeping and a build of a
plan, or two builds of one user's plan.

Every build of a plan first wakes its users' snoozed rows (core.housekeeping.wake_due), and the
hourly housekeeping wakes everyone's with the same statements. They meet on one user's rows after
an outage: the clock's first tick enqueues the hour's housekeeping and the overdue mornings at once,
and workers run them side by side (or the user asks for today's plan meanwhile). An UPDATE locks
rows in the order its plan reads them, and plans differ: a statement expecting many rows (the
every-user one, a morning batch's) reads them with a bitmap scan, in storage order; one expecting a
row or two walks an index, here ``idx_actions_snooze_until``, in snooze-date order. Ann's two
follow-ups (snoozed until Tuesday and Wednesday, stored in the other order) were then locked in
opposite orders, each job held one and waited for the other's, and PostgreSQL aborted one: a morning
failed, or the hour did. Builds now lock in the order of ids; the hour passes over a row someone
holds (it waits for none), and the build beside it wakes that row. The test pins those two plans
(the planner settings of each job's own transaction): on a table this small PostgreSQL would pick
either plan for both.

The interleaving is made certain, without sleeping: a third connection holds the follow-up the
first job's statement reaches first; the hour passes over it, a build waits for it; the second job
then takes what it can and waits too; the third connection lets go.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from email import policy
from email.parser import BytesParser
from functools import partial
from pathlib import Path

import pytest
import time_machine
from rq import Queue
from sqlalchemy import Connection, Engine, delete, event, text
from sqlalchemy.orm import Session

from core import db
from core.db import unit_of_work
from core.jobs import tasks
from core.models import ActionState, ActionType, User
from core.planner.view import plan_view_building_if_missing
from tests.factories import make_action, make_lead, make_user
from tests.jobs.conftest import run_worker

#: 07:30 on Wed 25 Nov in London: Ann's morning, the first tick after an outage since Monday.
MORNING = datetime(2026, 11, 25, 7, 30, tzinfo=UTC)
TUESDAY, WEDNESDAY = date(2026, 11, 24), date(2026, 11, 25)
#: The plan each job's statements get (see above), by the name of the job's thread.
PLANS = {"first": ("enable_indexscan",), "second": ("enable_bitmapscan", "enable_seqscan")}
TITLES = ("Follow up with Bea Stone", "Follow up with Carl Diaz")
#: How long the test waits for a job to reach the lock it is expected to wait on, at most.
PATIENCE_SECONDS = 20.0


@pytest.fixture()
def ann(outbox: Path) -> Iterator[uuid.UUID]:
    """Ann, committed, with two follow-ups still snoozed (no housekeeping has run since Monday):
    Bea's until Wednesday, stored first; Carl's until Tuesday, stored second."""
    with time_machine.travel(datetime(2026, 11, 16, 9, tzinfo=UTC), tick=False), \
            unit_of_work(service=True) as session:
        user = make_user(session, name="Ann Lee", email=f"ann-{uuid.uuid4().hex[:8]}@example.com")
        for name, until in (("Bea Stone", WEDNESDAY), ("Carl Diaz", TUESDAY)):
            make_action(session, user, make_lead(session, user, name=name), action_type=ActionType.FOLLOW_UP,
                        state=ActionState.SNOOZED, snooze_until=until, due_date=date(2026, 11, 20),
                        description=f"Follow up with {name}")
            session.flush()
        user_id = user.id
    yield user_id
    with unit_of_work(service=True) as session:
        session.execute(delete(User).where(User.id == user_id))


#: A way to build Ann's plan: what runs beside the hour (in a thread of its own), and what Ann is
#: then shown (in the test's thread, given what the first returned): the titles of her plan.
Builder = tuple[Callable[[uuid.UUID], object], Callable[[object, Queue, Path], list[str]]]


def _prepare_morning(user_id: uuid.UUID) -> object:
    return tasks.prepare("plan", MORNING.isoformat(), [(str(user_id), "email", WEDNESDAY.isoformat())])


def _morning_email(_: object, queue: Queue, outbox: Path) -> list[str]:
    """The deliveries the batch job queued, worked: the titles Ann's morning email lists."""
    run_worker(queue)
    (email,) = [BytesParser(policy=policy.default).parsebytes(p.read_bytes()) for p in outbox.glob("*.eml")]
    body = email.get_body(preferencelist=("plain",))
    assert body is not None
    return [title for title in TITLES if title in body.get_content()]


def _today_on_demand(user_id: uuid.UUID) -> object:
    """Ann's plan built on demand, as `/nbm today` and `nbm plan` build it: the titles it shows."""
    with unit_of_work(user_id=user_id) as session:
        view = plan_view_building_if_missing(session, user=session.get_one(User, user_id))
        return [item.title for item in view.items]


def _as_shown(titles: object, queue: Queue, outbox: Path) -> list[str]:
    assert isinstance(titles, list)
    return titles


def _the_hour(_: uuid.UUID) -> object:
    return tasks.housekeeping(MORNING.isoformat())


#: What runs first, reading the follow-ups in storage order, and the build that runs beside it.
PAIRS: dict[str, tuple[Callable[[uuid.UUID], object], Builder]] = {
    "the hour and the morning batch": (_the_hour, (_prepare_morning, _morning_email)),
    "the hour and nbm today": (_the_hour, (_today_on_demand, _as_shown)),
    "the morning batch and nbm today": (_prepare_morning, (_today_on_demand, _as_shown)),
}


@pytest.mark.parametrize("pair", PAIRS.values(), ids=PAIRS.keys())
def test_two_jobs_waking_the_same_rows_both_succeed(
    pair: tuple[Callable[[uuid.UUID], object], Builder],
    ann: uuid.UUID, queue: Queue, outbox: Path, engine: Engine,
) -> None:
    run_first, (build, shown) = pair
    results: dict[str, object] = {}
    job = partial(started, results=results)
    event.listen(db.get_engine(), "begin", _pinned_plans)
    holder, watcher = Session(bind=engine), engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        db.set_context(holder, service=True)
        holder_pid = holder.execute(text("SELECT pg_backend_pid()")).scalar_one()
        # The follow-up the first job's statement reaches first (it reads them in storage order).
        holder.execute(text("SELECT id FROM actions WHERE user_id = :u AND state = 'SNOOZED' "
                            "ORDER BY ctid LIMIT 1 FOR NO KEY UPDATE"), {"u": ann})
        with time_machine.travel(MORNING, tick=False):
            first = job("first", lambda: run_first(ann))
            first_waits = waiting_on(watcher, first.is_alive, on={holder_pid})
            # The hour waits for no row (it passed over the one held); a build waits for it.
            assert len(first_waits) == (run_first is not _the_hour), first_waits
            second = job("second", lambda: build(ann))
            waiting_on(watcher, second.is_alive, on={holder_pid} | first_waits)
            holder.rollback()
            first.join(timeout=PATIENCE_SECONDS)
            second.join(timeout=PATIENCE_SECONDS)
    finally:
        holder.close()
        watcher.close()
        event.remove(db.get_engine(), "begin", _pinned_plans)

    assert not isinstance(results["first"], Exception), results["first"]
    assert not isinstance(results["second"], Exception), results["second"]
    assert sorted(shown(results["second"], queue, outbox)) == list(TITLES)


def _pinned_plans(connection: Connection) -> None:
    """Each job's transaction gets its plan (:data:`PLANS`), for itself only (``SET LOCAL``)."""
    for setting in PLANS.get(threading.current_thread().name, ()):
        connection.exec_driver_sql(f"SET LOCAL {setting} = off")


def started(name: str, run: Callable[[], object], *, results: dict[str, object]) -> threading.Thread:
    """``run`` in a thread named ``name``, started; what it returns or raises goes to ``results[name]``
    (for the test's assertions)."""
    def target() -> None:
        try:
            results[name] = run()
        except Exception as error:  # reported by the caller's assertions
            results[name] = error
    thread = threading.Thread(target=target, name=name)
    thread.start()
    return thread


def waiting_on(watcher: Connection, alive: Callable[[], bool], *, on: set[int]) -> set[int]:
    """The backends of this database, other than those of ``on``, that wait on one of ``on``, once
    there is one; none if the job ``alive`` tells of ends first (it did not need to wait)."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    while True:
        pids = set(watcher.scalars(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND NOT pid = ANY(:on) AND pg_blocking_pids(pid) && CAST(:on AS integer[])"), {"on": sorted(on)}))
        if pids or not alive():
            return pids
        assert time.monotonic() < deadline, "the job never reached the lock it was to wait on"
