"""The delivery functions the jobs call: a plan or summary DM, returning where it is, and Slack's
errors told apart (wait and retry, or give up for this user)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.slack.delivery import plan_sender
from bot.slack.errors import SlackRateLimited, SlackUnreachable
from core.db import unit_of_work
from core.jobs.channels import PermanentDeliveryError, TemporaryDeliveryError
from core.models import SlackInstallation, SlackUserLink, User
from tests.factories import make_user
from tests.slack.conftest import add_leads, deliver_dm
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock", "oauth_env")
TODAY = date(2026, 11, 25)


@pytest.fixture()
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the Web API client asks for, recorded instead of slept."""
    asked: list[float] = []
    monkeypatch.setattr("slack_sdk.http_retry.builtin_handlers.time.sleep", asked.append)
    return asked


def send_plan_dm(user: User) -> tuple[str, str]:
    """The morning job's Slack delivery of today's plan, as a fresh delivery: (channel, ts)."""
    return deliver_dm(plan_sender, user, TODAY)


def unreachable(user: User) -> SlackUnreachable:
    """Why delivering to ``user`` failed for good (the job gives up on them)."""
    with pytest.raises(PermanentDeliveryError) as raised:
        send_plan_dm(user)
    assert isinstance(raised.value.__cause__, SlackUnreachable)
    return raised.value.__cause__


def _dm_channel(user: User) -> str | None:
    with unit_of_work(service=True) as session:
        return session.scalar(select(SlackUserLink.dm_channel_id).where(SlackUserLink.user_id == user.id))


def test_the_plan_dm_returns_where_it_was_posted(fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone")
    channel, ts = send_plan_dm(ann)
    (posted,) = fake.calls_to("chat.postMessage")
    assert (channel, ts) == (posted.args["channel"], "1700000000.000001") and channel == "DU1"
    assert posted.token == "xoxb-test-token"
    assert "Reach out to Bea Stone" in str(posted.args["blocks"])
    assert _dm_channel(ann) == "DU1"
    send_plan_dm(ann)
    assert len(fake.calls_to("conversations.open")) == 1, "the DM channel is remembered"


def test_a_rate_limit_is_waited_out_as_slack_asks(fake: FakeSlack, ann: User, waits: list[float]) -> None:
    fake.queue("chat.postMessage", {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "7"})
    _channel, ts = send_plan_dm(ann)
    assert len(fake.calls_to("chat.postMessage")) == 2 and ts
    assert len(waits) == 1 and 7 <= waits[0] < 8


def test_a_rate_limit_that_persists_says_when_to_retry(fake: FakeSlack, ann: User, waits: list[float]) -> None:
    for _ in range(2):
        fake.queue("chat.postMessage", {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "30"})
    with pytest.raises(TemporaryDeliveryError) as raised:
        send_plan_dm(ann)
    cause = raised.value.__cause__
    assert isinstance(cause, SlackRateLimited) and cause.retry_after == 30


def test_an_inactive_account_is_unreachable(fake: FakeSlack, ann: User) -> None:
    fake.queue("conversations.open", {"ok": False, "error": "account_inactive"})
    assert unreachable(ann).error == "account_inactive"
    assert fake.calls_to("chat.postMessage") == []


def test_a_dm_channel_slack_no_longer_knows_is_opened_again(fake: FakeSlack, ann: User) -> None:
    send_plan_dm(ann)
    fake.queue("chat.postMessage", {"ok": False, "error": "channel_not_found"})
    fake.queue("conversations.open", {"ok": True, "channel": {"id": "DNEW"}})
    channel, _ = send_plan_dm(ann)
    assert channel == "DNEW" and _dm_channel(ann) == "DNEW"


def test_a_channel_still_not_found_after_reopening_is_unreachable(fake: FakeSlack, ann: User) -> None:
    send_plan_dm(ann)
    fake.queue("chat.postMessage", {"ok": False, "error": "channel_not_found"})
    fake.queue("chat.postMessage", {"ok": False, "error": "channel_not_found"})
    assert unreachable(ann).error == "channel_not_found"


def test_a_token_that_cannot_be_refreshed_makes_the_user_unreachable(fake: FakeSlack, ann: User,
                                                                     installed: SlackInstallation, service) -> None:
    installed.bot_refresh_token = "xoxe-1-used"
    installed.bot_token_expires_at = datetime(2026, 11, 25, 12, 5, tzinfo=UTC)
    service.flush()
    fake.queue("oauth.v2.access", {"ok": False, "error": "invalid_grant"})
    assert unreachable(ann).error == "invalid_grant"
    assert fake.calls_to("chat.postMessage") == []


def test_a_user_who_never_used_slack_is_unreachable(fake: FakeSlack, service) -> None:
    stranger = make_user(service)
    stranger.settings.slack_enabled = True  # Slack on, but no Slack user linked
    service.flush()
    unreachable(stranger)
    assert fake.calls == []


def test_after_uninstall_the_user_is_unreachable(fake: FakeSlack, ann: User, installed: SlackInstallation,
                                                 service) -> None:
    service.delete(installed)
    service.flush()
    assert "no longer installed" in str(unreachable(ann))
