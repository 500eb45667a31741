"""Two posters of today's plan DM at the same instant post one copy between them (bot.slack.plan_dm):
two `/nbm today` requests (a double submit, or Slack retrying a slow command), or `/nbm today` and
the morning's Slack delivery, whichever of them reaches Slack first.

A post Slack refuses records nothing, so the next request posts the plan.

The races run against real PostgreSQL with committed data, each poster on its own connection and
thread as in two web workers, or a web worker and an RQ worker. The first poster's
``chat.postMessage`` is held at the fake Slack server until the other has caught up with it:
posting too, waiting for a lock in the database, or done. Only then does Slack answer the first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, text

from bot.slack import app as slack_app
from bot.web import create_app
from core.db import unit_of_work
from core.jobs import tasks
from core.models import SlackInstallation, SlackUserLink, User
from tests.factories import make_user
from tests.slack.conftest import BOT_TOKEN, TEAM, add_leads, command, plan_of, replies
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")

#: How long the held post waits for the other poster to catch up, at most (it never needs to).
PATIENCE_SECONDS = 10.0
POSTED = "📬 Today's plan is in your DM with me: 2 actions, ~20 min."
LINKED = ("📬 Today's plan is in your DM with me, up to date: 2 actions, ~20 min. "
          "<https://acme.slack.com/archives/DU1/p1700000000000001|Open it>")

Poster = Callable[[], Any]


@pytest.fixture()
def committed_ann(engine: Engine, oauth_env: None) -> Iterator[User]:
    """Ann, linked to Slack user U1 of team T1, which installed the app, with two leads: committed for
    real (and deleted after the test), so that each poster reads them on a connection of its own."""
    with unit_of_work(service=True) as session:
        session.add(SlackInstallation(team_id=TEAM, team_name="Acme", bot_token=BOT_TOKEN, bot_id="B1",
                                      bot_user_id="UBOT", bot_scopes=",".join(slack_app.BOT_SCOPES)))
        user = make_user(session, name="Ann Lee", email="ann-committed@example.com")
        user.settings.slack_enabled = True
        session.add(SlackUserLink(user_id=user.id, team_id=TEAM, slack_user_id="U1"))
    try:
        add_leads(user, "Bea Stone", "Carl Diaz")
        yield user
    finally:
        with unit_of_work(service=True) as session:
            session.execute(delete(User).where(User.id == user.id))
            session.execute(delete(SlackInstallation).where(SlackInstallation.team_id == TEAM))


def _asks_today(fake: FakeSlack) -> Poster:
    """`/nbm today`, signed as Slack signs it, to a web app of its own (a web worker)."""
    web: FlaskClient = create_app().test_client()
    return lambda: command(web, fake, "today")


def _morning(user: User) -> Poster:
    """The morning's Slack delivery of today's plan, through its job."""
    return lambda: tasks.deliver("plan", "slack", str(user.id), plan_of(user).date.isoformat())


def _in_thread(poster: Poster, done: threading.Event) -> threading.Thread:
    def run() -> None:
        try:
            poster()
        finally:
            done.set()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _someone_waits_for_a_lock(engine: Engine) -> bool:
    """A session of this test database waits for a lock (a row, or an advisory lock)."""
    with engine.connect() as connection:
        return bool(connection.scalar(text(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE NOT l.granted AND a.datname = current_database()")))


def _race(fake: FakeSlack, engine: Engine, first: Poster, second: Poster) -> None:
    """Run ``first`` until its ``chat.postMessage`` reaches Slack, then ``second``, and only answer the
    first's post once the second has caught up with it (module docstring)."""
    held, second_posts, second_done = threading.Event(), threading.Event(), threading.Event()
    posts = 0
    count = threading.Lock()

    def gate(method: str, args: dict[str, Any]) -> None:
        nonlocal posts
        if method != "chat.postMessage":
            return
        with count:
            posts += 1
            mine = posts
        if mine > 1:
            second_posts.set()
            return
        held.set()
        give_up = time.monotonic() + PATIENCE_SECONDS
        while (not second_posts.wait(timeout=0.01) and not second_done.is_set()
               and not _someone_waits_for_a_lock(engine) and time.monotonic() < give_up):
            pass

    fake.gate = gate
    first_done = threading.Event()
    threads = [_in_thread(first, first_done)]
    assert held.wait(timeout=PATIENCE_SECONDS) or first_done.is_set(), "the first poster never posted"
    threads.append(_in_thread(second, second_done))
    for thread in threads:
        thread.join()


def test_two_requests_at_once_post_one_copy_and_the_second_links_to_it(
        fake: FakeSlack, engine: Engine, committed_ann: User) -> None:
    """Both found no copy recorded and both posted: two plans in the DM, and the first never redrawn."""
    _race(fake, engine, _asks_today(fake), _asks_today(fake))

    (posted,) = fake.calls_to("chat.postMessage")
    assert "Bea Stone" in str(posted.args["blocks"])
    (update,) = fake.calls_to("chat.update")
    assert (update.args["channel"], update.args["ts"]) == ("DU1", "1700000000.000001")
    assert sorted(replies(fake)) == [LINKED, POSTED]


@pytest.mark.parametrize("order", ["morning first", "request first"])
def test_a_request_and_the_morning_delivery_at_once_post_one_copy(
        fake: FakeSlack, engine: Engine, committed_ann: User, order: str) -> None:
    """The morning found no copy posted on request when it composed, or a request found no delivery
    recorded while the morning was sending: each posted its own copy."""
    plan_of(committed_ann)  # made before either, as the morning's prepare job makes it
    posters = [_morning(committed_ann), _asks_today(fake)]
    _race(fake, engine, *(posters if order == "morning first" else posters[::-1]))

    assert len(fake.calls_to("chat.postMessage")) == 1
    (update,) = fake.calls_to("chat.update")
    assert (update.args["channel"], update.args["ts"]) == ("DU1", "1700000000.000001")
    assert replies(fake) == [LINKED if order == "morning first" else POSTED]
    with unit_of_work(service=True) as session:
        delivered = session.scalar(text("SELECT external_id FROM deliveries WHERE user_id = :u"),
                                   {"u": committed_ann.id})
    assert delivered == "DU1:1700000000.000001", "the morning's delivery is the one copy"


def test_a_post_slack_refuses_records_nothing_and_the_next_request_posts_the_plan(
        web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    """The turn in which a post failed ends with nothing recorded: the person is told, and asking
    again posts the plan (once), rather than pointing at a message that was never posted."""
    add_leads(ann, "Bea Stone", "Carl Diaz")
    fake.queue("chat.postMessage", {"ok": False, "error": "internal_error"}, status=500)
    command(web, fake, "today")
    assert len(fake.calls_to("chat.postMessage")) == 1
    assert replies(fake) == ["Slack is having trouble right now (internal_error); please try again in a few minutes."]

    command(web, fake, "today")
    assert len(fake.calls_to("chat.postMessage")) == 2 and fake.calls_to("chat.update") == []
    assert replies(fake)[-1] == POSTED
