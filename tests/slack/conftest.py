"""The Slack app under test: the real Flask route, requests signed as Slack signs them, and the fake
Web API server (tests/slack/fake_slack.py) that records every call the app makes.

Listeners run inline (an executor that runs each task at once), so when the test client returns,
the listener has finished: the production code path (ack first, the rest after) without threads,
which matters because every unit of work of a test joins the test's one rolled-back connection.
"""

from __future__ import annotations

import functools
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import time_machine
from flask.testing import FlaskClient
from redis import Redis
from rq import SimpleWorker
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from bot.slack import app as slack_app
from bot.slack import redraws
from bot.web import create_app
from core import config, embedded
from core import queue as queue_module
from core.clock import utcnow
from core.db import unit_of_work
from core.jobs.channels import Sender
from core.leads import add_lead
from core.models import Action, ActionEvent, ActionState, Channel, Lead, SlackInstallation, SlackUserLink, User
from core.planner.view import PlanView, plan_view_building_if_missing
from tests.factories import make_user
from tests.slack.block_kit import view_problems
from tests.slack.fake_slack import FakeSlack

SIGNING_SECRET = "test-signing-secret"
TEAM = "T1"
BOT_TOKEN = "xoxb-test-token"


class InlineExecutor(Executor):
    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:
            future.set_exception(error)
        return future


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.thread.start()
    yield fake
    fake.server.shutdown()


@pytest.fixture()
def fake(fake_server: FakeSlack) -> Iterator[FakeSlack]:
    """The fake Web API, emptied; the test fails if Slack would have refused any blocks the app sent."""
    fake_server.reset()
    yield fake_server
    refused = list(fake_server.refused)
    fake_server.reset()
    assert refused == [], f"Slack would refuse these payloads: {refused}"


@functools.cache
def redis_url_for_tests() -> str:
    """The Redis the tests may empty: ``NBM_TEST_REDIS_URL``, else the embedded one of tests/jobs."""
    explicit = os.environ.get("NBM_TEST_REDIS_URL")
    if explicit:
        return explicit
    return embedded.redis_url(config.Settings(data_dir=Path(os.environ["NBM_DATA_DIR"]) / "test-redis"))


def _configure(monkeypatch: pytest.MonkeyPatch, fake: FakeSlack, **env: str) -> Redis:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_API_URL", fake.api_url)
    monkeypatch.setenv("BASE_URL", "https://nbm.test")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(slack_app, "new_listener_executor", InlineExecutor)
    # A press schedules its redraw job (bot.slack.redraws) on the test Redis, never the embedded default.
    connection = Redis.from_url(redis_url_for_tests())
    monkeypatch.setattr(queue_module, "get_redis", lambda: connection)
    config.get_settings.cache_clear()
    return connection


@pytest.fixture()
def slack_env(monkeypatch: pytest.MonkeyPatch, fake: FakeSlack) -> Iterator[Callable[..., None]]:
    """``slack_env(**settings)`` turns Slack on against the fake for this test; the settings are
    forgotten afterwards (the environment first, then the cached settings read from it), and so are
    the redraw jobs the test's presses scheduled."""
    configured: list[Redis] = []

    def configure(**env: str) -> None:
        configured.append(_configure(monkeypatch, fake, **env))

    yield configure
    monkeypatch.undo()
    config.get_settings.cache_clear()
    if configured:
        configured[0].flushdb()
    for connection in configured:  # an embedded Redis stops at exit only once no client is left
        connection.close()


@pytest.fixture()
def oauth_env(slack_env: Callable[..., None]) -> None:
    """Multi-workspace mode: installs by OAuth, tokens in slack_installations."""
    slack_env(SLACK_CLIENT_ID="111.222", SLACK_CLIENT_SECRET="client-secret")


@pytest.fixture()
def web(oauth_env: None, connection: Connection) -> FlaskClient:
    return create_app().test_client()


@pytest.fixture()
def installed(service: Session) -> SlackInstallation:
    """Team T1 has installed the app."""
    row = SlackInstallation(team_id=TEAM, team_name="Acme", bot_token=BOT_TOKEN, bot_id="B1", bot_user_id="UBOT",
                            bot_scopes=",".join(slack_app.BOT_SCOPES))
    service.add(row)
    service.flush()
    return row


@pytest.fixture()
def ann(service: Session, installed: SlackInstallation) -> User:
    """A user already linked to Slack user U1 of team T1 (timezone Europe/London)."""
    user = make_user(service, name="Ann Lee", email="ann@example.com")
    user.settings.slack_enabled = True
    service.add(SlackUserLink(user_id=user.id, team_id=TEAM, slack_user_id="U1"))
    service.flush()
    return user


def sign(body: str, *, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """The headers Slack sends with ``body``."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    return {"X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)}


def post(web: FlaskClient, body: str, content_type: str, headers: dict[str, str] | None = None) -> TestResponse:
    return web.post("/slack/events", data=body, content_type=content_type, headers={**sign(body), **(headers or {})})


def command(web: FlaskClient, fake: FakeSlack, text: str, *, user: str = "U1", channel: str = "C1") -> TestResponse:
    body = urlencode({"command": "/nbm", "text": text, "user_id": user, "user_name": "ann", "team_id": TEAM,
                      "channel_id": channel, "trigger_id": "trigger-1", "response_url": fake.response_url(),
                      "api_app_id": "A1", "token": "legacy"})
    return post(web, body, "application/x-www-form-urlencoded")


def interact(web: FlaskClient, payload: dict[str, Any], headers: dict[str, str] | None = None) -> TestResponse:
    """Post an interaction; a view the app answers with in its ack must be one Slack accepts too."""
    body = urlencode({"payload": json.dumps(payload)})
    response = post(web, body, "application/x-www-form-urlencoded", headers)
    answered = response.get_json(silent=True) or {}
    if "view" in answered:
        assert view_problems(answered["view"]) == [], answered["view"]
    return response


def block_action(fake: FakeSlack, action: dict[str, Any], *, container: dict[str, Any] | None = None,
                 message_blocks: list[dict[str, Any]] | None = None, user: str = "U1") -> dict[str, Any]:
    """A block_actions payload as Slack sends it for a press in a message (or App Home without one)."""
    payload: dict[str, Any] = {
        "type": "block_actions", "user": {"id": user, "team_id": TEAM}, "team": {"id": TEAM, "domain": "acme"},
        "api_app_id": "A1", "trigger_id": "trigger-2", "actions": [action],
        "container": container or {"type": "view", "view_id": "VHOME"},
    }
    if container and container.get("type") == "message":
        payload["response_url"] = fake.response_url("press")
        payload["channel"] = {"id": container["channel_id"]}
        payload["message"] = {"ts": container["message_ts"], "blocks": message_blocks or []}
    return payload


def view_submission(callback_id: str, values: dict[str, dict[str, Any]], *, user: str = "U1") -> dict[str, Any]:
    return {"type": "view_submission", "user": {"id": user, "team_id": TEAM}, "team": {"id": TEAM},
            "api_app_id": "A1", "trigger_id": "trigger-3",
            "view": {"id": "VMODAL", "type": "modal", "callback_id": callback_id,
                     "state": {"values": {field: {"value": state} for field, state in values.items()}}}}


def event(web: FlaskClient, event_body: dict[str, Any], *, event_id: str = "Ev1",
          headers: dict[str, str] | None = None) -> TestResponse:
    body = json.dumps({"token": "legacy", "team_id": TEAM, "api_app_id": "A1", "type": "event_callback",
                       "event_id": event_id, "event_time": int(time.time()), "event": event_body,
                       "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}]})
    return post(web, body, "application/json", headers)


NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday, 12:00 in London


@pytest.fixture()
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def add_leads(user: User, *names: str, urls: Sequence[str] = ()) -> list[Lead]:
    """Leads added by ``user`` (each with its OUTREACH due today), as the core adds them; the n-th has the
    n-th of ``urls`` as its link (two leads of one name need two), the others a link made from the name."""
    links = [*urls, *(f"https://www.linkedin.com/in/{name.lower().replace(' ', '-')}" for name in names[len(urls):])]
    with unit_of_work(user_id=user.id) as session:
        me = session.get_one(User, user.id)
        return [add_lead(session, user=me, name=name, channel=Channel.CLI, url=url)
                for name, url in zip(names, links, strict=True)]


def deliver_dm(sender: Sender, user: User, period: date) -> tuple[str, str]:
    """A morning job's Slack delivery through ``sender``, as a fresh delivery: composed in the user's
    unit of work, sent once it committed; (channel, ts)."""
    with unit_of_work(user_id=user.id) as session:
        send = sender(session, user_id=user.id, period=period, delivery_id=uuid.uuid4())
    channel, _, ts = send().partition(":")
    return channel, ts


def plan_of(user: User) -> PlanView:
    with unit_of_work(user_id=user.id) as session:
        return plan_view_building_if_missing(session, user=session.get_one(User, user.id))


def state_of(user: User, action_id: uuid.UUID) -> ActionState:
    with unit_of_work(user_id=user.id) as session:
        return session.get_one(Action, action_id).state


def events_of(user: User, action_id: uuid.UUID) -> list[ActionEvent]:
    with unit_of_work(user_id=user.id) as session:
        return list(session.scalars(select(ActionEvent).where(ActionEvent.action_id == action_id)))


def run_redraws() -> None:
    """Run the redraw jobs that presses scheduled (bot.slack.redraws), as the worker does once their
    window is over: RQ's own worker in burst mode with its scheduler, in this process (so the test's
    transaction stays visible), the clock moved past the window."""
    queue = queue_module.get_queue()
    with time_machine.travel(utcnow() + timedelta(seconds=redraws.WINDOW_SECONDS + 1), tick=False):
        SimpleWorker([queue], connection=queue.connection).work(burst=True, with_scheduler=True)


def plan_drawn(fake: FakeSlack) -> dict[str, Any]:
    """The last plan message drawn in the DM, posted or brought up to date: `/nbm today` posts the
    day's plan once and updates it after (bot.slack.plan_dm)."""
    return [call.args for call in fake.calls if call.method in ("chat.postMessage", "chat.update")][-1]


def replies(fake: FakeSlack) -> list[str]:
    """The texts of the ephemeral answers posted to response_urls."""
    return [call.args.get("text", "") for call in fake.calls_to("respond")]


@pytest.fixture()
def google_on(monkeypatch: pytest.MonkeyPatch, web: FlaskClient) -> Iterator[None]:
    """Google Calendar set up on this server (after the Slack settings of ``web``)."""
    monkeypatch.setenv("GOOGLE_CLIENT_ID", "id.apps.googleusercontent.com")
    monkeypatch.setenv("GOOGLE_CLIENT_SECRET", "google-secret")
    config.get_settings.cache_clear()
    yield
    config.get_settings.cache_clear()
