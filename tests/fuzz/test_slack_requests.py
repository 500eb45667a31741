"""Anything posted to ``/slack/events``: random JSON and form bodies (commands, interactions, events)
signed as Slack signs them, and requests whose signature or timestamp is wrong. Never a 500; a
request without a valid signature is a 401 whatever its body; a refused request changes nothing."""

from __future__ import annotations

import json
import string
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from bot.web.slack_routes import FORM_FIELDS, form_fields
from core.models import User
from tests.fuzz.conftest import Book, SlackWatch, changed, check_slack, snapshot
from tests.fuzz.strategies import json_values, unicode_text, word
from tests.slack.conftest import SIGNING_SECRET, TEAM, sign

JSON, FORM = "application/json", "application/x-www-form-urlencoded"
CONTENT_TYPES = (JSON, FORM, f"{JSON}; charset=utf-8", "text/plain", "", "multipart/form-data", "application/xml")
EVENT_TYPES = ("app_home_opened", "message", "app_uninstalled", "tokens_revoked", "app_mention", "team_join")


def ids_of_slack() -> st.SearchStrategy[Any]:
    """Who and where: mostly Ann in team T1, at times someone else, or not a string at all."""
    return st.sampled_from(["U1", "U2", TEAM, "DU1", "C1"]) | word() | json_values()


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    """An Events API envelope around any event."""
    event = draw(st.fixed_dictionaries(
        {"type": st.sampled_from(EVENT_TYPES) | word()},
        optional={"user": ids_of_slack(), "channel": ids_of_slack(),
                  "channel_type": st.sampled_from(["im", "app_home"]),
                  "tab": st.sampled_from(["home", "messages"]), "text": unicode_text | word(),
                  "subtype": st.sampled_from(["bot_message", "message_changed"]) | word(),
                  "bot_id": word(), "ts": st.sampled_from(["1700000000.000100"]) | word(), "tokens": json_values()}))
    envelope = {"token": "legacy", "team_id": TEAM, "api_app_id": "A1", "type": "event_callback",
                "event_id": draw(st.sampled_from(["Ev1", "Ev2"]) | word()), "event_time": int(time.time()),
                "event": event, "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}]}
    for key in draw(st.lists(st.sampled_from(sorted(envelope)), max_size=2, unique=True)):
        # An event of null: the test of it below.
        envelope[key] = draw(json_values().filter(lambda value, key=key: key != "event" or value is not None))
    return envelope


@st.composite
def forms(draw: st.DrawFn, response_url: str) -> dict[str, str]:
    """A form: a slash command with odd fields, an interaction whose payload is any JSON (or none),
    or any fields at all."""
    kind = draw(st.sampled_from(["command", "payload", "any"]))
    form = draw(st.dictionaries(st.text(max_size=12), st.text(max_size=30), max_size=6))
    if kind == "command":
        form.update(command=draw(st.sampled_from(["/nbm", "/other", ""]) | word()),
                    text=draw(unicode_text), team_id=TEAM, user_id=draw(st.sampled_from(["U1", "U2", ""])),
                    trigger_id="trigger-1", response_url=response_url)
    elif kind == "payload":
        payload = draw(st.fixed_dictionaries({"type": st.sampled_from(
            ["block_actions", "view_submission", "view_closed", "shortcut", "message_action", "block_suggestion"])
            | word()}, optional={"user": st.fixed_dictionaries({"id": ids_of_slack()}) | json_values(),
                                 "team": st.just({"id": TEAM}) | json_values(), "actions": json_values(),
                                 "view": json_values(), "container": json_values(), "trigger_id": word()}))
        form["payload"] = draw(st.just(json.dumps(payload)) | st.builds(json.dumps, json_values()) | unicode_text)
    form.pop("response_url", None) if kind != "command" else None
    return form


@given(data=st.data())
def test_any_signed_body_is_never_a_500_and_a_refused_one_changes_nothing(
    web: FlaskClient, ann: User, book: Book, slack_watch: SlackWatch, in_savepoint: Any, data: st.DataObject
) -> None:
    kind = data.draw(st.sampled_from(["event", "form", "json"]), label="kind")
    if kind == "event":
        body, content_type = json.dumps(data.draw(events(), label="event")), JSON
    elif kind == "form":
        body, content_type = urlencode(data.draw(forms(slack_watch.fake.response_url()), label="form")), FORM
    else:
        body, content_type = json.dumps(data.draw(json_values(), label="json")), JSON
    content_type = data.draw(st.just(content_type) | st.sampled_from(CONTENT_TYPES), label="content type")
    with in_savepoint():
        slack_watch.reset()
        before = snapshot()
        response = web.post("/slack/events", data=body.encode(), content_type=content_type, headers=sign(body))
        check_slack(slack_watch, response, before, shaped=False)


@st.composite
def bad_signatures(draw: st.DrawFn, body: str) -> dict[str, str]:
    """Headers Slack did not send with ``body``: another secret, an old or future timestamp, a
    signature of other bytes, missing or odd headers."""
    now = int(time.time())
    how = draw(st.sampled_from(["secret", "old", "future", "other body", "missing", "odd"]))
    if how == "secret":
        return sign(body, secret=draw(st.text(string.printable.strip(), min_size=1, max_size=20).filter(
            lambda secret: secret != SIGNING_SECRET)))
    if how == "old":
        return sign(body, timestamp=now - draw(st.integers(301, 10**9)))
    if how == "future":
        return sign(body, timestamp=now + draw(st.integers(301, 10**12)))
    if how == "other body":
        return sign(body + draw(st.text(min_size=1, max_size=5)))
    if how == "missing":
        headers = sign(body)
        headers.pop(draw(st.sampled_from(sorted(headers))))
        return headers
    header_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\r\n"), max_size=70)
    return {"X-Slack-Request-Timestamp": draw(st.sampled_from([str(now), "-1", "1e9", " 1", "0x10", "\u0663"])
                                              | header_text),
            "X-Slack-Signature": draw(st.sampled_from(["v0=", "v0=" + "0" * 64, "v1=abc"]) | header_text)}


@given(data=st.data())
def test_a_body_without_slacks_signature_is_a_401_and_changes_nothing(
    web: FlaskClient, ann: User, book: Book, slack_watch: SlackWatch, in_savepoint: Any, data: st.DataObject
) -> None:
    command = urlencode({"command": "/nbm", "text": data.draw(st.sampled_from(["done 1", "add Eve https://e.io"]),
                                                               label="text"),
                         "team_id": TEAM, "user_id": "U1", "trigger_id": "t", "response_url": "http://127.0.0.1:9/"})
    body = data.draw(st.just(command) | st.builds(json.dumps, json_values()), label="body")
    headers = data.draw(bad_signatures(body), label="headers")
    with in_savepoint():
        slack_watch.reset()
        before = snapshot()
        response = web.post("/slack/events", data=body.encode(), content_type=FORM, headers=headers)
        assert response.status_code == 401
        assert changed(before, snapshot()) == []
        assert slack_watch.fake.calls == []


def test_a_signed_event_callback_whose_event_is_null_is_not_a_500(
    web: FlaskClient, ann: User, slack_watch: SlackWatch
) -> None:
    body = json.dumps({"token": "legacy", "team_id": TEAM, "api_app_id": "A1", "type": "event_callback",
                       "event_id": "Ev1", "event_time": int(time.time()), "event": None,
                       "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}]})
    before = snapshot()
    response = web.post("/slack/events", data=body.encode(), content_type=JSON, headers=sign(body))
    check_slack(slack_watch, response, before, shaped=False)


#: Characters a form's text is made of, escapes and separators among them.
FORM_TEXT = st.text(alphabet="ab+ %=&;\t\n\r_-.~é0123456789ABCDEFabcdefz", max_size=40)


@given(text=FORM_TEXT | st.builds(urlencode, st.dictionaries(st.text(max_size=8), unicode_text, max_size=4)))
def test_a_form_is_read_as_the_standard_library_reads_it(text: str) -> None:
    """The route decodes forms in C where it can (an interaction's payload is kilobytes of escapes):
    whatever the text, it reads the fields ``parse_qsl`` reads, and refuses what it refuses."""
    def read(parse: Callable[[], dict[str, str]]) -> dict[str, str] | str:
        try:
            return parse()
        except ValueError as error:
            return type(error).__name__

    assert read(lambda: form_fields(text)) == read(lambda: dict(parse_qsl(
        text, keep_blank_values=True, errors="strict", max_num_fields=FORM_FIELDS)))
