"""`nbm call` for a lead that already has a call: the lead keeps one prep and one follow-up pending
(core.calls), the follow-up with its latest call and the prep with its soonest one to come, and the
answer says what was made, what moved from the other call and what stays with it.

The clock is pinned at Sun 29 Nov 2026, 15:00 in New York (the reviewer's day)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine

from tests.test_cli_core import nbm, ok_json, user  # noqa: F401  (fixtures)

SUNDAY = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def pinned_clock() -> Iterator[None]:
    with time_machine.travel(SUNDAY, tick=False):
        yield


def _call(user: str, day: str) -> str:  # noqa: F811
    result = nbm("call", "--user", user, "Priya", day)
    assert result.exit_code == 0, result.output
    return result.output


def _open_call_actions(user: str) -> list[tuple[str, str, str, str]]:  # noqa: F811
    """(type, due date, state, description) of the open prep and post-call actions, by type."""
    return sorted((a["type"], a["due_date"], a["state"], a["description"])
                  for a in ok_json("actions", "list", "--user", user)
                  if a["type"] in ("CALL_PREP", "POST_CALL") and a["state"] in ("NEW", "SNOOZED"))


@pytest.fixture()
def priya(user: str) -> str:  # noqa: F811
    ok_json("leads", "add", "--user", user, "Priya Raman", "https://www.linkedin.com/in/priya")
    return user


def test_a_later_call_takes_the_follow_up_and_says_it_moved(priya: str) -> None:
    assert _call(priya, "2026-11-27") == "logged: call on Fri 27 Nov\n  POST_CALL due 2026-11-30\n"
    assert _call(priya, "2026-12-01") == ("logged: call on Tue 1 Dec\n"
                                          "  CALL_PREP due 2026-11-30\n"
                                          "  POST_CALL due 2026-12-02, moved here from the call on Fri 27 Nov\n")
    assert _open_call_actions(priya) == [
        ("CALL_PREP", "2026-11-30", "NEW", "Prepare for your call with Priya Raman on Tue 1 Dec"),
        ("POST_CALL", "2026-12-02", "NEW", "Follow up on your call with Priya Raman on Tue 1 Dec"),
    ]
    answer = ok_json("call", "--user", priya, "Priya", "2026-12-01")  # a repeat moves nothing back
    assert answer["created"] is False and answer["others"] == []


def test_an_earlier_call_keeps_neither_and_says_which_call_has_them(priya: str) -> None:
    _call(priya, "2026-12-03")
    assert _call(priya, "2026-12-01") == (
        "logged: call on Tue 1 Dec\n"
        "  CALL_PREP due 2026-11-30, moved here from the call on Thu 3 Dec\n"
        "  no POST_CALL of its own: the one for the call on Thu 3 Dec is still open, due 2026-12-04\n")
    assert _call(priya, "2026-11-26") == (  # in the past: no prep to share
        "logged: call on Thu 26 Nov\n"
        "  no POST_CALL of its own: the one for the call on Thu 3 Dec is still open, due 2026-12-04\n")
    assert [row[:2] for row in _open_call_actions(priya)] == [("CALL_PREP", "2026-11-30"), ("POST_CALL", "2026-12-04")]


def test_a_follow_up_the_user_snoozed_stays_with_its_call(priya: str) -> None:
    first = ok_json("call", "--user", priya, "Priya", "2026-11-27")
    (post,) = first["actions"]
    assert nbm("mark", "--user", priya, str(post["id"]), "snooze", "--until", "2026-12-10").exit_code == 0
    assert _call(priya, "2026-12-01") == (
        "logged: call on Tue 1 Dec\n"
        "  CALL_PREP due 2026-11-30\n"
        "  no POST_CALL of its own: the one for the call on Fri 27 Nov is still open, snoozed until 2026-12-10\n")
    assert ("POST_CALL", "2026-12-10", "SNOOZED", "Follow up on your call with Priya Raman on Fri 27 Nov") in (
        _open_call_actions(priya))


def test_a_call_is_named_as_every_surface_names_a_day_with_its_year_months_away(priya: str) -> None:
    """`nbm call` said "Tue 01 Dec 2026" where Slack and the action's own title say "Tue 1 Dec"; a day
    months away says its year, as everywhere (core.text.short_date_from)."""
    assert _call(priya, "2026-12-01").startswith("logged: call on Tue 1 Dec\n")
    assert _call(priya, "2027-03-01").startswith("logged: call on Mon 1 Mar 2027\n")
