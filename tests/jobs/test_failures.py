"""Deliveries that fail: retries with back-off end in exactly one message; a dead worker loses nothing
and repeats nothing; one channel failing does not stop the other."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from rq import Queue
from rq.registry import FailedJobRegistry
from sqlalchemy import delete, select

from bot.email import delivery as email_delivery
from bot.email.backends import SmtpBackend
from core import config
from core.config import get_settings
from core.db import unit_of_work
from core.jobs.channels import register_sender
from core.jobs.tick import tick
from core.models import Channel, Delivery, DeliveryKind, DeliveryStatus, SlackInstallation, SlackUserLink, User
from tests.email.conftest import StartSmtp, smtp_server  # noqa: F401 - the fixture, shared
from tests.factories import make_lead, make_user
from tests.jobs.conftest import JOINED_THAT_DAY, run_worker
from tests.slack.conftest import BOT_TOKEN, TEAM, fake, fake_server  # noqa: F401 - the fixtures, shared
from tests.slack.fake_slack import FakeSlack

MORNING = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # Wed 25 Nov, 08:00 in London


def _deliveries(user_id: uuid.UUID) -> dict[Channel, Delivery]:
    with unit_of_work(service=True) as session:
        rows = session.scalars(select(Delivery).where(Delivery.user_id == user_id, Delivery.kind == DeliveryKind.PLAN))
        return {row.channel: row for row in rows}


@pytest.fixture()
def slack_on(monkeypatch: pytest.MonkeyPatch, fake: FakeSlack, outbox: Path) -> FakeSlack:  # noqa: F811
    """Single-workspace Slack against the fake Web API, registered beside email."""
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "test-signing-secret")
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", fake.api_url)
    config.get_settings.cache_clear()
    from bot.channels import register_all

    register_all()
    return fake


def test_an_smtp_server_refusing_the_first_two_tries_ends_with_one_email(
    service, queue: Queue, outbox: Path, smtp_server: StartSmtp, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    server = smtp_server(failures=["451 4.3.0 Try again later", "421 4.7.0 Too busy"])
    monkeypatch.setattr(email_delivery, "get_backend", lambda settings=None: SmtpBackend(
        host=server.host, port=server.port, security="none", username=None, password=None, timeout=5,
        retry_delays=()))  # one try per job attempt: the job's own retries are under test
    user = make_user(service, timezone="Europe/London", created_at=JOINED_THAT_DAY)
    make_lead(service, user)
    with time_machine.travel(MORNING, tick=False):
        tick(at=MORNING, queue=queue)
        run_worker(queue)
    plans = [m for m in server.handler.received if str(m["Subject"]).startswith("Your next best moves")]
    assert len(plans) == 1 and server.handler.data_attempts >= 3
    delivery = _deliveries(user.id)[Channel.EMAIL]
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 3)
    assert delivery.external_id == plans[0]["Message-ID"]


def test_slack_failing_for_good_does_not_stop_the_email(service, queue: Queue, slack_on: FakeSlack,
                                                        outbox: Path) -> None:
    user = make_user(service, timezone="Europe/London", created_at=JOINED_THAT_DAY)
    user.settings.slack_enabled = True
    service.add(SlackUserLink(user_id=user.id, team_id=TEAM, slack_user_id="U1"))
    make_lead(service, user)
    service.flush()
    slack_on.queue("conversations.open", {"ok": False, "error": "account_inactive"})
    with time_machine.travel(MORNING, tick=False):
        tick(at=MORNING, queue=queue)
        run_worker(queue)
    rows = _deliveries(user.id)
    assert (rows[Channel.SLACK].status, rows[Channel.EMAIL].status) == (DeliveryStatus.FAILED, DeliveryStatus.SENT)
    assert "account_inactive" in (rows[Channel.SLACK].last_error or "")
    assert len(list(outbox.glob("*.eml"))) == 1


def test_slack_down_is_retried_and_posts_once(service, queue: Queue, slack_on: FakeSlack, outbox: Path) -> None:
    user = make_user(service, timezone="Europe/London", created_at=JOINED_THAT_DAY)
    user.settings.slack_enabled, user.settings.email_enabled = True, False
    service.add(SlackUserLink(user_id=user.id, team_id=TEAM, slack_user_id="U1"))
    make_lead(service, user)
    service.flush()
    slack_on.queue("chat.postMessage", {"ok": False, "error": "internal_error"}, status=500)
    slack_on.queue("chat.postMessage", {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "0"})
    with time_machine.travel(MORNING, tick=False):
        tick(at=MORNING, queue=queue)
        run_worker(queue)
    posted = [c for c in slack_on.calls_to("chat.postMessage") if c.args.get("metadata")]
    delivery = _deliveries(user.id)[Channel.SLACK]
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts >= 2
    assert len(slack_on.history[delivery.external_id.split(":")[0]]) == 1
    assert len(posted) >= 2


def test_slack_turned_off_between_the_tick_and_the_job_posts_nothing_and_fails_nothing(
        service, queue: Queue, slack_on: FakeSlack) -> None:
    """Rule (as for email, ``core.jobs.channels.ChannelOff``): a morning whose Slack is off when its
    job composes it is not owed then. Nothing is posted, and the claim is given back untried, so it
    goes out if Slack is turned back on while it is still owed."""
    user = make_user(service, timezone="Europe/London", created_at=JOINED_THAT_DAY)
    user.settings.slack_enabled, user.settings.email_enabled = True, False
    service.add(SlackUserLink(user_id=user.id, team_id=TEAM, slack_user_id="U1"))
    make_lead(service, user)
    service.flush()
    with time_machine.travel(MORNING, tick=False):
        assert tick(at=MORNING, queue=queue, user_id=user.id).due == 1
        user.settings.slack_enabled = False  # between the tick and the job
        service.flush()
        run_worker(queue)
        assert len(FailedJobRegistry(queue=queue)) == 0
    assert slack_on.calls_to("chat.postMessage") == []
    delivery = _deliveries(user.id)[Channel.SLACK]
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)


@pytest.fixture()
def committed_user(slack_on: FakeSlack) -> Iterator[User]:
    """A user committed for real (a worker in another process must see it), removed afterwards."""
    with unit_of_work(service=True) as session:
        user = make_user(session, timezone="Europe/London", email=f"kill-{uuid.uuid4().hex[:8]}@example.com",
                         created_at=JOINED_THAT_DAY)
        user.settings.slack_enabled = True
        session.add(SlackUserLink(user_id=user.id, team_id=TEAM, slack_user_id="U1"))
        make_lead(session, user)
    yield user
    with unit_of_work(service=True) as session:
        session.execute(delete(User).where(User.id == user.id))
        session.execute(delete(SlackInstallation).where(SlackInstallation.team_id == TEAM))


def test_a_worker_killed_between_slack_and_email_resumes_with_the_email_only(
    engine, queue: Queue, committed_user: User, slack_on: FakeSlack, outbox: Path
) -> None:
    user = committed_user
    with time_machine.travel(MORNING, tick=False):
        tick(at=MORNING, queue=queue)
    child = os.fork()
    if child == 0:  # the worker that dies: SIGKILL the moment it starts the email
        try:
            def die(session: object, **delivery: object) -> Callable[[], str]:
                def send() -> str:
                    os.kill(os.getpid(), signal.SIGKILL)
                    return ""

                return send

            register_sender(DeliveryKind.PLAN, Channel.EMAIL, die)
            with time_machine.travel(MORNING, tick=False):
                run_worker(queue)
        finally:
            os._exit(1)
    _, status = os.waitpid(child, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    rows = _deliveries(user.id)
    assert (rows[Channel.SLACK].status, rows[Channel.EMAIL].status) == (DeliveryStatus.SENT, DeliveryStatus.PENDING)

    # The dead worker's claim on the email keeps every other job off it until its lease lapses (then
    # RQ has noticed the dead worker's job too, its timeout having passed).
    later = MORNING + timedelta(seconds=get_settings().send_lease_seconds, minutes=1)
    with time_machine.travel(later, tick=False):
        tick(at=later, queue=queue)
        run_worker(queue)
    rows = _deliveries(user.id)
    assert (rows[Channel.SLACK].status, rows[Channel.EMAIL].status) == (DeliveryStatus.SENT, DeliveryStatus.SENT)
    assert rows[Channel.EMAIL].attempts == 2
    assert len([c for c in slack_on.calls_to("chat.postMessage") if c.args.get("metadata")]) == 1
    assert len(list(outbox.glob("*.eml"))) == 1


def test_a_temporary_failure_that_outlasts_every_retry_ends_failed_with_its_reason(
    service, queue: Queue, outbox: Path, smtp_server: StartSmtp, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    server = smtp_server(failures=["451 4.3.0 Mailbox busy"] * 10)
    monkeypatch.setattr(email_delivery, "get_backend", lambda settings=None: SmtpBackend(
        host=server.host, port=server.port, security="none", username=None, password=None, timeout=5,
        retry_delays=()))
    user = make_user(service, timezone="Europe/London", created_at=JOINED_THAT_DAY)
    user.settings.work_days = [1, 2, 3, 4, 5]
    make_lead(service, user)
    with time_machine.travel(MORNING, tick=False):
        tick(at=MORNING, queue=queue)
        run_worker(queue)
        # Read under the worker's pinned clock: RQ purges failed jobs a week after they failed by it.
        failed_ids = [j for j in FailedJobRegistry(queue=queue).get_job_ids() if j.startswith("deliver-plan")]
    delivery = _deliveries(user.id)[Channel.EMAIL]
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 4)  # the first try and 3 retries
    assert "451" in (delivery.last_error or "")
    failed = [queue.fetch_job(j) for j in failed_ids]
    assert len(failed) == 1 and "Mailbox busy" in (failed[0].latest_result().exc_string or "")
    assert server.handler.received == []
