"""Every request to /slack/events must be signed by Slack, recently; Slack off means no route."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from flask.testing import FlaskClient
from sqlalchemy import Connection

from bot.web import create_app
from tests.slack.conftest import command, sign
from tests.slack.fake_slack import FakeSlack

BODY = urlencode({"command": "/nbm", "text": "help", "user_id": "U1", "team_id": "T1", "channel_id": "C1",
                  "trigger_id": "t", "response_url": "http://127.0.0.1:9/respond"})


def _post(web: FlaskClient, headers: dict[str, str]) -> int:
    return web.post("/slack/events", data=BODY, content_type="application/x-www-form-urlencoded",
                    headers=headers).status_code


def test_unsigned_badly_signed_and_stale_requests_are_refused(web: FlaskClient, fake: FakeSlack, installed) -> None:
    assert _post(web, {}) == 401
    assert _post(web, sign(BODY, secret="not-the-secret")) == 401
    assert _post(web, sign(BODY, timestamp=int(time.time()) - 6 * 60)) == 401
    assert fake.calls == []


def test_a_signed_request_is_answered(web: FlaskClient, fake: FakeSlack, installed) -> None:
    assert command(web, fake, "help").status_code == 200
    (reply,) = fake.calls_to("respond")
    assert "/nbm today" in reply.args["text"]
    assert reply.args["response_type"] == "ephemeral"


def test_slack_verifying_the_request_url_gets_its_challenge_back(web: FlaskClient, fake: FakeSlack) -> None:
    body = ('{"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", '
            '"type": "url_verification"}')
    response = web.post("/slack/events", data=body, content_type="application/json", headers=sign(body))
    assert response.status_code == 200
    assert response.json == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


def test_without_slack_settings_the_app_starts_and_the_routes_say_slack_is_off(connection: Connection) -> None:
    client = create_app().test_client()
    response = client.post("/slack/events", data=BODY, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 404
    assert b"not configured" in response.data
    assert client.get("/slack/install").status_code == 404
