"""Fuzzing (hypothesis) through the real routes: the Flask app (Slack, email pages, Stripe's webhook)
and the ``nbm`` command, each request signed as the real service signs it.

What every fuzz test asserts: never a 500 (nor a traceback, nor the Slack apology for a bug), and an
input that was refused changed nothing in the database (:func:`snapshot` before and after).

**Profiles.** ``max_examples`` is 50 per test by default, ``NBM_FUZZ_EXAMPLES=N`` runs N instead
(by hand, to look harder). Under CI (the ``CI`` variable set) the examples are derandomized, so a
CI run is reproducible, and no example database is kept; elsewhere failing examples are kept in
``NBM_DATA_DIR/hypothesis`` (``.nbm/``, ignored by git) and replayed first on the next run.

**Database.** Every test runs in the suite's one rolled-back transaction; hypothesis runs many
examples inside one test, so each example runs inside a savepoint of its own (:func:`isolated`),
rolled back when the example ends: examples never see each other's rows.

**No network.** Nothing a fuzzed input names may be reached: connections go to loopback only (the
fake Slack, the fake Stripe, PostgreSQL, Redis), and an iCal address is "read" by a stand-in that
answers 404, except ``https://calendar.test/…``, which serves an empty calendar.
"""

from __future__ import annotations

import copy
import ipaddress
import logging
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import time_machine
from hypothesis import HealthCheck, Phase, event, settings
from hypothesis.control import currently_in_test_context
from hypothesis.database import DirectoryBasedExampleDatabase
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from bot.slack.listeners import common
from core.actions.service import change_state
from core.calendars import feed
from core.db import unit_of_work
from core.errors import NbmError
from core.models import ActionState, Channel, SlackUserLink, User
from tests.billing import conftest as billing_fixtures
from tests.factories import make_user
from tests.slack import conftest as slack_fixtures
from tests.slack.conftest import NOW

# The Slack and billing suites' fixtures, shared here (a conftest below the root cannot list plugins).
fake_server, fake, slack_env, oauth_env, web, installed, ann = (
    slack_fixtures.fake_server, slack_fixtures.fake, slack_fixtures.slack_env, slack_fixtures.oauth_env,
    slack_fixtures.web, slack_fixtures.installed, slack_fixtures.ann)
stripe_server, stripe, billing = billing_fixtures.stripe_server, billing_fixtures.stripe, billing_fixtures.billing

#: Examples per test unless ``NBM_FUZZ_EXAMPLES`` says otherwise.
DEFAULT_EXAMPLES = 50


def _examples() -> int:
    raw = os.environ.get("NBM_FUZZ_EXAMPLES", "")
    return int(raw) if raw.strip().isdigit() and int(raw) > 0 else DEFAULT_EXAMPLES


_COMMON: dict[str, Any] = {
    "max_examples": _examples(),
    "deadline": None,  # a request takes what the shared machine gives it; time is bounded by pytest-timeout
    # Fixtures are per test, examples share them on purpose: each example runs in its own savepoint.
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                              HealthCheck.data_too_large, HealthCheck.large_base_example],
    "print_blob": True,
    # Explaining a failure replays it dozens of times; the shrunk example says enough.
    "phases": [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
}
settings.register_profile("nbm", **_COMMON, database=DirectoryBasedExampleDatabase(
    str(Path(os.environ["NBM_DATA_DIR"]) / "hypothesis")))
settings.register_profile("nbm-ci", **_COMMON, derandomize=True, database=None)
settings.load_profile("nbm-ci" if os.environ.get("CI") else "nbm")

#: The suite's per-test timeout (pyproject.toml) holds for the default number of examples; more examples
#: get more time, a second each.
SECONDS_PER_EXAMPLE = 1.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    seconds = max(120, int(_examples() * SECONDS_PER_EXAMPLE))
    for item in items:
        if here in Path(str(item.path)).parents and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(seconds))


# The clock ---------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Coordinates]:
    """Wednesday 25 November 2026, noon UTC, for every example (signatures carry timestamps)."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


# The database ------------------------------------------------------------------------------

#: The tables a person's input may change (every user's rows: a refused input changes nobody's).
#: Logs (calendar_sync_logs, slack_events) are left out: recording that something was tried is not a change.
TABLES = (
    "users", "user_settings", "leads", "actions", "action_events", "logged_calls", "daily_plans",
    "daily_plan_actions", "weekly_summaries", "content_prompts", "calendar_connections", "calendar_event_calls",
    "oauth_flow_states", "deliveries", "slack_user_links", "slack_plan_messages", "slack_installations",
    "billing_customers", "billing_subscriptions", "billing_events",
)


#: One statement: each table's rows, as text in a fixed order, hashed by the server.
_SNAPSHOT = text("SELECT " + ", ".join(
    f"(SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM {table} t) AS {table}"
    for table in TABLES))


def snapshot() -> dict[str, str]:
    """A digest of every row of :data:`TABLES`, table by table, as the service sees them."""
    with unit_of_work(service=True) as session:
        return dict(session.execute(_SNAPSHOT).one()._mapping)


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The tables whose rows differ between two snapshots."""
    return [table for table in TABLES if before[table] != after[table]]


@contextmanager
def isolated(connection: Connection) -> Iterator[None]:
    """One example in a savepoint of the test's transaction, rolled back at its end."""
    savepoint = connection.begin_nested()
    try:
        yield
    finally:
        if savepoint.is_active:
            savepoint.rollback()


@pytest.fixture()
def in_savepoint(connection: Connection) -> Callable[[], Any]:
    """``with in_savepoint():`` runs one hypothesis example in a savepoint of its own (see :func:`isolated`)."""
    return lambda: isolated(connection)


# The network -------------------------------------------------------------------------------

_LOCAL_NAMES = {"localhost", "127.0.0.1", "::1"}


def _is_loopback(host: Any) -> bool:
    if not isinstance(host, str):
        return False
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


ICS_OK = "calendar.test"
EMPTY_CALENDAR = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//nbm fuzz//EN\r\nEND:VCALENDAR\r\n"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only loopback is reachable; iCal addresses are answered here (module docstring)."""
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _is_loopback(host.decode() if isinstance(host, bytes) else host):
            raise socket.gaierror(socket.EAI_NONAME, f"fuzz tests reach no network ({host!r})")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            raise OSError(f"fuzz tests reach no network ({address[0]!r})")
        real_connect(self, address)

    def get(url: str, **_: Any) -> tuple[int, str | None, bytes]:
        return (200, None, EMPTY_CALENDAR) if feed.display_name(url) == ICS_OK else (404, None, b"")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(feed, "_get", get)


# Slack -------------------------------------------------------------------------------------

class SlackWatch:
    """What the Slack app did with one request, beyond its HTTP answer: the errors its listeners'
    guard answered (a typed core error is a refusal; anything else is a bug, answered with the
    apology), the records it logged as errors, and the payloads the fake Slack refused."""

    def __init__(self, fake_slack: Any, caplog: pytest.LogCaptureFixture) -> None:
        self.fake, self.caplog = fake_slack, caplog
        self.answered: list[BaseException] = []

    def reset(self) -> None:
        self.fake.reset()
        self.caplog.clear()
        self.answered.clear()

    @property
    def refusals(self) -> list[BaseException]:
        return [error for error in self.answered if isinstance(error, NbmError)]

    def bugs(self) -> list[str]:
        """Everything that says a bug: an error record, a payload Slack would refuse."""
        logged = [f"{record.name}: {record.getMessage()}" + (f" ({record.exc_info[1]!r})" if record.exc_info else "")
                  for record in self.caplog.get_records("call") if record.levelno >= logging.ERROR]
        return logged + [f"Slack refused {method}: {problems}" for method, problems in self.fake.refused]

    def refused(self, response: Any) -> bool:
        """Whether the request was refused: an error status, a form answered with errors, a typed error."""
        answer = response.get_json(silent=True) if response.is_json else None
        in_form = isinstance(answer, dict) and answer.get("response_action") == "errors"
        return response.status_code >= 400 or in_form or bool(self.refusals)


@pytest.fixture()
def slack_watch(fake: Any, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> SlackWatch:
    watch = SlackWatch(fake, caplog)
    answer_error = common.answer_error

    def recording(request: Any, error: Exception, *, where: str) -> None:
        watch.answered.append(error)
        answer_error(request, error, where=where)

    monkeypatch.setattr(common, "answer_error", recording)
    return watch


def check_slack(watch: SlackWatch, response: Any, before: dict[str, str], *, shaped: bool = True) -> None:
    """The properties of every fuzzed Slack request (module docstring).

    ``shaped``: the request is shaped as Slack shapes it (right types, any values), so nothing in it
    may be answered as a bug. A request of any other shape, which only a forger holding the signing
    secret could send, may get the apology; it must still change nothing and never be a 500."""
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    bugs = watch.bugs()
    if shaped:
        assert bugs == []
    else:
        assert [bug for bug in bugs if bug.startswith("Slack refused")] == []
    refused = watch.refused(response) or (not shaped and bool(watch.answered))
    if currently_in_test_context():  # the statistics of a fuzz test; not of a plain one
        event("refused" if refused else "accepted")
    if refused:
        assert changed(before, snapshot()) == [], f"refused ({watch.answered or response.status_code}) yet changed"


class Book(dict[str, Any]):
    """The rows a fuzz test arranged, by name (shown by its keys only when hypothesis prints an example)."""

    def __repr__(self) -> str:
        return f"Book({', '.join(self)})"


@pytest.fixture()
def book(ann: User, service: Session) -> Book:
    """Ann's leads Bea Stone, Carl Diaz and Dana Fox, today's plan of their outreach with Dana's sent
    (so she waits for a reply); and Bob, another user of the workspace, with a lead and a plan of his own."""
    from tests.slack.conftest import add_leads, plan_of

    bob = make_user(service, name="Bob Lee", email="bob@example.com")
    bob.settings.slack_enabled = True
    service.add(SlackUserLink(user_id=bob.id, team_id="T1", slack_user_id="U2"))
    service.flush()
    leads = add_leads(ann, "Bea Stone", "Carl Diaz", "Dana Fox")
    plan = plan_of(ann)
    dana = next(item for item in plan.items if item.lead_id == leads[2].id)
    with unit_of_work(user_id=ann.id) as session:
        change_state(session, user=session.get_one(User, ann.id), action_id=dana.action_id, to=ActionState.SENT,
                     channel=Channel.SLACK)
    (bob_lead,) = add_leads(bob, "Bea Stone")
    bob_plan = plan_of(bob)
    return Book(leads=leads, plan=plan, bob=bob, bob_lead=bob_lead, bob_plan=bob_plan)


# Stripe ------------------------------------------------------------------------------------

def stripe_as_now(stripe: Any) -> Callable[[], None]:
    """A function that puts the fake Stripe back as it is now, as each example's savepoint puts the
    database back: what one example did at Stripe (a trial cancelled after a Checkout) is not there
    for the next."""
    kept = {name: copy.deepcopy(getattr(stripe, name)) for name in ("customers", "subscriptions", "checkouts",
                                                                    "portals", "invoices")}

    def restore() -> None:
        with stripe._lock:
            for name, value in kept.items():
                setattr(stripe, name, copy.deepcopy(value))
            stripe.requests.clear()
            stripe.failures.clear()
            stripe._idempotent.clear()

    return restore
