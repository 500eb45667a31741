"""CSV import, :func:`core.leads_import.import_leads_csv`, for files of N rows, beside a floor.

Target: 100,000 CSV rows imported in under 30 seconds (issue 14: 12 ms a row, over 15 minutes, before),
in a number of statements that grows with the number of chunks staged, never per row, and in memory
that stays flat however long the file.

What is measured is the real path, as ``nbm leads import`` takes it: a file on disk, opened and
streamed, read, validated and written in the user's context (under row-level security, unless the
role bypasses it: the header says) in one transaction, which is then rolled back so that the next
run starts from the same book. Two files of N rows each: a LinkedIn connections export (one row in
ten with an email address instead of a profile URL) and a ``name,url,notes`` file. In each, one row
in a hundred is refused (no link; in the plain file a link without ``https://``), one in a hundred
repeats the link of the row before it, and one in a hundred has the link of a lead the user already
has (seeded and committed before the runs: one lead per hundred rows of the largest file).

The floor is the least the database can be asked to do for the same result, in the same user
context: the names, links and notes of the leads the import adds (already parsed, validated and
deduplicated before the clock starts) written in one go (``COPY`` when the role bypasses row-level
security, otherwise one ``INSERT ... SELECT FROM unnest(arrays)``: PostgreSQL refuses ``COPY FROM``
into a table under row-level security), then their actions and the actions' events, each one
``INSERT ... SELECT`` from the rows just written. Like the import, the floor refreshes the statistics
of ``user_id`` after the leads and after the actions (see :data:`core.leads_import.ANALYZE_FROM`).
The ratio is ours / floor.

Run: ``nbm bench import [--rows 1000 10000 100000] [--repeat 2]`` (or ``python -m benchmarks.leads_import``).
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from benchmarks.harness import (
    BenchUsers,
    Figures,
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
from core.db import set_context, unit_of_work
from core.leads_import import ANALYZE_FROM, import_leads_csv
from core.models import Channel, Lead, User

T = TypeVar("T")

TARGET_ROWS = 100_000
TARGET_SECONDS = 30.0
LINKEDIN_HEADER = ("First Name", "Last Name", "URL", "Email Address", "Company", "Position", "Connected On")
FORMATS = ("linkedin", "plain")


@dataclass(frozen=True)
class Outcome:
    added: int
    duplicates: int
    refused: int


def link(n: int) -> str:
    return f"https://www.linkedin.com/in/bench-person-{n}"


def kind_of(n: int) -> str:
    """What row ``n`` is: refused, a repeat of the row before, a lead the user has, or new."""
    return {7: "refused", 13: "repeat", 29: "existing"}.get(n % 100, "new")


def write_file(path: Path, fmt: str, rows: int) -> None:
    """``rows`` data rows of format ``fmt`` (see the module docstring)."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(LINKEDIN_HEADER if fmt == "linkedin" else ("name", "url", "notes"))
        for n in range(rows):
            kind = kind_of(n)
            url = link(n - 1 if kind == "repeat" else n)
            if fmt == "linkedin":
                email = ""
                if kind == "refused":
                    url = ""
                elif n % 10 == 3 and kind == "new":
                    url, email = "", f"person.{n}@example.com"
                writer.writerow((f"First{n}", f"Last{n}", url, email, f"Company {n % 997}", "Head of Growth",
                                 "12 Nov 2025"))
            else:
                if kind == "refused":
                    url = url.removeprefix("https://")
                writer.writerow((f"Person {n}", url, f"Met at event {n % 50}; follow up about the Q{n % 4 + 1} plan"))


def floor_rows(fmt: str, rows: int) -> list[tuple[str, str, str]]:
    """Name, link and notes of each lead the import adds for the file, as it stores them (not timed)."""
    leads = []
    for n in range(rows):
        if kind_of(n) != "new":
            continue
        if fmt == "linkedin":
            url = f"mailto:person.{n}@example.com" if n % 10 == 3 else link(n)
            leads.append((f"First{n} Last{n}", url, f"Head of Growth at Company {n % 997}"))
        else:
            leads.append((f"Person {n}", link(n), f"Met at event {n % 50}; follow up about the Q{n % 4 + 1} plan"))
    return leads


FLOOR_LEADS = text("""
    INSERT INTO leads (user_id, name, url, notes, status, created_at, updated_at)
    SELECT :user_id, name, url, notes, 'ACTIVE', :now, :now
    FROM unnest(CAST(:names AS text[]), CAST(:urls AS text[]), CAST(:notes AS text[])) AS r(name, url, notes)
""")
FLOOR_LEADS_COPY = "COPY leads (user_id, name, url, notes, status, created_at, updated_at) FROM STDIN"
#: The leads just written are the user's leads stamped ``now`` (the seeded ones are older).
FLOOR_ACTIONS = text("""
    INSERT INTO actions (user_id, person_id, action_type, state, due_date, origin, auto_created, created_at,
                         updated_at)
    SELECT :user_id, id, 'OUTREACH', 'NEW', :today, 'LEAD_ADDED', true, :now, :now
    FROM leads WHERE user_id = :user_id AND created_at = :now
""")
FLOOR_EVENTS = text("""
    INSERT INTO action_events (user_id, action_id, from_state, to_state, channel, created_at)
    SELECT :user_id, id, NULL, 'NEW', 'cli', :now FROM actions WHERE user_id = :user_id AND created_at = :now
""")


def floor_work(user: User, leads: list[tuple[str, str, str]], *, copy: bool) -> Callable[[Session], int]:
    """Write the leads (COPY, or one INSERT from arrays), then their actions and events from them."""

    def work(session: Session) -> int:
        set_context(session, user_id=user.id)
        now = utcnow()
        params = {"user_id": user.id, "now": now, "today": local_today(user.timezone, at=now)}
        if copy:
            driver = session.connection().connection.driver_connection
            assert driver is not None
            with driver.cursor() as cursor, cursor.copy(FLOOR_LEADS_COPY) as stream:
                for name, url, notes in leads:
                    stream.write_row((user.id, name, url, notes, "ACTIVE", now, now))
        else:
            columns = dict(zip(("names", "urls", "notes"), map(list, zip(*leads, strict=True)), strict=True))
            session.execute(FLOOR_LEADS, {**params, **columns})
        analyze = len(leads) >= ANALYZE_FROM  # as the import does, and for its reason
        if analyze:
            session.execute(text("ANALYZE leads (user_id)"))
        session.execute(FLOOR_ACTIONS, params)
        if analyze:
            session.execute(text("ANALYZE actions (user_id)"))
        session.execute(FLOOR_EVENTS, params)
        return len(leads)

    return work


def measure_with_copies(engine: Engine, work: Callable[[Session], T], *, repeat: int) -> Figures[T]:
    """:func:`benchmarks.harness.measure`, counting the COPY statements too.

    COPY goes to psycopg directly, round SQLAlchemy's statement events: each one is counted here, by
    wrapping psycopg's ``Cursor.copy`` while the work runs (``repeat`` timed runs and one for memory).
    """
    copies = 0
    original = psycopg.Cursor.copy

    def counted(cursor: psycopg.Cursor[Any], statement: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal copies
        copies += 1
        return original(cursor, statement, *args, **kwargs)

    setattr(psycopg.Cursor, "copy", counted)  # noqa: B010 - the one way to wrap a method of psycopg's class
    try:
        figures: Figures[T] = measure(engine, work, repeat=repeat)
    finally:
        setattr(psycopg.Cursor, "copy", original)  # noqa: B010
    if copies % (repeat + 1):
        raise RuntimeError(f"the same work ran a different number of COPY statements per run: {copies} in all")
    return replace(figures, statements=figures.statements + copies // (repeat + 1))


def bypasses_rls(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(connection.scalar(text(
            "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")))


def seed(bench: BenchUsers, *, rows: int) -> User:
    """The importing user (Europe/Paris) and the leads they already have: one per hundred rows."""
    started = time.perf_counter()
    with unit_of_work(service=True) as session:
        ((user_id, _),) = bench.add(session, count=1, created_at=utcnow())
        insert_rows(session, Lead, [
            {"id": uuid.uuid4(), "user_id": user_id, "name": f"Known {n}", "url": link(n)}
            for n in range(rows) if kind_of(n) == "existing"
        ])
    vacuum_analyze(("users", "leads", "actions", "action_events"))
    with unit_of_work(service=True) as session:
        user = session.get(User, user_id)
        assert user is not None
    print(f"seeded 1 user with {rows // 100:,} leads ({time.perf_counter() - started:.1f} s)\n")
    return user


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure the CSV import of N rows beside its floor.")
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000, 10_000, TARGET_ROWS], metavar="N",
                        help="file sizes to measure, in data rows (default: 1000 10000 100000)")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs per size; the best is reported (default: 2)")
    args = parser.parse_args(argv)
    if any(n < 1 for n in args.rows) or args.repeat < 1:
        parser.error("--rows and --repeat take whole numbers of 1 or more")
    sizes = sorted(set(args.rows))
    engine = open_database()
    copy = bypasses_rls(engine)
    print("\n".join(environment(engine)))
    print(f"best of {args.repeat} runs, each rolled back; floor: "
          f"leads by {'COPY' if copy else 'INSERT ... SELECT FROM unnest(arrays)'}, "
          "then actions and action_events by INSERT ... SELECT\n")
    table, verdicts, met = [], [], True
    with throwaway_users() as bench, tempfile.TemporaryDirectory(prefix="nbm-bench-import-") as folder:
        user = seed(bench, rows=sizes[-1])
        for fmt in FORMATS:
            seconds_at: dict[int, float] = {}
            for size in sizes:
                path = Path(folder) / f"{fmt}-{size}.csv"
                write_file(path, fmt, size)

                def ours(session: Session, path: Path = path) -> Outcome:
                    set_context(session, user_id=user.id)
                    with path.open("rb") as source:
                        report = import_leads_csv(session, user=user, data=source, channel=Channel.CLI)
                    return Outcome(report.added, report.duplicates, report.refused)

                mine: Figures[Outcome] = measure_with_copies(engine, ours, repeat=args.repeat)
                floor: Figures[int] = measure_with_copies(engine, floor_work(user, floor_rows(fmt, size), copy=copy),
                                                          repeat=args.repeat)
                if floor.result != mine.result.added:
                    raise RuntimeError(f"the floor wrote {floor.result} leads, the import {mine.result.added}")
                seconds_at[size] = mine.seconds
                table.append((fmt, f"{size:,}", f"{path.stat().st_size / 2**20:.1f} MiB",
                              f"{mine.seconds:.2f} s", f"{size / mine.seconds:,.0f}", mine.statements,
                              mib(mine.peak_bytes), f"{floor.seconds:.2f} s", f"{size / floor.seconds:,.0f}",
                              floor.statements, mib(floor.peak_bytes), f"{mine.seconds / floor.seconds:.1f}x",
                              f"{mine.result.added:,}/{mine.result.duplicates:,}/{mine.result.refused:,}"))
                print(f"  {fmt} {size:,} rows: {mine.seconds:.2f} s (floor {floor.seconds:.2f} s)", flush=True)
            largest = sizes[-1]
            estimate = seconds_at[largest] * TARGET_ROWS / largest
            ok = estimate < TARGET_SECONDS
            met = met and ok
            how = (f"{TARGET_ROWS:,} rows in {estimate:.1f} s" if largest == TARGET_ROWS else
                   f"{largest:,} rows in {seconds_at[largest]:.2f} s, so {TARGET_ROWS:,} in about {estimate:.1f} s")
            verdicts.append(verdict(ok, f"{fmt}: {how} (target: {TARGET_ROWS:,} CSV rows in under "
                                        f"{TARGET_SECONDS:.0f} s)"))
    print()
    print_table(("format", "rows", "file", "ours", "rows/s", "statements", "peak", "floor", "floor rows/s",
                 "floor stmts", "floor peak", "ratio", "added/dup/refused"), table)
    print()
    for line in verdicts:
        print(line)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
