"""`nbm call` after today's plan was made: the call's prep, due today, is in the plan at once."""

from __future__ import annotations

from tests.test_cli_core import ok_json, pinned_clock, user  # noqa: F401  (fixtures)


def test_a_call_today_puts_its_prep_in_todays_plan(user: str) -> None:  # noqa: F811
    lead = ok_json("leads", "add", "--user", user, "Priya Raman", "https://www.linkedin.com/in/priya")
    ok_json("leads", "add", "--user", user, "Carl Diaz", "https://www.linkedin.com/in/carl")
    assert "CALL_PREP" not in [item["type"] for item in ok_json("plan", "--user", user)["items"]]
    ok_json("call", "--user", user, lead["id"], "2026-11-25")
    titles = [item["title"] for item in ok_json("plan", "--user", user)["items"]]
    assert "Prepare for your call with Priya Raman on Wed 25 Nov" in titles
