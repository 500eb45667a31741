"""When something goes wrong: a typed error is answered plainly, a bug with a short apology (and a
log line with the request's context), Slack's refusals with what they mean; never a traceback."""

from __future__ import annotations

import logging

import pytest
from flask.testing import FlaskClient

from bot.slack.errors import APOLOGY
from core.models import User
from tests.slack.conftest import add_leads, command, interact, replies, view_submission
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")


def _explode(*args: object, **kwargs: object) -> None:
    raise RuntimeError("database on fire")


def test_a_bug_gets_an_apology_and_a_log_line_with_context(web: FlaskClient, fake: FakeSlack, ann: User,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr("bot.slack.listeners.commands.plan_view_building_if_missing", _explode)
    with caplog.at_level(logging.ERROR, logger="nbm.slack"):
        assert command(web, fake, "today").status_code == 200
    assert replies(fake) == [APOLOGY]
    (record,) = [r for r in caplog.records if r.name == "nbm.slack"]
    assert "unexpected error in nbm" in record.getMessage()
    assert "'team': 'T1'" in record.getMessage() and "'subcommand': 'today'" in record.getMessage()
    assert record.exc_info is not None


def test_a_bug_in_a_modal_shows_the_apology_in_the_modal(web: FlaskClient, fake: FakeSlack, ann: User,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.slack.listeners.forms.add_lead_and_replan", _explode)
    response = interact(web, view_submission("nbm_add_lead", {
        "name": {"value": "Dana"}, "url": {"value": "https://example.com/dana"}, "notes": {"value": None}}))
    assert response.json["response_action"] == "update"
    assert APOLOGY in str(response.json["view"]["blocks"])
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize(("error", "expected"), [
    ("account_inactive", "Slack would not let me message you (account_inactive)"),
    ("channel_not_found", "Slack would not let me message you (channel_not_found)"),
])
def test_slack_refusing_the_dm_is_explained(web: FlaskClient, fake: FakeSlack, ann: User, error: str,
                                            expected: str) -> None:
    add_leads(ann, "Bea Stone")
    fake.queue("conversations.open", {"ok": False, "error": error})
    command(web, fake, "today")
    assert replies(fake)[0].startswith(expected)


def test_slack_rate_limiting_the_dm_says_when_to_try_again(web: FlaskClient, fake: FakeSlack, ann: User,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("slack_sdk.http_retry.builtin_handlers.time.sleep", lambda seconds: None)
    for _ in range(2):
        fake.queue("chat.postMessage", {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "12"})
    command(web, fake, "today")
    assert replies(fake) == ["Slack is busy right now; please try again in 12 seconds."]


def test_slack_in_trouble_is_named_as_slack_not_as_ours(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    """Slack answering 500 ``internal_error`` to the plan's post is Slack's trouble, not a fault of
    ours that "has been logged": the answer says whose it is and that trying again later may work."""
    add_leads(ann, "Bea Stone")
    fake.queue("chat.postMessage", {"ok": False, "error": "internal_error"}, status=500)
    command(web, fake, "today")
    assert replies(fake) == ["Slack is having trouble right now (internal_error); please try again in a few minutes."]
