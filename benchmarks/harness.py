"""What every benchmark shares: the app's database, throwaway users, and the meters.

* **The app's database.** The one the settings point at (``DATABASE_URL``, or the embedded
  PostgreSQL when it is unset), opened through :mod:`core.db` as the app opens it and migrated to
  head first, as ``nbm demo`` does. Figures depend on the role: an owner under FORCEd row-level
  security (production) pays for the policies, a superuser (the embedded server) does not; the
  header says which one was measured.
* **Throwaway users.** Benchmark users have emails ``bench-<run token>-<n>@bench.nextbestmove.invalid``,
  are created in the service context and committed (the code under test must meet real, indexed,
  analysed tables), and are deleted in a ``finally`` whatever happens, with everything that hangs
  off them (every foreign key to ``users`` cascades). Only a run killed outright leaves some
  behind; the domain makes them easy to find (the README gives the one ``DELETE``). Production
  (``NBM_ENV=production``) is refused outright.
* **Measured work is rolled back.** Each measured run has its own service-context transaction that
  is rolled back, so the same seeded users can be measured again and again: a committed plan would
  turn the next run into "nothing to do".
* **The meters.** Statements are counted by a ``before_cursor_execute`` listener on the engine (a
  multi-row insert that SQLAlchemy splits into pages counts once per page: each is a round trip).
  Wall time is the best of ``repeat`` runs (the least disturbed by the rest of the machine). Peak
  memory comes from one more run under :mod:`tracemalloc`, kept apart because tracing slows Python
  down several-fold; it counts Python allocations, not the driver's C buffers.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Self, TypeVar, overload

from sqlalchemy import Engine, event, insert, text
from sqlalchemy.orm import Session

from core import migrate
from core.config import get_settings
from core.db import get_engine, set_context, unit_of_work
from core.embedded import describe
from core.models import User, UserSettings

T = TypeVar("T")
R = TypeVar("R")

BENCH_DOMAIN = "bench.nextbestmove.invalid"

#: Users spread around the world, so "today" differs between users of one batch, as it does in life.
TIMEZONES = (
    "Pacific/Honolulu", "America/Los_Angeles", "America/Denver", "America/Chicago", "America/New_York",
    "America/Sao_Paulo", "Europe/London", "Europe/Paris", "Europe/Berlin", "Africa/Nairobi",
    "Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland",
)


@dataclass(frozen=True)
class Figures(Generic[T]):
    """One measured piece of work: best wall time, statements executed, peak Python memory."""

    seconds: float
    statements: int
    peak_bytes: int
    result: T


def open_database() -> Engine:
    """The app's engine, with the schema migrated to head (safe to run again: nothing to do when current).

    Refuses production: a benchmark writes (and removes) tens of thousands of rows and loads the
    server for minutes, which belongs on a staging or local database, never beside real users.
    """
    if get_settings().is_production:
        raise SystemExit("refusing to run with NBM_ENV=production: benchmarks write and delete tens of thousands "
                         "of rows; point DATABASE_URL at a staging or local database instead")
    engine = get_engine()
    with engine.connect() as connection:
        migrate.upgrade(connection)
        connection.commit()
    return engine


def environment(engine: Engine) -> list[str]:
    """Header lines that make figures comparable: database, role and its RLS, machine."""
    with engine.connect() as connection:
        version = connection.scalar(text("SHOW server_version"))
        role, bypass = connection.execute(
            text("SELECT current_user, rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
        ).one()
    rls = "bypasses row-level security" if bypass else "under row-level security, as in production"
    return [
        describe(get_settings())[0],
        f"PostgreSQL {version}, role {role} ({rls})",
        f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores",
    ]


@contextmanager
def rolled_back(engine: Engine) -> Iterator[Session]:
    """A service-context session whose transaction is always rolled back."""
    session = Session(bind=engine, expire_on_commit=False)
    try:
        session.begin()
        set_context(session, service=True)
        yield session
    finally:
        session.rollback()
        session.close()


class StatementCounter:
    """Counts the statements the engine sends while it is entered."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0

    def _seen(self, *_: Any) -> None:
        self.count += 1

    def __enter__(self) -> Self:
        self.count = 0
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


@overload
def measure(engine: Engine, work: Callable[[Session], T], *, repeat: int) -> Figures[T]: ...


@overload
def measure(engine: Engine, work: Callable[[Session], T], *, repeat: int,
            outcome: Callable[[Session, T], R]) -> Figures[R]: ...


def measure(
    engine: Engine,
    work: Callable[[Session], Any],
    *,
    repeat: int,
    outcome: Callable[[Session, Any], Any] | None = None,
) -> Figures[Any]:
    """Run ``work`` ``repeat`` times for time and statements, then once more for memory; all rolled back.

    ``outcome`` (unmeasured, in the same transaction) says what the work produced, for the report.
    The statement count must not vary between runs of the same work: a count that does is a
    finding in itself, so it is refused rather than averaged away.
    """
    times, counts, results = [], set(), []
    for _ in range(repeat):
        with rolled_back(engine) as session:
            with StatementCounter(engine) as counter:
                started = time.perf_counter()
                result = work(session)
                times.append(time.perf_counter() - started)
            counts.add(counter.count)
            results.append(outcome(session, result) if outcome else result)
    if len(counts) != 1:
        raise RuntimeError(f"the same work executed a different number of statements per run: {sorted(counts)}")
    with rolled_back(engine) as session:
        tracemalloc.start()
        try:
            work(session)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    return Figures(seconds=min(times), statements=counts.pop(), peak_bytes=peak, result=results[-1])


class BenchUsers:
    """This run's throwaway users: their emails, and their removal."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(4)
        self.created = 0

    def email(self, n: int) -> str:
        return f"bench-{self.token}-{n}@{BENCH_DOMAIN}"

    def add(
        self,
        session: Session,
        *,
        count: int,
        created_at: datetime,
        settings: Callable[[int, str], dict[str, Any]] = lambda n, timezone: {},
    ) -> list[tuple[uuid.UUID, str]]:
        """Insert ``count`` more users with their settings (``settings(n, timezone)`` overrides defaults).

        Returns ``(id, timezone)`` for each. Rows go in as bulk inserts, not through
        :func:`core.users.create_user`: seeding 10,000 users one by one would dwarf what is measured.
        """
        numbers = range(self.created, self.created + count)
        users: list[dict[str, Any]] = [
            {"id": uuid.uuid4(), "email": self.email(n), "name": f"Bench User {n}",
             "timezone": TIMEZONES[n % len(TIMEZONES)], "created_at": created_at}
            for n in numbers
        ]
        insert_rows(session, User, users)
        insert_rows(session, UserSettings, [
            {"user_id": user["id"], **settings(n, user["timezone"])} for n, user in zip(numbers, users, strict=True)
        ])
        self.created += count
        return [(user["id"], user["timezone"]) for user in users]

    def remove(self) -> int:
        """Delete every user of this run (and, by cascade, all their rows), then vacuum; how many went.

        The vacuum matters: a run deletes hundreds of thousands of rows at once, and the dead rows
        they leave (autovacuum takes minutes to come by) made the next benchmark's index scans ten
        times slower, a cost no live database has."""
        with unit_of_work(service=True) as session:
            removed = len(session.execute(
                text("DELETE FROM users WHERE email LIKE :pattern RETURNING id"),
                {"pattern": f"bench-{self.token}-%@{BENCH_DOMAIN}"},
            ).all())
        with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
        return removed


@contextmanager
def throwaway_users() -> Iterator[BenchUsers]:
    """This run's users, removed at the end whatever happens."""
    users = BenchUsers()
    try:
        yield users
    finally:
        if users.created:
            started = time.perf_counter()
            removed = users.remove()
            print(f"removed {removed} benchmark users ({time.perf_counter() - started:.1f} s)")


def insert_rows(session: Session, model: type, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk insert (SQLAlchemy pages it into multi-row INSERTs)."""
    if rows:
        session.execute(insert(model), list(rows))


def vacuum_analyze(tables: Sequence[str]) -> None:
    """After seeding, what autovacuum would have done by then in a live database: the planner's
    statistics refreshed, and the visibility map set, so that an index-only scan reads no row of a
    table whose pages have not changed since (the tick's probes of the deliveries' key)."""
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in tables:
            connection.execute(text(f"VACUUM ANALYZE {table}"))


def arguments(description: str, *, users: Sequence[int], repeat: int) -> argparse.ArgumentParser:
    """The options every benchmark takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--users", type=int, nargs="+", default=list(users), metavar="N",
                        help=f"sizes to measure (default: {' '.join(map(str, users))})")
    parser.add_argument("--repeat", type=int, default=repeat,
                        help=f"timed runs per size; the best is reported (default: {repeat})")
    parser.add_argument("--at", type=datetime.fromisoformat, default=None, metavar="ISO_INSTANT",
                        help="the instant to run at, with its UTC offset (default: see the README)")
    return parser


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if any(n < 1 for n in args.users) or args.repeat < 1:
        parser.error("--users and --repeat take whole numbers of 1 or more")
    if args.at is not None and args.at.tzinfo is None:
        parser.error("--at needs a UTC offset, e.g. 2026-11-23T12:00:00+00:00")


def mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain, right-aligned table."""
    cells = [list(map(str, headers))] + [list(map(str, row)) for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))


def verdict(met: bool, text_: str) -> str:
    return f"{'PASS' if met else 'MISS'}  {text_}"
