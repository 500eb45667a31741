"""Modal submissions fuzzed (add a lead, log a call, settings, connect an iCal address): random values,
missing and extra fields, through the signed Slack route. Shaped as Slack shapes them, nothing is
answered as a bug; any shape at all is never a 500; a refused form changes nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask.testing import FlaskClient
from hypothesis import example, given
from hypothesis import strategies as st

from bot.slack import ids
from core.models import User
from tests.fuzz.conftest import Book, SlackWatch, check_slack, snapshot
from tests.fuzz.strategies import (
    awkward_text,
    date_words,
    huge_text,
    json_values,
    links,
    unicode_text,
    word,
)
from tests.slack.conftest import interact, view_submission

#: Each form's fields, and the element state Slack sends for each.
FORMS: dict[str, dict[str, str]] = {
    ids.ADD_LEAD_VIEW: {"name": "text", "url": "text", "email": "text", "notes": "text"},
    ids.LOG_CALL_VIEW: {"lead": "lead", "date": "date"},
    ids.SETTINGS_VIEW: {"delivery_time": "time", "timezone": "text", "work_days": "days", "channels": "channels",
                        "hours_start": "time", "hours_end": "time", "call_detection": "detect"},
    ids.CONNECT_ICS_VIEW: {"address": "text"},
}
ELEMENT_TYPES = {"text": "plain_text_input", "lead": "static_select", "date": "datepicker", "time": "timepicker",
                 "days": "checkboxes", "channels": "checkboxes", "detect": "checkboxes"}


def texts() -> st.SearchStrategy[str]:
    """Anything typed into a text field."""
    return st.one_of(word(), links(), unicode_text, awkward_text, huge_text(),
                     st.sampled_from(["Dana Fox", "dana@acme.io", "mailto:dana@acme.io", "Europe/Paris", "UTC",
                                      "Europe/London ", "localtime", "Factory", "Etc/GMT+5", "US/Eastern",
                                      "EST5EDT", "America/New_York", "../../etc/passwd", "Europe/", "europe/paris",
                                      "https://calendar.test/basic.ics", "webcal://calendar.test/x.ics"]))


def times() -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59)),
        st.sampled_from(["24:00", "07:60", "7:5", "-1:30", "07:30:00", ":", "", "0730", "\uff10\uff17:30",
                         "9" * 5000 + ":00", "07 : 30"]),
        unicode_text,
    )


def options(values: st.SearchStrategy[str]) -> st.SearchStrategy[list[dict[str, Any]]]:
    return st.lists(st.builds(lambda value: {"value": value}, values), max_size=9)


#: Values a person would pick or type into each field, so that many forms are saved.
VALID: dict[str, st.SearchStrategy[Any]] = {
    "name": st.sampled_from(["Dana Fox", "Émile Zola", "李小龍", "O'Brien", "A"]),
    "url": st.builds("https://www.linkedin.com/in/{}".format, st.text("abcdefghij-", min_size=1, max_size=12)),
    "email": st.none() | st.sampled_from(["", "dana@acme.io", "DANA@ACME.IO", "mailto:eve@acme.io"]),
    "notes": st.none() | st.sampled_from(["", "met at SaaStr", "line one\nline two", "😀"]),
    "date": st.dates(min_value=date(2025, 12, 1), max_value=date(2027, 12, 1)).map(date.isoformat),
    "delivery_time": st.sampled_from(["07:30", "00:00", "23:59", "08:05"]),
    "timezone": st.sampled_from(["Europe/London", "Europe/Paris", "UTC", "America/New_York", "Asia/Kolkata",
                                 "Pacific/Chatham", "Pacific/Kiritimati"]),
    "work_days": st.lists(st.sampled_from("1234567"), min_size=1, max_size=7).map(
        lambda days: [{"value": day} for day in days]),
    "channels": st.lists(st.sampled_from(["email", "slack"]), max_size=2).map(
        lambda chosen: [{"value": value} for value in chosen]),
    "hours_start": st.sampled_from(["06:00", "09:00", "09:30"]),
    "hours_end": st.sampled_from(["12:00", "17:00", "23:59", "09:00"]),
    "call_detection": st.sampled_from([[], [{"value": "on"}]]),
    "address": st.sampled_from(["https://calendar.test/basic.ics", "webcal://calendar.test/p/1.ics",
                                "https://gone.test/basic.ics"]),
}


def element(field: str, kind: str, lead_ids: list[str], *, valid: bool) -> st.SearchStrategy[dict[str, Any]]:
    """An element's state as Slack sends it: a value a person would give (``valid``), or any value or none."""
    state: st.SearchStrategy[Any]
    key = {"text": "value", "lead": "selected_option", "date": "selected_date", "time": "selected_time"}.get(
        kind, "selected_options")
    if valid and field == "lead":
        state = st.sampled_from(lead_ids[:-1]).map(lambda value: {"value": value})
    elif valid and field in VALID:
        state = VALID[field]
    elif kind == "text":
        state = st.none() | texts()
    elif kind == "lead":
        state = st.none() | st.builds(lambda value: {"value": value}, st.sampled_from(
            lead_ids) | st.uuids().map(str) | texts())
    elif kind == "date":
        state = st.none() | date_words() | texts()
    elif kind == "time":
        state = st.none() | times()
    elif kind == "days":
        state = options(st.sampled_from("01234567") | st.sampled_from(
            ["8", "-1", "1.0", " 1", "\u0661", "9" * 5000]) | texts())
    elif kind == "channels":
        state = options(st.sampled_from(["email", "slack", "sms"]) | texts())
    else:
        state = st.none() | options(st.sampled_from(["on"]) | texts())
    return st.builds(lambda value: {"type": ELEMENT_TYPES[kind], key: value}, state)


@st.composite
def slack_shaped(draw: st.DrawFn, lead_ids: list[str]) -> tuple[str, dict[str, dict[str, Any]]]:
    """A form's callback id and its fields' states: most often as a person fills it in, with one odd
    value at most; else any values, some fields missing, an extra one at times."""
    callback_id = draw(st.sampled_from(sorted(FORMS)))
    fields = FORMS[callback_id]
    if draw(st.booleans()):
        odd = draw(st.none() | st.sampled_from(sorted(fields)))
        return callback_id, {field: draw(element(field, kind, lead_ids, valid=field != odd))
                             for field, kind in fields.items()}
    kept = draw(st.lists(st.sampled_from(sorted(fields)), unique=True, min_size=max(0, len(fields) - 2))) if draw(
        st.integers(0, 3)) == 0 else sorted(fields)
    values = {field: draw(element(field, fields[field], lead_ids, valid=False)) for field in kept}
    if draw(st.integers(0, 4)) == 0:
        values[draw(st.text(min_size=1, max_size=12))] = draw(element("extra", "text", lead_ids, valid=False))
    return callback_id, values


@given(data=st.data())
def test_forms_as_slack_sends_them_with_any_values(
    web: FlaskClient, ann: User, book: Book, slack_watch: SlackWatch, in_savepoint: Any, data: st.DataObject
) -> None:
    lead_ids = [str(lead.id) for lead in book["leads"]] + [str(book["bob_lead"].id)]
    callback_id, values = data.draw(slack_shaped(lead_ids), label="form")
    with in_savepoint():
        slack_watch.reset()
        before = snapshot()
        response = interact(web, view_submission(callback_id, values))
        check_slack(slack_watch, response, before)


@given(callback_id=st.sampled_from(sorted(FORMS)) | st.text(max_size=20),
       state=st.dictionaries(st.sampled_from(["name", "url", "lead", "date", "timezone", "work_days", "channels",
                                              "delivery_time", "address", "hours_start"]) | st.text(max_size=8),
                             json_values(), max_size=8),
       view_extra=st.dictionaries(st.sampled_from(["private_metadata", "hash", "blocks", "title"]), json_values(),
                                  max_size=2))
def test_forms_of_any_shape_are_never_a_500_and_a_refused_one_changes_nothing(
    web: FlaskClient, ann: User, book: Book, slack_watch: SlackWatch, in_savepoint: Any, callback_id: str,
    state: dict[str, Any], view_extra: dict[str, Any]
) -> None:
    payload = view_submission(callback_id, {})
    payload["view"]["state"]["values"] = state
    payload["view"].update(view_extra)
    with in_savepoint():
        slack_watch.reset()
        before = snapshot()
        response = interact(web, payload)
        check_slack(slack_watch, response, before, shaped=False)


def test_a_log_call_form_naming_another_users_lead_is_refused_on_the_lead_field(
    web: FlaskClient, ann: User, book: Book, slack_watch: SlackWatch
) -> None:
    """The fuzzed forms' one case spelled out: a forged lead id changes nothing."""
    before = snapshot()
    response = interact(web, view_submission(ids.LOG_CALL_VIEW, {
        "lead": {"type": "static_select", "selected_option": {"value": str(book["bob_lead"].id)}},
        "date": {"type": "datepicker", "selected_date": "2026-11-25"}}))
    assert response.json["response_action"] == "errors" and list(response.json["errors"]) == ["lead"]
    assert snapshot() == before


@example(state=1)
@given(state=json_values().filter(lambda value: bool(value) and not isinstance(value, dict)))
def test_a_form_whose_state_is_not_an_object_is_not_a_500(
    web: FlaskClient, ann: User, slack_watch: SlackWatch, in_savepoint: Any, state: Any
) -> None:
    payload = view_submission(ids.ADD_LEAD_VIEW, {})
    payload["view"]["state"] = state
    with in_savepoint():
        slack_watch.reset()
        before = snapshot()
        response = interact(web, payload)
        check_slack(slack_watch, response, before, shaped=False)
