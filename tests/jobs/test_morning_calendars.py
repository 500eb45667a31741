"""The morning reads a batch's calendars before planning it (``core.jobs.tasks.prepare`` →
``core.calendars.service.free_minutes_for_users``): many at once, and without holding a database
connection while a provider answers."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import time_machine
from rq import Queue
from sqlalchemy import event, select, text

from core.calendars.morning import UNITS_AT_ONCE
from core.calendars.service import connect_ics
from core.db import get_engine, unit_of_work
from core.jobs import tasks
from core.models import CalendarConnectionStatus, CalendarProvider, CapacityLevel, DailyPlan, User
from tests.calendars.feeds import DATA
from tests.factories import deleted_afterwards, make_action, make_calendar_connection, make_lead, make_user
from tests.jobs.conftest import run_worker

WEDNESDAY = datetime(2026, 10, 14, 6, 0, tzinfo=UTC)  # 07:00 in London, before the working day
#: More calendars than the morning used to read at once (8).
AT_ONCE = 20


class Gate:
    """A calendar server whose answers wait until ``size`` reads are in flight at once, then all get
    tests/calendars/data/day.ics; a read still alone after ``patience`` seconds gets a 503. When the
    gate opens, it notes how many database sessions were holding a transaction open meanwhile."""

    def __init__(self, size: int, *, patience: float = 5.0) -> None:
        self.holding: int | None = None
        self.barrier = threading.Barrier(size, action=self._note, timeout=patience)
        self.open = False
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if not gate.open:
                    try:
                        gate.barrier.wait()
                    except threading.BrokenBarrierError:
                        self.send_error(503)
                        return
                body = (DATA / "day.ics").read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/day.ics"

    def _note(self) -> None:
        with get_engine().connect() as connection:
            self.holding = connection.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'idle in transaction'"))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def gate() -> Iterator[Gate]:
    gate = Gate(AT_ONCE)
    yield gate
    gate.close()


@pytest.fixture()
def londoners(engine: object, outbox: Path, gate: Gate) -> Iterator[list[uuid.UUID]]:
    """``AT_ONCE`` London users committed for real, each with an iCal address on the gate (connected
    while it was open)."""
    gate.open = True
    with ExitStack() as stack, time_machine.travel(WEDNESDAY, tick=True):
        ids = []
        for _ in range(AT_ONCE):
            with unit_of_work(service=True) as session:
                user = make_user(session, timezone="Europe/London", email=f"cal-{uuid.uuid4().hex[:8]}@example.com")
                make_lead(session, user)
                ids.append(stack.enter_context(deleted_afterwards(user.id)))
            with unit_of_work(user_id=user.id) as session:
                connect_ics(session, user=session.get_one(User, user.id), url=gate.url)
        gate.open = False
        yield ids


class Checkouts:
    """The most database connections the process had checked out of its pool at once."""

    def __init__(self) -> None:
        self.now = self.most = 0
        self._lock = threading.Lock()

    def out(self, *_: object) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def back(self, *_: object) -> None:
        with self._lock:
            self.now -= 1


@pytest.fixture()
def checkouts() -> Iterator[Checkouts]:
    pool, seen = get_engine().pool, Checkouts()
    event.listen(pool, "checkout", seen.out)
    event.listen(pool, "checkin", seen.back)
    yield seen
    event.remove(pool, "checkout", seen.out)
    event.remove(pool, "checkin", seen.back)


def test_a_batch_of_slow_calendars_is_read_at_once_holding_no_database_transaction(
    londoners: list[uuid.UUID], gate: Gate, queue: Queue, checkouts: Checkouts
) -> None:
    targets = [(str(user_id), "email", "2026-10-14") for user_id in londoners]
    with time_machine.travel(WEDNESDAY, tick=True):
        tasks.prepare("plan", WEDNESDAY.isoformat(), targets)

    with unit_of_work(service=True) as session:
        plans = session.execute(select(DailyPlan.free_minutes, DailyPlan.capacity).where(
            DailyPlan.user_id.in_(londoners), DailyPlan.date == date(2026, 10, 14))).all()
    # Every plan is sized by its calendar (day.ics leaves 285 minutes free), none by default.
    assert [(minutes, capacity.value) for minutes, capacity in plans] == [(285, "standard")] * AT_ONCE
    assert gate.holding == 0  # while all twenty waited on the calendar server
    # Twenty threads starting at once took four connections between them, and the job's own one:
    # four workers of fifty threads each stay well inside PostgreSQL's 100.
    assert checkouts.most <= UNITS_AT_ONCE + 1


def test_an_expired_calendar_leaves_the_morning_at_default_and_the_digest_claims_no_free_time(
    committed_user: User, server: str, queue: Queue, outbox: Path
) -> None:
    """The iCal address reads fine (day.ics leaves 285 minutes free), but the Google calendar beside
    it expired: the morning does not size the plan by the iCal address alone, and the digest does not
    say how much time is free."""
    with time_machine.travel(WEDNESDAY, tick=False):
        with unit_of_work(user_id=committed_user.id) as session:
            user = session.get_one(User, committed_user.id)
            make_action(session, user, make_lead(session, user, name="Ann Lee"), due_date=date(2026, 10, 14))
            connect_ics(session, user=user, url=f"{server}/cal/day.ics")
            make_calendar_connection(session, user, provider=CalendarProvider.GOOGLE,
                                     status=CalendarConnectionStatus.EXPIRED)
        tasks.prepare("plan", WEDNESDAY.isoformat(), [(str(committed_user.id), "email", "2026-10-14")])
        run_worker(queue)

    with unit_of_work(service=True) as session:
        plan = session.scalars(select(DailyPlan).where(DailyPlan.user_id == committed_user.id)).one()
        assert (plan.free_minutes, plan.capacity) == (None, CapacityLevel.DEFAULT)
    (digest,) = [BytesParser(policy=policy.default).parsebytes(path.read_bytes()) for path in outbox.glob("*.eml")]
    text = digest.get_body(("plain",)).get_content()
    assert "Your next best moves for Wed 14 Oct: 1 action" in text and "Ann Lee" in text
    assert "free in your calendar" not in text


def test_a_digest_sent_a_day_late_names_the_day_its_free_time_is_of(
    committed_user: User, server: str, queue: Queue, outbox: Path
) -> None:
    """Wednesday's plan, sized by the calendar that morning, sent on Thursday before 07:30 (no worker ran
    in between): labelled with its own day, it still said "(4 h 45 min free today in your calendar)"."""
    with time_machine.travel(WEDNESDAY, tick=False):
        with unit_of_work(user_id=committed_user.id) as session:
            user = session.get_one(User, committed_user.id)
            make_action(session, user, make_lead(session, user, name="Ann Lee"), due_date=date(2026, 10, 14))
            connect_ics(session, user=user, url=f"{server}/cal/day.ics")
        tasks.prepare("plan", WEDNESDAY.isoformat(), [(str(committed_user.id), "email", "2026-10-14")])
    with time_machine.travel(WEDNESDAY + timedelta(days=1), tick=False):  # Thursday, 07:00 in London
        run_worker(queue)

    (digest,) = [BytesParser(policy=policy.default).parsebytes(path.read_bytes()) for path in outbox.glob("*.eml")]
    assert digest["Subject"].startswith("Your next best moves for Wed 14 Oct")
    for part in ("plain", "html"):
        said = " ".join(digest.get_body((part,)).get_content().split())
        assert "(4 h 45 min free in your calendar on Wed 14 Oct)" in said
        assert "free today" not in said
