"""Every request to /slack/events must be signed by Slack, recently; Slack off means no route.

Unsigned or badly signed: 401, whatever the body, which is neither parsed nor logged. Signed but not
shaped like anything Slack sends: 400, saying how. Over the body cap: 413, unread. Bolt sees only
what passed all three."""

from __future__ import annotations

import logging
import time
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Connection

from bot.web import MAX_REQUEST_BYTES, create_app
from tests.slack.conftest import command, post, replies, sign
from tests.slack.fake_slack import FakeSlack

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

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


def test_a_signed_request_is_answered(web: FlaskClient, fake: FakeSlack, ann) -> None:
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


# Bodies that made Bolt's parser raise (500) before it checked the signature, and others as odd.
ODD_BODIES = [
    ("payload={not-json", FORM), ("payload=null", FORM), ("payload=%5B1%5D", FORM), ("[1, 2]", JSON),
    ("{not json", JSON), ("null", JSON), ("", JSON), ("command=/nbm&text=help", "text/plain"),
]
SECRET_WORD = "confidential-body-text"


def _unsigned_headers() -> list[dict[str, str]]:
    now = str(int(time.time()))
    return [{}, sign(BODY, secret="not-the-secret"), {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=0"},
            {"X-Slack-Request-Timestamp": "9" * 5000, "X-Slack-Signature": "v0=0"},
            {"X-Slack-Request-Timestamp": now, "X-Slack-Signature": "v0=\u00e9\u00e9"},
            {"X-Slack-Request-Timestamp": now}]


@pytest.mark.parametrize(("body", "content_type"), ODD_BODIES)
def test_anything_unsigned_gets_401_whatever_its_body_and_is_neither_parsed_nor_logged(
    web: FlaskClient, fake: FakeSlack, installed, caplog: pytest.LogCaptureFixture, body: str, content_type: str
) -> None:
    caplog.set_level(logging.INFO)
    body = body + ("&note=" if content_type == FORM else " ") + SECRET_WORD
    for headers in _unsigned_headers():
        response = web.post("/slack/events", data=body, content_type=content_type, headers=headers)
        assert response.status_code == 401, headers
    invalid_utf8 = web.post("/slack/events", data=b"text=\xff\xfe" + SECRET_WORD.encode(), content_type=FORM,
                            headers=sign("text=??"))
    assert invalid_utf8.status_code == 401
    assert fake.calls == []
    assert SECRET_WORD not in caplog.text and "Traceback" not in caplog.text
    assert {record.levelname for record in caplog.records} <= {"INFO"}


@pytest.mark.parametrize(("body", "content_type", "reason"), [
    ("payload={not-json", FORM, "its payload is not JSON"),
    ("payload=null", FORM, "its payload is JSON but not an object"),
    ("[1, 2]", JSON, "the body is JSON but not an object"),
    ("{not json", JSON, "the body is not JSON"),
    ("", FORM, "it is empty"),
    ("text=%FF", FORM, "the form cannot be read"),
    ("command=/nbm&text=help", "text/plain", "its content type is text/plain"),
    ('{"type": "event_callback", "team_id": 5, "event": {"type": "app_home_opened"}}', JSON,
     "its team_id is not a string"),
    ('{"type": "event_callback", "event": "app_home_opened"}', JSON, "its event is not an object"),
    ('{"type": "event_callback", "event": {"type": "app_home_opened", "user": 5}}', JSON,
     "its fields are not shaped as Slack's"),
    ('payload={"type": "block_actions", "actions": [5], "user": {"id": "U1"}}', FORM, "its actions[] is not an object"),
    ('payload={"type": "block_actions", "actions": [{"value": "x"}], "user": {"id": "U1"}}', FORM,
     "it has no actions[].action_id"),
    ('payload={"type": "view_submission", "view": {"callback_id": "nbm_settings"}, "user": {"id": "U1"}}', FORM,
     "it has no view.type"),
])
def test_a_signed_but_malformed_request_gets_400_saying_why(
    web: FlaskClient, fake: FakeSlack, installed, caplog: pytest.LogCaptureFixture, body: str, content_type: str,
    reason: str
) -> None:
    response = post(web, body, content_type)
    assert response.status_code == 400
    assert reason in response.text
    assert fake.calls == []
    assert "Traceback" not in caplog.text and not [r for r in caplog.records if r.levelname == "ERROR"]


def test_slacks_certificate_check_which_slack_does_not_sign_gets_an_empty_200(
    web: FlaskClient, fake: FakeSlack, installed
) -> None:
    response = web.post("/slack/events", data="ssl_check=1&token=legacy", content_type=FORM)
    assert (response.status_code, response.data) == (200, b"")
    assert web.post("/slack/events", data="ssl_check=1&token=legacy&command=/nbm&text=today",
                    content_type=FORM).status_code == 401
    assert fake.calls == []


def test_a_command_mentioning_payload_is_read_as_the_command_it_is(
    web: FlaskClient, fake: FakeSlack, ann, clock
) -> None:
    """Bolt's parser takes any form containing the word "payload" for an interaction."""
    command(web, fake, "focus payload review")
    assert replies(fake) == ["🎯 This week's focus: payload review"]


def test_a_body_over_the_cap_is_refused_with_413_before_it_is_read(web: FlaskClient, fake: FakeSlack) -> None:
    body = "{" + " " * MAX_REQUEST_BYTES + "}"
    assert post(web, body, JSON).status_code == 413
    assert post(web, body[MAX_REQUEST_BYTES // 2:], JSON).status_code == 400  # under the cap: read, and refused
    assert fake.calls == []
