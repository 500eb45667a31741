"""The rig of ``benchmarks.morning``: the SMTP sink its emails go to, its meters and checks, and the
figures of a run with their report and verdicts."""

from __future__ import annotations

import multiprocessing
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from redis import Redis
from rq import Worker
from sqlalchemy import Engine, event, text

from benchmarks.harness import mib, print_table, vacuum_analyze, verdict
from bot.chaos.loopback_tls import TlsHTTPServer, loopback_certificate
from core import config, outbound
from core.crypto import Secret
from core.db import unit_of_work
from core.models import CalendarConnection, CalendarProvider
from core.queue import QUEUE_NAMES, get_queue

# The SMTP sink ------------------------------------------------------------------------------------

class SmtpSink:
    """aiosmtpd on 127.0.0.1 in a process of its own, accepting every message; counts what it received."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")
        self.received: Synchronized = context.Value("q", 0)
        ready = context.Event()
        port = context.Value("i", 0)
        self._process = context.Process(target=self._serve, args=(self.received, port, ready), name="smtp-sink",
                                        daemon=True)
        self._process.start()
        if not ready.wait(30):
            raise SystemExit("the SMTP sink did not start")
        self.port = port.value

    @staticmethod
    def _serve(received: Synchronized, port: Any, ready: Any) -> None:
        from aiosmtpd.controller import Controller

        class Accept:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                with received.get_lock():
                    received.value += 1
                return "250 2.0.0 OK"

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port.value = probe.getsockname()[1]
        Controller(Accept(), hostname="127.0.0.1", port=port.value).start()
        ready.set()
        threading.Event().wait()

    def stop(self) -> None:
        self._process.kill()
        self._process.join(5)


def point_email_at(port: int) -> None:
    os.environ.update({"EMAIL_BACKEND": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
                       "SMTP_SECURITY": "none", "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING")})
    os.environ.pop("SMTP_USERNAME", None)
    config.get_settings.cache_clear()


# The users' calendars ------------------------------------------------------------------------------

class CalendarFeed:
    """Every user's private iCal address: a feed over TLS on 127.0.0.1 that answers each read after
    ``latency`` seconds, with two busy hours on today's date (UTC).

    The latency stands for what reading a calendar waits on the network from a server: Google's
    token refresh and free/busy query, or Microsoft's token refresh and calendar view, are two round
    trips of 100 to 300 ms each; an iCal address is one slower one. The processes forked from here
    trust the feed's certificate through ``SSL_CERT_FILE`` (set here, before any TLS context is made),
    the system's store with it added, so that reading the store costs what it costs in production;
    and they read it on 127.0.0.1 through ``ICAL_ALLOW_PRIVATE_NETWORK`` (set here too), the feed
    standing in for calendar servers on the internet.
    """

    def __init__(self, folder: Any, *, latency: float) -> None:
        from http.server import BaseHTTPRequestHandler
        from pathlib import Path

        certificate = loopback_certificate(Path(folder), now=datetime.now(UTC))
        os.environ["SSL_CERT_FILE"] = str(certificate.bundle(Path(folder) / "bundle.pem"))
        os.environ["ICAL_ALLOW_PRIVATE_NETWORK"] = "true"
        outbound.client_context.cache_clear()
        config.get_settings.cache_clear()
        self.latency = latency
        self.reads: Synchronized = multiprocessing.get_context("fork").Value("q", 0)
        feed = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # the answer leaves at once, not after the client's delayed ACK

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                time.sleep(feed.latency)  # the provider's time, not this machine's work
                with feed.reads.get_lock():
                    feed.reads.value += 1
                body = feed.calendar(datetime.now(UTC)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = TlsHTTPServer(Handler, certificate)
        threading.Thread(target=self._server.serve_forever, name="calendar-feed", daemon=True).start()
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}"

    @staticmethod
    def calendar(now: Any) -> str:
        day = now.strftime("%Y%m%d")
        events = [f"BEGIN:VEVENT\r\nUID:bench-{hour}@bench.invalid\r\nDTSTAMP:{day}T000000Z\r\n"
                  f"DTSTART:{day}T{hour:02d}0000Z\r\nDTEND:{day}T{hour + 1:02d}0000Z\r\nSUMMARY:Busy\r\nEND:VEVENT\r\n"
                  for hour in (10, 14)]
        return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n{''.join(events)}END:VCALENDAR\r\n"

    def connect(self, users: list[uuid.UUID]) -> None:
        """Each user's private iCal address on this feed, connected and healthy (as after a good read)."""
        with unit_of_work(service=True) as session:
            session.add_all(CalendarConnection(user_id=user_id, provider=CalendarProvider.ICS, calendar_id="127.0.0.1",
                                               refresh_token=Secret(f"{self.url}/cal/{user_id}.ics"),
                                               reads_events=True)
                            for user_id in users)
        vacuum_analyze(("calendar_connections", "users"))

    def stop(self) -> None:
        self._server.shutdown()


def sized_by_calendar(users: list[uuid.UUID], *, at: datetime) -> int:
    """How many of ``users`` have a plan for their day at ``at`` sized by their calendar's free minutes."""
    with unit_of_work(service=True) as session:
        return int(session.scalar(_SIZED, {"users": users, "at": at}) or 0)


_SIZED = text("""
    SELECT count(*) FROM daily_plans p JOIN users u ON u.id = p.user_id
    WHERE p.user_id = ANY(:users) AND p.date = (CAST(:at AS timestamptz) AT TIME ZONE u.timezone)::date
      AND p.free_minutes IS NOT NULL
""")


# Meters and checks --------------------------------------------------------------------------------

def count_statements_of_children(engine: Engine) -> Synchronized:
    """A counter of the statements every process forked from here sends (not this process's own)."""
    counter: Synchronized = multiprocessing.get_context("fork").Value("q", 0)
    parent = os.getpid()

    def seen(*_: Any) -> None:
        if os.getpid() != parent:
            with counter.get_lock():
                counter.value += 1

    event.listen(Engine, "before_cursor_execute", seen)

    def own_seen(*_: Any) -> None:
        if os.getpid() == parent:
            OWN_STATEMENTS[0] += 1

    event.listen(engine, "before_cursor_execute", own_seen)
    return counter


#: Statements this process sent (the tick's are counted here).
OWN_STATEMENTS = [0]


def own_statements(engine: Engine) -> int:
    return OWN_STATEMENTS[0]


def status_bytes(pid: int, field: str) -> int:
    """A memory figure of a process from /proc (``VmHWM``: its peak resident memory; ``VmRSS``: now), in
    bytes; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def refuse_a_busy_queue(redis: Redis) -> None:
    """Other workers or waiting jobs on this Redis would take part in (and skew) the measurement."""
    if Worker.count(connection=redis):
        raise SystemExit(f"{Worker.count(connection=redis)} RQ worker(s) already listen on this Redis: stop them, "
                         "or point REDIS_URL at a database of the benchmark's own")
    waiting = sum(get_queue(name).count for name in QUEUE_NAMES)
    if waiting:
        raise SystemExit(f"{waiting} job(s) wait in the queue on this Redis: point REDIS_URL at a database of the "
                         "benchmark's own")


def wait_for(condition: Callable[[], bool], *, what: str, limit: float) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what} after {limit:.0f} s")
        time.sleep(0.2)


# A run's figures, their report and verdicts ---------------------------------------------------------

TARGET_USERS, TARGET_SECONDS = 10_000, 120.0
FLOOR_SHARE = 0.5
FLAT_RATIO, FLAT_SLACK = 1.10, 16 * 2**20


@dataclass
class Run:
    seconds: float
    users: int
    sent: int
    statements: int
    peak_bytes: int
    #: The most any process's peak exceeded what it held once ready (module docstring: memory).
    grown_bytes: int
    tick_seconds: float = 0.0
    tick_statements: int = 0
    first_email: float | None = None
    plans_built: float | None = None
    #: Today's plans sized by the user's calendar (their free minutes read in time); None: no calendars.
    sized: int | None = None
    failed: str = ""

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


def report_size(size: int, ours: Run, floor: Run | None) -> None:
    def at(seconds: float | None) -> str:
        return "" if seconds is None else f"{seconds:.1f} s"

    rows: list[tuple[object, ...]] = [
        ("emails sent", ours.sent, floor.sent if floor else ""),
        ("wall time", f"{ours.seconds:.1f} s", f"{floor.seconds:.1f} s" if floor else ""),
        ("users/s", f"{ours.rate:.1f}", f"{floor.rate:.1f}" if floor else ""),
        ("statements per user", f"{ours.statements / max(ours.sent, 1):.1f}",
         f"{floor.statements / max(floor.sent, 1):.1f}" if floor else ""),
        ("peak memory per process", mib(ours.peak_bytes), mib(floor.peak_bytes) if floor else ""),
        ("grown while working", mib(ours.grown_bytes), mib(floor.grown_bytes) if floor else ""),
        ("tick", f"{ours.tick_seconds * 1000:.0f} ms, {ours.tick_statements} statement(s)", ""),
        ("first email", at(ours.first_email), ""),
        ("every plan built", at(ours.plans_built), ""),
    ]
    if ours.sized is not None:
        rows.append(("plans sized by the calendar", f"{ours.sized} of {ours.users}",
                     f"{floor.sized} of {floor.users}" if floor and floor.sized is not None else ""))
    print(f"\n{size} users due the same minute")
    print_table(("", "ours", "floor"), rows)
    if floor:
        print(f"ours / floor: {ours.rate / floor.rate if floor.rate else 0:.2f} of the floor's users/s")
    for problem in (ours.failed, floor.failed if floor else ""):
        if problem:
            print(f"problem: {problem}")
    print()


def verdicts(results: list[tuple[int, Run, Run | None]]) -> int:
    size, ours, floor = results[-1]
    ok = not any(run.failed for _, o, f in results for run in (o, f) if run is not None)
    projected = TARGET_USERS / ours.rate if ours.rate else float("inf")
    lines = [(ok, "every user of every size got their email" if ok else "some emails were not sent (see above)"),
             (projected <= TARGET_SECONDS,
              f"{ours.rate:.1f} users/s at {size} users: 10,000 users in about {projected:.0f} s "
              f"(target: within {TARGET_SECONDS:.0f} s)")]
    if floor is not None:
        share = ours.rate / floor.rate if floor.rate else 0.0
        lines.append((share >= FLOOR_SHARE, f"{share:.2f} of the floor's users/s at {size} users "
                                            f"(target: at least {FLOOR_SHARE})"))
    if ours.sized is not None:
        lines.append((ours.sized == ours.users,
                      f"{ours.sized} of {ours.users} plans sized by the user's calendar at {size} users (target: "
                      "all; a user whose calendar was not read within CALENDAR_BUDGET gets the default capacity)"))
    if len(results) > 1:
        small, large = results[0][1].grown_bytes, ours.grown_bytes
        flat = large <= max(small * FLAT_RATIO, small + FLAT_SLACK)
        lines.append((flat, f"worker memory grown while working {mib(small)} at {results[0][0]} users, {mib(large)} "
                            f"at {size} (target: flat, within {FLAT_RATIO - 1:.0%} or {mib(FLAT_SLACK)})"))
    else:
        lines.append((False, "memory flat in the number of users: not judged, measure two sizes (--users 1000 10000)"))
    for met, text_ in lines:
        print(verdict(met, text_))
    return 0 if all(met for met, _ in lines) else 1
