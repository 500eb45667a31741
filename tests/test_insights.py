"""Insight generators: the built-in texts for weeks of different shapes, and the LLM one's fallback."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.chaos.loopback_tls import TlsHTTPServer, loopback_certificate
from core.config import load_settings
from core.summaries.facts import WeekFacts, WeekNumbers
from core.summaries.insights import BuiltinInsights, Insights, join_words
from core.summaries.llm import OpenAICompatibleInsights, insight_generator
from core.text import plural
from tests.factories import machine_now

WEEK = date(2026, 11, 16)
builtin = BuiltinInsights()


def facts(**fields: object) -> WeekFacts:
    base: dict[str, object] = dict(user_name="Ann Lee", week_start=WEEK, days_active=0, actions_completed=0,
                                   replies=0, calls_booked=0)
    return WeekFacts(**{**base, **fields})  # type: ignore[arg-type]


EMPTY_FIRST = facts()
EMPTY = facts(previous=WeekNumbers(3, 6, 1, 0), cold_leads=4)
FIRST = facts(days_active=3, actions_completed=5, best_day="Tuesday", sent=4, written_to=4)
GREAT = facts(days_active=5, actions_completed=14, replies=3, calls_booked=1, previous=WeekNumbers(3, 7, 1, 0),
              best_day="Tuesday", sent=10, written_to=8, answered=3, streak=9,
              wins=("Bob Smith", "Cy Young", "Di Ross"))
DROP = facts(days_active=2, actions_completed=3, previous=WeekNumbers(5, 12, 2, 1), best_day="Wednesday",
             sent=3, written_to=3, cold_leads=2)
ONLY_REPLIES = facts(days_active=1, actions_completed=1, replies=1, previous=WeekNumbers(0, 0, 0, 0),
                     wins=("Bob Smith",))
CALLS = facts(days_active=4, actions_completed=6, calls_booked=2, previous=WeekNumbers(4, 6, 0, 0),
              best_day="Thursday", streak=4, wins=("Bob Smith", "Cy Young"))
SHAPES = {"empty first": EMPTY_FIRST, "empty": EMPTY, "first": FIRST, "great": GREAT, "drop": DROP,
          "only replies": ONLY_REPLIES, "calls": CALLS}


#: A template brace, a Python None that leaked into the text ("None of …" is English), a double space.
PLACEHOLDER = re.compile(r"[{}]|\bNone\b(?! of)|  ")


def sentences(text: str) -> int:
    return sum(text.count(mark) for mark in ".!?")


def test_count_and_join_read_naturally() -> None:
    assert [plural(1, "reply"), plural(3, "reply"), plural(0, "action"), plural(1, "day")] == [
        "1 reply", "3 replies", "0 actions", "1 day"]
    assert [join_words(["a"]), join_words(["a", "b"]), join_words(["a", "b", "c"])] == ["a", "a and b", "a, b and c"]


def test_every_shape_gets_its_own_texts_with_no_placeholders() -> None:
    results = {name: builtin.generate(week) for name, week in SHAPES.items()}
    insights = [result.insight_text for result in results.values()]
    assert len(set(insights)) == len(insights)
    # Two empty weeks may tell the same story once their insights have said how they differ.
    told = [(result.insight_text, result.narrative_summary) for result in results.values()]
    assert len(set(told)) == len(told)
    for name, result in results.items():
        for text in vars(result).values():
            assert text and not PLACEHOLDER.search(text), (name, text)
        assert 2 <= sentences(result.narrative_summary) <= 3, (name, result.narrative_summary)
        assert result.narrative_summary.startswith("Ann, "), name


def test_the_builtin_generator_is_deterministic() -> None:
    assert builtin.generate(GREAT) == builtin.generate(GREAT)


def test_an_empty_first_week_starts_the_habit_without_comparing() -> None:
    result = builtin.generate(EMPTY_FIRST)
    assert "first week" in result.insight_text
    assert "last week" not in result.insight_text and "up from" not in result.insight_text
    assert "start the habit" in result.insight_text
    assert "no actions completed" in result.narrative_summary
    assert result.next_week_focus == "Show up daily: one action every work day"


def test_an_empty_week_after_an_active_one_names_what_was_lost_and_the_cold_leads() -> None:
    result = builtin.generate(EMPTY)
    assert "the week before, you completed 6 actions" in result.insight_text
    assert "4 leads have gone three weeks without a touch" in result.insight_text
    assert "4 contacts" in result.insight_post


def test_a_first_active_week_counts_without_a_comparison() -> None:
    result = builtin.generate(FIRST)
    assert result.insight_text.startswith("Your first week: 5 actions completed.")
    assert "None of the 4 people you wrote to has replied yet." in result.insight_text
    assert "I still kept at it: 4 messages sent." in result.win_post
    assert "Tuesday" in result.insight_post


def test_a_great_week_compares_names_the_wins_and_the_streak() -> None:
    result = builtin.generate(GREAT)
    assert "14 actions, up from 7 the week before (+100%)" in result.insight_text
    assert "3 replies came in; 3 of the 8 people you wrote to have replied so far (38%)." in result.insight_text
    assert "with 10 messages sent, 3 replies and 1 call booked" in result.narrative_summary
    assert "Bob Smith, Cy Young and Di Ross" in result.narrative_summary
    assert "You reached a 9-day streak." in result.narrative_summary
    assert result.next_week_focus == "Reply within a day to everyone who answered"
    assert "Last week: 3 replies and 1 call booked." in result.win_post
    assert "Last week I wrote to 8 leads, and 3 of them have replied so far: 38%." in result.insight_post


def test_the_posts_never_name_leads() -> None:
    for week in (GREAT, CALLS, ONLY_REPLIES):
        result = builtin.generate(week)
        for name in week.wins:
            assert name not in result.win_post and name not in result.insight_post


def test_a_drop_is_named_and_sets_the_pace_to_win_back() -> None:
    result = builtin.generate(DROP)
    assert "3 actions, down from 12 the week before (-75%)" in result.insight_text
    assert result.next_week_focus == "Get back to 12 actions a week"
    assert "2 leads have gone three weeks without a touch" in result.narrative_summary


def test_a_single_reply_is_singular_and_never_compared_with_nothing() -> None:
    result = builtin.generate(ONLY_REPLIES)
    assert "1 reply came in" in result.insight_text
    assert "after a week with none" in result.insight_text
    assert "active on 1 day and completed 1 action, with 1 reply." in result.narrative_summary
    assert "One conversation moved forward." in result.win_post
    assert "Last week: 1 reply." in result.win_post
    for text in vars(result).values():
        assert "0 replies" not in text and "1 replies" not in text and "1 actions" not in text


def test_a_week_with_calls_focuses_on_following_them_up() -> None:
    result = builtin.generate(CALLS)
    assert "6 actions, the same as the week before" in result.insight_text
    assert "Thursday was your strongest day" in result.insight_text
    assert "with 2 calls booked" in result.narrative_summary
    assert result.next_week_focus == "Send a follow-up within 24 hours of every call"
    assert "Last week: 2 calls booked." in result.win_post


def test_many_cold_leads_and_a_quiet_pipeline_ask_to_warm_them_up() -> None:
    week = facts(days_active=4, actions_completed=5, previous=WeekNumbers(4, 5, 0, 0), cold_leads=7)
    assert builtin.generate(week).next_week_focus == "Warm up 3 leads that have gone quiet"


def test_few_active_days_ask_to_show_up_daily() -> None:
    week = facts(days_active=1, actions_completed=4, previous=WeekNumbers(1, 4, 0, 0))
    assert builtin.generate(week).next_week_focus == "Show up daily: one action every work day"


def test_a_long_streak_is_protected() -> None:
    week = facts(days_active=5, actions_completed=8, previous=WeekNumbers(5, 8, 0, 0), streak=12)
    result = builtin.generate(week)
    assert result.next_week_focus == "Protect your streak: start each day with the Fast Win"
    assert result.insight_text.endswith("You reached a 12-day streak.")
    assert "streak" not in result.narrative_summary  # said once, by the insight just above it


# --- the OpenAI-compatible generator, against a real local HTTP server ---

GOOD = Insights(insight_text="LLM insight.", narrative_summary="LLM story. Two.", next_week_focus="LLM focus",
                win_post="LLM win post", insight_post="LLM insight post")


@dataclass
class FakeEndpoint:
    """What the fake server answers, and what it received."""

    status: int = 200
    body: bytes = b""
    release: threading.Event = field(default_factory=threading.Event)
    hold: bool = False
    requests: list[dict[str, object]] = field(default_factory=list)

    def answer_with(self, content: object) -> None:
        text = content if isinstance(content, str) else json.dumps(content)
        self.body = json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}).encode()


def _handler(fake: FakeEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            fake.requests.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                  "body": json.loads(self.rfile.read(length))})
            if fake.hold:
                fake.release.wait(timeout=5)
            self.send_response(fake.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(fake.body)))
            self.end_headers()
            self.wfile.write(fake.body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def _serving(fake: FakeEndpoint, server: ThreadingHTTPServer, scheme: str) -> Iterator[tuple[FakeEndpoint, str]]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield fake, f"{scheme}://127.0.0.1:{server.server_address[1]}/v1/"
    fake.release.set()
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture()
def endpoint() -> Iterator[tuple[FakeEndpoint, str]]:
    fake = FakeEndpoint()
    yield from _serving(fake, ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake)), "http")


@pytest.fixture()
def tls_endpoint(tmp_path: Path, trust_certificate: Callable[[Path], None]) -> Iterator[tuple[FakeEndpoint, str]]:
    """The endpoint over TLS, as OpenAI's is, with a certificate this process trusts."""
    certificate = loopback_certificate(tmp_path, now=machine_now())
    trust_certificate(certificate.cert_file)
    fake = FakeEndpoint()
    yield from _serving(fake, TlsHTTPServer(_handler(fake), certificate), "https")


def llm(url: str, timeout: float = 5) -> OpenAICompatibleInsights:
    return OpenAICompatibleInsights(url, "sk-test-key", "test-model", timeout, fallback=BuiltinInsights())


def test_a_good_answer_is_used(endpoint: tuple[FakeEndpoint, str]) -> None:
    fake, url = endpoint
    fake.answer_with(vars(GOOD))
    assert llm(url).generate(GREAT) == GOOD
    (request,) = fake.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer sk-test-key"
    body = request["body"]
    assert isinstance(body, dict)
    assert body["model"] == "test-model" and body["response_format"] == {"type": "json_object"}
    facts_sent = json.loads(body["messages"][1]["content"])
    assert facts_sent["actions_completed"] == 14 and facts_sent["week_start"] == "2026-11-16"


def test_the_model_gets_the_figures_and_their_definitions(endpoint: tuple[FakeEndpoint, str]) -> None:
    fake, url = endpoint
    fake.answer_with(vars(GOOD))
    # The demo's week: two replies to the week before's messages, this week's two messages unanswered.
    llm(url).generate(facts(days_active=4, actions_completed=2, replies=2, sent=2, written_to=2, answered=0))
    body = fake.requests[0]["body"]
    assert isinstance(body, dict)
    system, user = (message["content"] for message in body["messages"])
    sent = json.loads(user)
    figures = ("replies", "sent", "written_to", "answered", "reply_rate")
    assert tuple(sent[name] for name in figures) == (2, 2, 2, 0, None)
    assert "state a reply percentage only from reply_rate, and only when it is not null" in system
    assert "``answered``: how many of those ``written_to`` have replied by the time the summary is built" in system
    # The figures the built-in generator words are the model's too, with the same wording rules.
    assert "``streak``: the user's streak as of the week's last day, its Sunday" in system
    assert "or a call they logged themselves" in system
    assert "never call a week with calls_booked quiet; the narrative never repeats a sentence of the insight" in system
    assert "'your next work day', never as a named day" in system


@pytest.mark.parametrize("problem", ["http 500", "not json", "content not json", "missing field", "empty field"])
def test_a_bad_answer_falls_back_to_the_builtin_texts(
    endpoint: tuple[FakeEndpoint, str], problem: str, caplog: pytest.LogCaptureFixture
) -> None:
    fake, url = endpoint
    fake.answer_with(vars(GOOD))
    if problem == "http 500":
        fake.status = 500
    elif problem == "not json":
        fake.body = b"<html>Bad gateway</html>"
    elif problem == "content not json":
        fake.answer_with("Here are your insights: great week!")
    elif problem == "missing field":
        fake.answer_with({k: v for k, v in vars(GOOD).items() if k != "win_post"})
    else:
        fake.answer_with({**vars(GOOD), "insight_post": "  "})
    with caplog.at_level(logging.WARNING, logger="core.summaries.llm"):
        assert llm(url).generate(GREAT) == builtin.generate(GREAT)
    assert "using the built-in insights" in caplog.text
    assert "sk-test-key" not in caplog.text


def test_a_timeout_falls_back_to_the_builtin_texts(endpoint: tuple[FakeEndpoint, str]) -> None:
    fake, url = endpoint
    fake.answer_with(vars(GOOD))
    fake.hold = True  # the server holds the answer until the test is over
    assert llm(url, timeout=0.05).generate(DROP) == builtin.generate(DROP)


def test_no_server_falls_back_to_the_builtin_texts() -> None:
    assert llm("http://127.0.0.1:9/v1").generate(CALLS) == builtin.generate(CALLS)


def test_the_configured_generator() -> None:
    assert isinstance(insight_generator(load_settings({})), BuiltinInsights)
    configured = insight_generator(load_settings({"INSIGHTS_LLM_URL": "http://127.0.0.1:9/v1",
                                                  "INSIGHTS_LLM_API_KEY": "sk-secret", "INSIGHTS_LLM_TIMEOUT": "3"}))
    assert isinstance(configured, OpenAICompatibleInsights)
    assert configured.url == "http://127.0.0.1:9/v1/chat/completions" and configured.timeout == 3
    assert "sk-secret" not in repr(configured)


def test_summaries_over_tls_never_read_the_certificate_store_again(tls_endpoint: tuple[FakeEndpoint, str],
                                                                   contexts_made: list[str]) -> None:
    """One context for the process (core/outbound.py): urllib would read the store for each call."""
    fake, url = tls_endpoint
    fake.answer_with(vars(GOOD))
    assert [llm(url).generate(GREAT) for _ in range(3)] == [GOOD] * 3
    assert len(fake.requests) == 3
    assert contexts_made == ["made"], "the process's one context, made once for the three"
