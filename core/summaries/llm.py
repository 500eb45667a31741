"""An insight generator backed by any OpenAI-compatible chat-completions endpoint.

It is optional (``INSIGHTS_LLM_URL``) and never load-bearing: any failure — no connection, a
timeout, an HTTP error, an answer that is not JSON, a missing or empty field — logs one warning and
returns the built-in generator's texts, so a weekly summary is always produced. The standard
library's ``urllib`` is enough for one POST, so no HTTP client dependency is added for it. The API
key is sent only in the ``Authorization`` header and never logged.

The model is given the figures as :class:`WeekFacts` computes them (``reply_rate`` included, None
when too few people were written to) and that class's docstring verbatim as their definitions, with the
built-in generator's wording rules: one definition of every figure, for the code and for the model.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import inspect
import json
import logging
import socket
import ssl
import threading
import urllib.request
from collections.abc import Callable
from typing import Any

from core.config import Settings
from core.outbound import client_context
from core.summaries.facts import WeekFacts
from core.summaries.insights import BuiltinInsights, InsightGenerator, Insights

log = logging.getLogger(__name__)

FIELDS = tuple(field.name for field in dataclasses.fields(Insights))

SYSTEM_PROMPT = (
    "You coach a solo consultant on their weekly follow-ups. From the JSON facts of their week, answer "
    "with one JSON object with exactly these string fields: "
    "insight_text (1-2 sentences, the most useful observation, with numbers), "
    "narrative_summary (2-3 sentences addressed to the user by first name), "
    "next_week_focus (one short imperative line), "
    "win_post (a short LinkedIn post about the week's wins, first person, no lead names), "
    "insight_post (a short LinkedIn post turning the insight into a lesson, first person). "
    "Use only the facts given; no placeholders; correct singular and plural. Every sentence must be true by the "
    "definitions below: state a reply percentage only from reply_rate, and only when it is not null; never divide "
    "replies by sent (a week's replies mostly answer earlier messages); call completed actions 'actions', not "
    "follow-ups (a Fast Win is an action); write 'Fast Win' exactly so; in the posts, the week is 'last week'; "
    "never call a week with calls_booked quiet; the narrative never repeats a sentence of the insight; say when to "
    "act next as 'your next work day', never as a named day (the user's work days are not given).\n\n"
    "The facts, as defined:\n" + inspect.cleandoc(WeekFacts.__doc__ or "")
)


class _BadAnswer(ValueError):
    """The endpoint answered, but not with the five texts."""


class OpenAICompatibleInsights:
    """POST ``{base_url}/chat/completions`` asking for a JSON object; fall back on any error."""

    def __init__(
        self, base_url: str, api_key: str | None, model: str, timeout: float, fallback: InsightGenerator
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self._api_key = api_key
        self.model = model
        self.timeout = timeout
        self.fallback = fallback

    def __repr__(self) -> str:
        return f"OpenAICompatibleInsights(url={self.url!r}, model={self.model!r})"

    def generate(self, facts: WeekFacts) -> Insights:
        try:
            return _parse(self._post(facts))
        except (OSError, ValueError, http.client.HTTPException) as error:
            # OSError covers URLError, HTTPError and timeouts; ValueError covers bad JSON and _BadAnswer.
            log.warning("insight endpoint %s failed (%s: %s); using the built-in insights",
                        self.url, type(error).__name__, error)
            return self.fallback.generate(facts)

    def _post(self, facts: WeekFacts) -> bytes:
        body = {
            "model": self.model,
            "response_format": {"type": "json_object"},
            "temperature": 0.4,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": json.dumps(_facts_json(facts))},
            ],
        }
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(self.url, data=json.dumps(body).encode(), headers=headers, method="POST")
        with _Deadline(self.timeout) as deadline, deadline.opener().open(request, timeout=self.timeout) as response:
            answer: bytes = response.read()
        return answer


class _Deadline:
    """``timeout`` seconds for the whole exchange, not for each read: urllib's timeout bounds one socket
    read, so a server sending a byte a second would keep a summary waiting for ever. When the time is
    up, the connection's socket is shut: the read under way ends, and the exchange fails with a
    ``TimeoutError`` (an ``OSError``, so the built-in generator is used)."""

    def __init__(self, timeout: float) -> None:
        self._timer = threading.Timer(timeout, self._expire)
        self._connections: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self.expired = False

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: object) -> None:
        self._timer.cancel()
        if self.expired:
            raise TimeoutError("no complete answer within the timeout") from error

    def opener(self) -> urllib.request.OpenerDirector:
        """An opener whose connections this deadline watches (with the process's TLS context: urllib
        would read the certificate store for each summary)."""
        return urllib.request.build_opener(_WatchedHTTP(self), _WatchedHTTPS(self, client_context()))

    def watched(self, connection_class: type[http.client.HTTPConnection]) -> Callable[..., http.client.HTTPConnection]:
        """``connection_class``, its connections shut when the time is up."""
        def connection(host: str, **options: Any) -> http.client.HTTPConnection:
            made = connection_class(host, **options)
            with self._lock:
                self._connections.append(made)
            return made
        return connection

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for connection in self._connections:
                if connection.sock is not None:
                    with contextlib.suppress(OSError):  # already closed, or mid-handshake
                        connection.sock.shutdown(socket.SHUT_RDWR)


class _WatchedHTTP(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self._deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._deadline.watched(http.client.HTTPConnection), req)


class _WatchedHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, deadline: _Deadline, context: ssl.SSLContext) -> None:
        super().__init__(context=context)
        self._deadline, self._tls = deadline, context

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._deadline.watched(http.client.HTTPSConnection), req, context=self._tls)


def _facts_json(facts: WeekFacts) -> dict[str, Any]:
    data = dataclasses.asdict(facts)
    data["week_start"] = facts.week_start.isoformat()
    data["wins"] = list(facts.wins)
    data["reply_rate"] = facts.reply_rate
    return data


def _parse(raw: bytes) -> Insights:
    """The five texts from a chat-completions answer whose message content is a JSON object."""
    try:
        content = json.loads(raw)["choices"][0]["message"]["content"]
        texts = json.loads(content)
    except (KeyError, IndexError, TypeError) as error:
        raise _BadAnswer(f"unexpected answer shape ({error!r})") from None
    if not isinstance(texts, dict):
        raise _BadAnswer("the message content is not a JSON object")
    missing = [name for name in FIELDS if not isinstance(texts.get(name), str) or not texts[name].strip()]
    if missing:
        raise _BadAnswer(f"missing or empty: {', '.join(missing)}")
    return Insights(**{name: texts[name].strip() for name in FIELDS})


def insight_generator(settings: Settings) -> InsightGenerator:
    """The configured generator: the LLM one when ``INSIGHTS_LLM_URL`` is set, else the built-in one."""
    builtin = BuiltinInsights()
    if not settings.insights_llm_url:
        return builtin
    return OpenAICompatibleInsights(
        settings.insights_llm_url, settings.insights_llm_api_key, settings.insights_llm_model,
        settings.insights_llm_timeout, fallback=builtin,
    )
