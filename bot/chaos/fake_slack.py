"""The Slack Web API of the run: a small fake on loopback that answers like Slack, and fails like it.

The product reaches it through ``SLACK_API_URL`` (single-workspace mode, ``SLACK_BOT_TOKEN``), from
the workers (plan and summary DMs) and from the web app (redraws after a press, ephemeral replies
to ``response_url``). It keeps each DM channel's history with message metadata, as Slack does,
because that is what the product reads back to avoid posting a delivery twice.

Faults, at the rates asked for, on every Web API method: 429 with ``Retry-After: 1`` and 5xx. And on
``chat.postMessage``, the nasty one: the message is posted and *then* the answer is a 500, as when
Slack's edge fails after the fact; only the product's check of the channel's history stands
between that and a second message. ``response_url`` posts (the product's replies to a press) are
never refused: they are how the run learns that a press was answered with an apology.

This is not ``tests/slack/fake_slack.py``: that one checks Block Kit and is driven by tests; this one
only has to be right about the few methods a morning and a press use, and to fail at random.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.chaos.options import FaultRates


def call_arguments(request: BaseHTTPRequestHandler) -> dict[str, Any]:
    """A Slack Web API call's arguments as Slack reads them: a GET's query, or a POST's JSON or form body."""
    if request.command == "GET":
        return {key: values[0] for key, values in parse_qs(urlsplit(request.path).query).items()}
    raw = request.rfile.read(int(request.headers.get("Content-Length") or 0)).decode()
    if "json" in (request.headers.get("Content-Type") or ""):
        return dict(json.loads(raw or "{}"))
    return {key: values[0] for key, values in parse_qs(raw).items()}


class SlackApiHandler(BaseHTTPRequestHandler):
    """A fake of Slack's Web API over HTTP (this run's, and the tests'): each call's arguments read as
    Slack reads them, answered by :meth:`reply` with JSON."""

    #: Connections stay open between calls, as Slack's do; each answer leaves at once (without this,
    #: a kept connection's answer waits out the client's delayed acknowledgement, 40 ms).
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def reply(self, path: str, args: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        """The status, JSON body and headers that answer a call to ``path``."""
        raise NotImplementedError

    def _serve(self) -> None:
        status, body, headers = self.reply(urlsplit(self.path).path, call_arguments(self))
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@dataclass(frozen=True)
class Posted:
    """A message as it sits in a DM channel."""

    channel: str
    ts: str
    delivery_id: str | None
    blocks: list[dict[str, Any]]
    at: float  # time.monotonic()


def _parsed(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


class FakeSlack:
    def __init__(self, *, rates: FaultRates, seed: int) -> None:
        self._rates = rates
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self.posted: list[Posted] = []
        self.history: dict[str, list[dict[str, Any]]] = {}
        #: Bodies posted to each ``response_url`` (named by the press that gave it).
        self.replies: dict[str, list[dict[str, Any]]] = {}
        self.faults: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        #: Cleared once the run calms down: from then on every call succeeds.
        self.faulty = threading.Event()
        self.faulty.set()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="chaos-fake-slack", daemon=True)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.base}/respond/{name}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def posted_snapshot(self) -> list[Posted]:
        with self._lock:
            return list(self.posted)

    def replies_to(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.replies.get(name, []))

    # -- answering ---------------------------------------------------------------------------

    def answer(self, method: str, args: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        """(HTTP status, JSON body, extra headers) for one call; called under the lock."""
        self.calls[method] += 1
        if method.startswith("respond/"):
            self.replies.setdefault(method.removeprefix("respond/"), []).append(args)
            return 200, {"ok": True}, {}
        draw = self._rng.random() if self.faulty.is_set() and method != "auth.test" else 1.0
        rates = self._rates
        if draw < rates.slack_429:
            self.faults["429"] += 1
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}
        if draw < rates.slack_429 + rates.slack_5xx:
            self.faults["5xx"] += 1
            return self._rng.choice((500, 502, 503)), {"ok": False, "error": "service_unavailable"}, {}
        body = self._ok(method, args)
        if method == "chat.postMessage" and draw < rates.slack_429 + rates.slack_5xx + rates.slack_5xx_after_post:
            self.faults["5xx after posting"] += 1
            return 500, {"ok": False, "error": "internal_error"}, {}
        return 200, body, {}

    def _ok(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "team_id": "TCHAOS", "user_id": "UBOT", "bot_id": "BCHAOS", "team": "Chaos"}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(args.get("users", ""))}}
        if method == "chat.postMessage":
            return self._post(args)
        if method == "conversations.history":
            messages = self.history.get(str(args.get("channel")), [])[: int(args.get("limit") or 100)]
            if str(args.get("include_all_metadata")).lower() not in ("true", "1"):
                messages = [{k: v for k, v in m.items() if k != "metadata"} for m in messages]
            return {"ok": True, "messages": messages, "has_more": False}
        if method == "chat.update":
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
        if method == "users.info":
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True}

    def _post(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel"))
        ts = f"{1_700_000_000 + next(self._ts)}.000100"
        metadata = _parsed(args.get("metadata")) or None
        message: dict[str, Any] = {"type": "message", "ts": ts, "text": args.get("text")}
        if metadata:
            message["metadata"] = metadata
        self.history.setdefault(channel, []).insert(0, message)
        delivery_id = ((metadata or {}).get("event_payload") or {}).get("delivery_id")
        self.posted.append(Posted(channel, ts, delivery_id, _parsed(args.get("blocks")) or [], time.monotonic()))
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(SlackApiHandler):
            def reply(self, path: str, args: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
                method = path.lstrip("/") if path.startswith("/respond/") else path.removeprefix("/api/")
                with fake._lock:
                    return fake.answer(method, args)

        return Handler
