"""The rig of ``benchmarks.press``: a fake Slack Web API and the four servers.

* :class:`FakeSlack` answers every Web API call and ``response_url`` post ``ok`` on 127.0.0.1, over
  TLS as Slack does, and notes when each press's message was updated (the moment ours has applied
  it). The servers trust its certificate through ``SSL_CERT_FILE``: the system's store with it
  added, so that a client reading the store pays what it pays in production.
* :func:`serve` runs ``nbm web`` itself in a process of its own, its app being the real one or a
  bare Bolt app (the floor's, the raw press's or the one-trip press's), with a ``/bench/stats``
  route that reads the process's :class:`Meters` (counted in shared memory across its processes).

The load generator, in a second process, is :mod:`benchmarks.press_load`.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.chaos.loopback_tls import LoopbackCertificate, TlsHTTPServer
from core.config import get_settings
from core.embedded import database_url

SIGNING_SECRET = "bench-signing-secret"
ROOT = Path(__file__).resolve().parent.parent
#: The message_ts of press n is ``1700000000.<n>``: how the fake and the floor tell presses apart.
TS_PREFIX = "1700000000."

# -- the fake Slack Web API --------------------------------------------------------------------------


class FakeSlack:
    """Answers every Web API call and response_url post ``ok`` over TLS with ``certificate``; notes
    when each press's message was updated."""

    def __init__(self, certificate: LoopbackCertificate) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.connections = 0  # connections the servers opened to it
        self.updated: dict[str, float] = {}  # message ts -> monotonic time the update arrived
        self.homes: dict[str, int] = {}  # Slack user -> App Home publishes
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # each answer leaves at once, as Slack's do

            def setup(self) -> None:
                super().setup()
                with fake.lock:
                    fake.connections += 1

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                arrived = time.monotonic()
                if "json" in (self.headers.get("Content-Type") or ""):
                    args = json.loads(raw or "{}")
                else:
                    args = {key: values[0] for key, values in parse_qs(raw).items()}
                path = urlsplit(self.path).path
                method = "respond" if path.startswith("/respond/") else path.removeprefix("/api/")
                fake.note(method, args, arrived, path)
                body = json.dumps(fake.answer(method, args)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST

        self.server = TlsHTTPServer(Handler, certificate)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    def note(self, method: str, args: dict[str, Any], arrived: float, path: str) -> None:
        with self.lock:
            self.counts[method] = self.counts.get(method, 0) + 1
            if method == "chat.update" and str(args.get("ts", "")).startswith(TS_PREFIX):
                self.updated.setdefault(str(args["ts"]), arrived)
            elif method == "respond" and path.startswith(f"/respond/{TS_PREFIX}"):
                self.updated.setdefault(path.removeprefix("/respond/"), arrived)
            elif method == "views.publish":
                user = str(args.get("user_id"))
                self.homes[user] = self.homes.get(user, 0) + 1

    @staticmethod
    def answer(method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "team_id": "TFLOOR", "user_id": "UBOT", "bot_id": "B1", "url": "https://x/"}
        if method in ("chat.update", "chat.postMessage"):
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts") or "1.1"}
        return {"ok": True}

    def reset(self) -> None:
        with self.lock:
            self.counts.clear()
            self.updated.clear()
            self.homes.clear()

    def close(self) -> None:
        self.server.shutdown()


# -- the servers -------------------------------------------------------------------------------------


class Meters:
    """Statements, transactions and database connections, and when the floor applied each press,
    counted in the server's processes. ``nbm web`` may fork several (``WEB_CONCURRENCY``), so the
    meters live in shared memory made before it forks; each process counts in a slot of its own
    (:meth:`enter`), under a lock of its own (its request threads share the slot), and the
    snapshot, read by whichever process answers ``/bench/stats``, adds the slots up."""

    KINDS = ("statements", "transactions", "connections")
    SLOTS = 64

    def __init__(self, presses: int) -> None:
        import multiprocessing

        self.counts = multiprocessing.RawArray("q", len(self.KINDS) * self.SLOTS)
        self.applied_at = multiprocessing.RawArray("d", presses)  # press n -> monotonic time, 0 if not yet
        self.next_slot = multiprocessing.Value("i", 0)
        self.slot = 0
        self.lock = threading.Lock()

    def enter(self) -> None:
        """Take this process's slot: once in each server process, before it serves."""
        with self.next_slot.get_lock():
            self.slot, self.next_slot.value = self.next_slot.value, self.next_slot.value + 1
        self.lock = threading.Lock()

    def install(self) -> None:
        from sqlalchemy import Engine, event
        from sqlalchemy.pool import Pool

        event.listen(Engine, "before_cursor_execute", lambda *_: self.count(0))
        event.listen(Engine, "begin", lambda *_: self.count(1))
        event.listen(Pool, "connect", lambda *_: self.count(2))

    def count(self, kind: int) -> None:
        with self.lock:
            self.counts[self.slot * len(self.KINDS) + kind] += 1

    def applied(self, message_ts: str) -> None:
        self.applied_at[int(message_ts.removeprefix(TS_PREFIX))] = time.monotonic()

    def snapshot(self) -> dict[str, Any]:
        totals = {kind: sum(self.counts[slot * len(self.KINDS) + k] for slot in range(self.SLOTS))
                  for k, kind in enumerate(self.KINDS)}
        return {**totals, "applied": {f"{TS_PREFIX}{n:06d}": at for n, at in enumerate(self.applied_at) if at}}


def bare_app(meters: Meters, *, kind: str) -> Any:
    """A bare Bolt app (Bolt's defaults, one workspace) whose listener acks, then does the ``kind``
    of press: ``floor``, one UPDATE of the pressed action (the floor of any Bolt app); ``raw``, the
    work a press of ours cannot do without, with none of our code around it (:func:`raw_press`);
    ``one-trip``, that work with its statements in one round trip (:mod:`benchmarks.press_one_trip`)."""
    from flask import Flask, request
    from slack_bolt import App
    from slack_bolt.adapter.flask import SlackRequestHandler
    from sqlalchemy import create_engine, text

    from benchmarks.press_one_trip import one_trip_press
    from bot.slack.client import KeptAliveWebClient
    from core.config import normalize_database_url
    from core.outbound import client_context

    # The service flag for the connection's whole life: the UPDATE passes row-level security
    # without a second statement in its transaction.
    engine = create_engine(normalize_database_url(database_url(get_settings())),
                           connect_args={"options": "-c timezone=UTC -c app.service=on"})
    # Bolt asks auth.test who it is on the first request (the fake answers), then remembers. The
    # raw press calls Slack through it as ours does (kept-alive connections, the process's one TLS
    # context): the least a call to Slack costs.
    client = KeptAliveWebClient(token="xoxb-floor", base_url=get_settings().slack_api_url, ssl=client_context())
    bolt = App(signing_secret=SIGNING_SECRET, client=client, token_verification_enabled=False)
    update = text("UPDATE actions SET state = 'DONE', completed_at = now() WHERE id = :id")
    pressed = (raw_press(engine, update) if kind == "raw"
               else one_trip_press(engine, redraw_after_commit()) if kind == "one-trip" else None)

    @bolt.action(re.compile(".*"))
    def press(ack: Any, body: dict[str, Any]) -> None:
        ack()
        if pressed is not None:
            pressed(body, client)
            return
        with engine.begin() as connection:
            connection.execute(update, {"id": body["actions"][0]["value"]})
        meters.applied(body["container"]["message_ts"])

    flask = Flask(kind)
    handler = SlackRequestHandler(bolt)
    flask.add_url_rule("/slack/events", "events", lambda: handler.handle(request), methods=["POST"])
    return flask


def raw_press(engine: Any, update: Any) -> Any:
    """The round trips of a Done press of ours, each in plain SQL or one plain call: in one
    transaction, the context set, the Slack user's user found and the context narrowed to theirs,
    the action's lead locked, the action locked, the UPDATE, its event, and on the user's first
    completion of the day the streak (the very statement of :func:`core.streaks.refresh_streak`);
    after the commit, :func:`redraw_after_commit`. What a press doing what ours does costs with
    none of our code around it, when it makes the round trips ours makes (the one-trip press,
    :mod:`benchmarks.press_one_trip`, makes them one)."""
    import uuid
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from sqlalchemy import text

    from core.streaks import REFRESH_ONE

    context = text("SELECT set_config('app.service', 'on', true), set_config('app.now', :now, true)")
    who = text("SELECT u.id, u.timezone, u.last_action_date, set_config('app.user_id', u.id::text, true) "
               "|| set_config('app.service', '', true) FROM users u JOIN slack_user_links k ON k.user_id = u.id "
               "WHERE k.team_id = :team AND k.slack_user_id = :user")
    lead = text("SELECT l.* FROM leads l WHERE l.id = (SELECT a.person_id FROM actions a WHERE a.id = :id "
                "AND a.user_id = :user_id) AND l.user_id = :user_id FOR NO KEY UPDATE")
    action = text("SELECT a.* FROM actions a WHERE a.id = :id AND a.user_id = :user_id FOR UPDATE")
    event = text("INSERT INTO action_events (id, user_id, action_id, from_state, to_state, channel, created_at) "
                 "VALUES (:event_id, :user_id, :id, 'NEW', 'DONE', 'slack', now())")
    after_commit = redraw_after_commit()

    def press(body: dict[str, Any], client: Any) -> None:
        action_id = body["actions"][0]["value"]
        with engine.begin() as connection:
            connection.execute(context, {"now": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())})
            user_id, timezone, last_day, _ = connection.execute(
                who, {"team": body["team"]["id"], "user": body["user"]["id"]}).one()
            ids = {"id": action_id, "user_id": user_id}
            connection.execute(lead, ids).one_or_none()
            connection.execute(action, ids).one()
            connection.execute(update, ids)
            connection.execute(event, {**ids, "event_id": uuid.uuid4()})
            today = datetime.now(ZoneInfo(timezone)).date()
            if last_day != today:  # a day counts once (core.streaks.count_completion)
                connection.execute(REFRESH_ONE, {"user_id": user_id, "today": today}).one()
        after_commit(body, client, user_id)

    return press


def redraw_after_commit() -> Any:
    """What the raw press does once its change is committed, given the pressed body, the Slack
    client and the pressing user's id: the pressed message sent back to ``chat.update`` as it came
    (ours draws its row anew), and the redraw asked for in one Redis round trip (ours, when the
    window's job is waiting already)."""
    from rq.job import Job

    from bot.slack.redraws import KEEP_SECONDS, WINDOW_SECONDS, job_id, pressed_key
    from core.queue import get_queue

    redis = get_queue().connection

    def after_commit(body: dict[str, Any], client: Any, user_id: Any) -> None:
        container = body["container"]
        client.chat_update(channel=container["channel_id"], ts=container["message_ts"],
                           text=body["message"]["text"], blocks=body["message"]["blocks"])
        pipe = redis.pipeline(transaction=False)
        pipe.sadd(pressed_key(user_id), f"{container['channel_id']}|{container['message_ts']}|")
        pipe.expire(pressed_key(user_id), KEEP_SECONDS)
        pipe.hget(Job.key_for(job_id(user_id, int(time.time() // WINDOW_SECONDS))), "status")
        pipe.execute()

    return after_commit


def serve(kind: str, port: int, presses: int) -> int:
    """Run ``nbm web`` in this process, its app being ours or the floor's, plus ``/bench/stats``."""
    import bot.web
    from bot.cli import main as nbm

    meters = Meters(presses)
    meters.install()
    real_create_app = bot.web.create_app

    def create_app() -> Any:
        from flask import jsonify

        meters.enter()
        app = real_create_app() if kind == "ours" else bare_app(meters, kind=kind)
        app.add_url_rule("/bench/stats", "bench_stats", lambda: jsonify(meters.snapshot()))
        return app

    bot.web.create_app = create_app
    return int(nbm(["web", "--host", "127.0.0.1", "--port", str(port)], standalone_mode=False) or 0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    kind: str
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/bench/stats", timeout=30) as response:
            return dict(json.load(response))

    def pids(self) -> list[int]:
        """``nbm web`` and the processes it serves in, when it forks any (``WEB_CONCURRENCY``)."""
        pid = self.process.pid
        return [pid, *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]

    def cpu_seconds(self) -> float:
        """User + system time of :meth:`pids`, added up."""
        ticks = 0
        for pid in self.pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def peak_rss(self) -> int:
        """The peak resident sets (``VmHWM``) of :meth:`pids`, added up: the memory the server takes."""
        total = 0
        for pid in self.pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) * 1024
        return total


@contextmanager
def running(kind: str, env: dict[str, str], presses: int) -> Iterator[Server]:
    """``kind``'s server under ``nbm web``, ready for ``presses`` presses (the warm-up's included)."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "benchmarks.press", "_serve", kind, str(port), str(presses)],
                               env=env, cwd=ROOT)
    server = Server(kind, process, port)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                server.stats()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the {kind} server did not start (exit code {process.poll()})") from None
                time.sleep(0.2)
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
