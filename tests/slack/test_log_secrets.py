"""Logs at DEBUG, as an operator chasing a problem would turn them on, through a whole OAuth install,
a token rotation and a button press: the Web API calls are still there to read, and no token,
refresh token, client secret or signing secret is, in any record. A refused request's body is not
logged either."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import select

from core.db import unit_of_work
from core.models import ActionState, SlackInstallation, User
from tests.slack.conftest import NOW, SIGNING_SECRET, add_leads, command, interact, plan_of, state_of
from tests.slack.fake_slack import FakeSlack
from tests.slack.test_buttons import _button, _in_message, _posted_plan
from tests.slack.test_install import _callback, _start_install
from tests.test_logs import nbm_logging  # noqa: F401 - the fixture, shared

CLIENT_SECRET = "client-secret"  # oauth_env's
#: Everything the fake Slack hands out or is handed: the installed pair, then each rotated pair.
TOKEN_MARKS = ("xoxb-installed-secret", "xoxe-1-first-refresh", "xoxb-rotated-", "xoxe-1-refresh-")


@pytest.fixture()
def debug(nbm_logging: None, caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:  # noqa: F811
    caplog.set_level(logging.DEBUG)
    return caplog


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every record as a handler would write it, traceback included, and its raw message."""
    return caplog.text + "\n".join(record.getMessage() for record in caplog.records)


def test_install_rotation_and_a_press_log_no_secret_at_debug(web: FlaskClient, fake: FakeSlack,
                                                             debug: pytest.LogCaptureFixture) -> None:
    with time_machine.travel(NOW, tick=False):
        state, cookie = _start_install(web)
        assert _callback(web, f"code=code-1&state={state}", cookie).status_code == 200
    fake.add_user("U1", email="ann@example.com", name="Ann Lee", tz="Europe/London")
    with time_machine.travel(NOW + timedelta(hours=11), tick=False):  # the bot token expires within 2 hours
        command(web, fake, "streak")  # rotates the token, then meets Ann
        with unit_of_work(service=True) as session:
            ann = session.scalars(select(User)).one()
            rotated = session.scalars(select(SlackInstallation)).one().bot_token.reveal()
        add_leads(ann, "Bea Stone")
        posted = _posted_plan(web, fake)
        item = plan_of(ann).items[0]
        assert interact(web, _in_message(fake, posted, _button("nbm_done", item.action_id))).status_code == 200
    assert state_of(ann, item.action_id) == ActionState.DONE
    assert rotated.startswith("xoxb-rotated-") and len(fake.calls_to("oauth.v2.access")) == 2

    logged = _logged(debug)
    assert "oauth.v2.access" in logged and "chat.update" in logged, "the calls are still logged"
    leaks = [mark for mark in (*TOKEN_MARKS, rotated, CLIENT_SECRET, SIGNING_SECRET, "code-1") if mark in logged]
    assert leaks == []


def test_the_body_of_a_refused_request_is_not_logged(web: FlaskClient, fake: FakeSlack,
                                                     debug: pytest.LogCaptureFixture) -> None:
    body = "command=%2Fnbm&text=refused-body-marker&team_id=T1"
    response = web.post("/slack/events", data=body, content_type="application/x-www-form-urlencoded",
                        headers={"X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=forged"})
    assert response.status_code == 401
    assert "refused-body-marker" not in _logged(debug)
