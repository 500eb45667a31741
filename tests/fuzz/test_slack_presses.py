"""Button presses and menu choices (block_actions) fuzzed: any action id, any block id (this user's
actions, another user's, none), any value and date, pressed in the plan DM, App Home or an ephemeral
list, through the signed Slack route. Shaped as Slack shapes them, nothing is answered as a bug; any
shape at all is never a 500; a refused press changes nothing."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import example, given
from hypothesis import strategies as st

from bot.slack import ids
from core.models import CalendarProvider, ContentPromptType, User
from tests.fuzz.conftest import Book, SlackWatch, check_slack, snapshot
from tests.fuzz.strategies import date_words, json_objects, json_values, mostly, word
from tests.slack.conftest import block_action, interact

#: The calendar buttons, whose value names a kind of calendar.
CALENDAR_BUTTONS = (*ids.CONNECT_CALENDARS, ids.DISCONNECT_CALENDAR)
ACTION_IDS = sorted({*ids.MARKS, ids.SNOOZE_PRESET, ids.SNOOZE_DATE, ids.UNDO, ids.SAVE_DRAFT, ids.OPEN_ADD_LEAD,
                     ids.OPEN_LOG_CALL, ids.OPEN_SETTINGS, ids.REFRESH_PLAN, *CALENDAR_BUTTONS, ids.OPEN_LINK})
SURFACES = [surface.value for surface in ids.Surface]


def action_ids(book: Book) -> list[str]:
    """Ann's plan's actions (one of them sent, waiting for a reply) and Bob's."""
    return [str(item.action_id) for item in book["plan"].items] + [str(item.action_id)
                                                                   for item in book["bob_plan"].items]


@st.composite
def block_ids(draw: st.DrawFn, actions: list[str]) -> str:
    surface = draw(mostly(st.sampled_from(SURFACES), st.sampled_from(["", "plan ", "PLAN", "draft_open"]) | word()))
    action = draw(mostly(st.sampled_from(actions), st.uuids().map(str) | st.sampled_from(
        ["", "00000000-0000-0000-0000-000000000000", "not-a-uuid"]) | word()))
    suffix = draw(st.sampled_from(["", "", "|waiting", "|other", "|"]))
    return f"{surface}|{action}{suffix}" if draw(st.integers(0, 5)) else draw(word())


@st.composite
def presses(draw: st.DrawFn, book: Book) -> dict[str, Any]:
    """An action as Slack sends it for a button, an overflow or static menu, or a date picker: half of
    them one of the app's own controls on one of Ann's plan items, with a date from the menu or the
    picker; the others with any ids and values."""
    actions = action_ids(book)
    if draw(st.booleans()):
        ann_actions = [str(item.action_id) for item in book["plan"].items]
        action_id = draw(st.sampled_from([*ids.MARKS, ids.SNOOZE_PRESET, ids.SNOOZE_DATE, ids.UNDO]))
        block_id = f"{draw(st.sampled_from(SURFACES))}|{draw(st.sampled_from(ann_actions))}"
        day = draw(st.dates(min_value=date(2026, 11, 20), max_value=date(2028, 1, 1)).map(date.isoformat))
        if action_id == ids.SNOOZE_PRESET:
            return {"action_id": action_id, "block_id": block_id, "type": "static_select",
                    "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": day}}
        if action_id == ids.SNOOZE_DATE:
            return {"action_id": action_id, "block_id": block_id, "type": "datepicker", "selected_date": day}
        return {"action_id": action_id, "block_id": block_id, "type": "button", "value": "x"}
    action: dict[str, Any] = {"action_id": draw(mostly(st.sampled_from(ACTION_IDS), word())),
                              "block_id": draw(block_ids(actions)), "type": "button", "action_ts": "1700000000.1"}
    kind = draw(st.sampled_from(["button", "static_select", "datepicker"]))
    if action["action_id"] in CALENDAR_BUTTONS:  # any other value: the test of it below
        action["value"] = draw(st.sampled_from([provider.value for provider in CalendarProvider]))
    elif action["action_id"] == ids.SAVE_DRAFT or kind == "button":
        action["value"] = draw(st.builds(lambda summary, draft: f"{summary}|{draft}", st.uuids().map(str) | word(),
                                         st.sampled_from([kind.value for kind in ContentPromptType]) | word())
                               | st.sampled_from(["ics", "done", ""]) | word())
    elif kind == "static_select":
        action.update(type="static_select", selected_option=draw(st.none() | st.builds(
            lambda value: {"text": {"type": "plain_text", "text": "x"}, "value": value}, date_words() | word())))
    else:
        action.update(type="datepicker", selected_date=draw(st.none() | date_words() | word()))
    return {key: value for key, value in action.items() if value is not None}


@st.composite
def containers(draw: st.DrawFn) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """Where it was pressed: App Home (no container given), a plan DM message, an ephemeral message."""
    where = draw(st.sampled_from(["home", "message", "ephemeral"]))
    if where == "home":
        return None, []
    day = draw(date_words() | word())
    container = {"type": "message", "channel_id": "DU1", "message_ts": "1700000000.000001",
                 "is_ephemeral": where == "ephemeral"}
    return container, [{"type": "header", "block_id": f"plan|{day}", "text": {"type": "plain_text", "text": "x"}}]


@given(data=st.data())
def test_presses_as_slack_sends_them_with_any_ids_and_values(
    web: FlaskClient, ann: User, book: Book, slack_watch: SlackWatch, in_savepoint: Any, data: st.DataObject
) -> None:
    action = data.draw(presses(book), label="action")
    container, blocks = data.draw(containers(), label="container")
    with in_savepoint():
        slack_watch.reset()
        before = snapshot()
        response = interact(web, block_action(slack_watch.fake, action, container=container, message_blocks=blocks))
        check_slack(slack_watch, response, before)


@given(data=st.data(), extra=st.dictionaries(st.text(max_size=12), json_values(), max_size=4),
       top=st.dictionaries(st.sampled_from(["container", "message", "state", "view", "channel"]),
                           json_objects(), max_size=2))
def test_presses_of_any_shape_are_never_a_500_and_a_refused_one_changes_nothing(
    web: FlaskClient, ann: User, book: Book, slack_watch: SlackWatch, in_savepoint: Any, data: st.DataObject,
    extra: dict[str, Any], top: dict[str, Any]
) -> None:
    action = {**extra, **data.draw(presses(book), label="action")}
    for key in data.draw(st.lists(st.sampled_from(["value", "selected_date", "selected_option"]), max_size=3),
                         label="odd keys"):
        action[key] = data.draw(json_values(), label=key)
    payload = block_action(slack_watch.fake, action)
    payload.update(top)
    with in_savepoint():
        slack_watch.reset()
        before = snapshot()
        response = interact(web, payload)
        check_slack(slack_watch, response, before, shaped=False)


@pytest.mark.parametrize(("action_id", "verb"), [(ids.CONNECT_CALENDAR, "connect"),
                                                 (ids.connect_calendar(CalendarProvider.ICS), "connect"),
                                                 (ids.DISCONNECT_CALENDAR, "disconnect")])
@example(value=None)
@given(value=st.none() | word().filter(lambda value: value not in {"ics", "google", "outlook"}))
def test_a_calendar_press_with_a_value_the_app_never_sends_is_refused_plainly(
    web: FlaskClient, ann: User, slack_watch: SlackWatch, in_savepoint: Any, action_id: str, verb: str,
    value: str | None
) -> None:
    action = {"action_id": action_id, "block_id": "b", "type": "button"}
    if value is not None:
        action["value"] = value
    with in_savepoint():
        slack_watch.reset()
        before = snapshot()
        response = interact(web, block_action(slack_watch.fake, action))
        check_slack(slack_watch, response, before)
        assert [str(error) for error in slack_watch.answered] == [
            f"that button no longer matches a calendar; open App Home again to {verb} one"]
