"""A fake Slack Web API on 127.0.0.1: a real HTTP server in a thread that records every call and
answers like Slack (bolt-python's own tests do the same). ``response_url`` posts land here too.

Like Slack, it refuses a message or a view that breaks the Block Kit rules (tests/slack/block_kit.py)
with ``invalid_blocks``, and keeps the refusal in ``refused`` so the ``fake`` fixture can fail the test.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bot.chaos.fake_slack import SlackApiHandler
from bot.chaos.loopback_tls import LoopbackCertificate, TlsHTTPServer
from tests.slack.block_kit import message_problems, view_problems

#: Methods whose ``blocks`` (or ``view``) Slack checks before it accepts them.
_MESSAGE_METHODS = ("chat.postMessage", "chat.update", "respond")
_VIEW_METHODS = ("views.publish", "views.open", "views.update")


@dataclass
class Call:
    method: str  # "chat.postMessage", or "respond" for a response_url post
    args: dict[str, Any]
    token: str | None


@dataclass
class Reply:
    body: dict[str, Any]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class SlackUser:
    id: str
    email: str | None
    name: str
    tz: str
    confirmed: bool = True
    is_bot: bool = False


class FakeSlack:
    """``certificate``: speak TLS with it, as Slack does (``https://`` addresses)."""

    def __init__(self, certificate: LoopbackCertificate | None = None) -> None:
        self.calls: list[Call] = []
        self.queued: dict[str, list[Reply]] = {}
        self.users: dict[str, SlackUser] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}
        self.refused: list[tuple[str, list[str]]] = []
        #: Called with each call's method and arguments as it arrives, before it is recorded and
        #: answered, outside the fake's lock: a test holds a call there to interleave two clients.
        self.gate: Callable[[str, dict[str, Any]], None] | None = None
        self.open_connections: list[socket.socket] = []  # the connections clients hold open now
        self.connections = 0  # connections clients opened, ever
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        self.server = (TlsHTTPServer(self._handler(), certificate) if certificate
                       else ThreadingHTTPServer(("127.0.0.1", 0), self._handler()))
        self.scheme = "https" if certificate else "http"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, name: str = "r1") -> str:
        return f"{self.base}/respond/{name}"

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.queued.clear()
            self.users.clear()
            self.history.clear()
            self.refused.clear()
            self.gate = None
            self._ts = itertools.count(1)

    def queue(self, method: str, body: dict[str, Any], *, status: int = 200, headers: dict[str, str] | None = None
              ) -> None:
        """The next call to ``method`` gets this answer instead of the usual one."""
        self.queued.setdefault(method, []).append(Reply(body, status, headers or {}))

    def add_user(self, user_id: str, *, email: str | None, name: str = "Ann Lee", tz: str = "Europe/Paris",
                 confirmed: bool = True) -> SlackUser:
        user = SlackUser(user_id, email, name, tz, confirmed)
        self.users[user_id] = user
        return user

    def hang_up(self) -> None:
        """Close every connection a client holds open, as Slack does to one left idle."""
        with self._lock:
            for connection in self.open_connections:
                connection.shutdown(socket.SHUT_RDWR)

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    # -- answering -------------------------------------------------------------------------

    def answer(self, method: str, args: dict[str, Any]) -> Reply:
        if self.queued.get(method):
            return self.queued[method].pop(0)
        problems = self._block_kit_problems(method, args)
        if problems:
            self.refused.append((method, problems))
            return Reply({"ok": False, "error": "invalid_blocks", "errors": problems},
                         status=400 if method == "respond" else 200)
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        return Reply(handler(args) if handler else {"ok": True})

    @staticmethod
    def _block_kit_problems(method: str, args: dict[str, Any]) -> list[str]:
        def parsed(value: Any) -> Any:
            return json.loads(value) if isinstance(value, str) else value

        if method in _MESSAGE_METHODS and args.get("blocks") is not None:
            return message_problems(parsed(args["blocks"]))
        if method in _VIEW_METHODS:
            return view_problems(parsed(args.get("view")))
        return []

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://acme.slack.com/", "team": "Acme", "user": "nbm", "team_id": "T1",
                "user_id": "UBOT", "bot_id": "B1"}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(args.get("user", ""))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        profile = {"real_name": user.name, "display_name": user.name.split()[0]}
        if user.email:
            profile["email"] = user.email
        return {"ok": True, "user": {"id": user.id, "name": user.name.lower(), "real_name": user.name, "tz": user.tz,
                                     "is_bot": user.is_bot, "is_email_confirmed": user.confirmed,
                                     "profile": profile}}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channel": {"id": "D" + str(args.get("users", "X"))}}

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        message = {"ts": f"1700000000.{next(self._ts):06d}", "text": args.get("text")}
        if args.get("metadata"):
            message["metadata"] = args["metadata"]
        self.history.setdefault(str(args.get("channel")), []).insert(0, message)
        return {"ok": True, "channel": args.get("channel"), "ts": message["ts"], "message": message}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Newest first, as Slack answers; metadata only with include_all_metadata."""
        messages = self.history.get(str(args.get("channel")), [])[: int(args.get("limit") or 100)]
        if str(args.get("include_all_metadata")).lower() not in ("true", "1"):
            messages = [{k: v for k, v in m.items() if k != "metadata"} for m in messages]
        return {"ok": True, "messages": messages, "has_more": False}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}

    def _chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        """Slack's link to a message: its channel, and its ts without the dot."""
        channel, ts = str(args.get("channel")), str(args.get("message_ts"))
        return {"ok": True, "channel": channel,
                "permalink": f"https://acme.slack.com/archives/{channel}/p{ts.replace('.', '')}"}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "view": {"id": "VHOME"}}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "view": {"id": "VMODAL"}}

    def _oauth_v2_access(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("grant_type") == "refresh_token":
            n = next(self._ts)
            return {"ok": True, "token_type": "bot", "access_token": f"xoxb-rotated-{n}",
                    "refresh_token": f"xoxe-1-refresh-{n}", "expires_in": 43200}
        return {"ok": True, "app_id": "A1", "access_token": "xoxb-installed-secret", "token_type": "bot",
                "scope": "chat:write,commands,im:history,im:write,users:read,users:read.email", "bot_user_id": "UBOT",
                "team": {"id": "T1", "name": "Acme"}, "enterprise": None, "is_enterprise_install": False,
                "authed_user": {"id": "UINSTALLER"}, "refresh_token": "xoxe-1-first-refresh", "expires_in": 43200}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(SlackApiHandler):
            def setup(self) -> None:
                super().setup()
                with fake._lock:
                    fake.connections += 1
                    fake.open_connections.append(self.connection)

            def finish(self) -> None:
                with fake._lock:
                    fake.open_connections.remove(self.connection)
                super().finish()

            def reply(self, path: str, args: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
                method = "respond" if path.startswith("/respond/") else path.removeprefix("/api/")
                auth = self.headers.get("Authorization") or ""
                if fake.gate is not None:
                    fake.gate(method, args)
                with fake._lock:
                    fake.calls.append(Call(method, args, auth.removeprefix("Bearer ") or None))
                    answer = fake.answer(method, args)
                return answer.status, answer.body, answer.headers

        return Handler
