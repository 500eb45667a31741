"""The product driven from the `nbm` command: each command's answer, and bad input refused with exit
code 2, a message saying what was wrong, and nothing changed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from click.testing import Result
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from core.models import DailyPlan, WeeklySummary
from core.users import get_user_by_email
from tests.calendars.feeds import REQUESTED
from tests.cli import nbm
from tests.factories import NINE_WORK_DAYS, make_lead, make_streak

NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)  # Wed 25 Nov, 09:00 in New York
EMAIL = "ann@example.com"


@pytest.fixture(autouse=True)
def pinned_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def ok_json(*args: str) -> object:
    result = nbm(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture()
def user(connection: Connection) -> str:
    assert nbm("users", "add", EMAIL, "--name", "Ann Lee", "--tz", "America/New_York").exit_code == 0
    return EMAIL


def refused(result: Result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_a_refusal_is_said_without_the_usage_of_nbm_as_a_whole(user: str) -> None:
    """The command was used rightly and the data said no: no "Usage: nbm …" line, no "Try --help"."""
    result = nbm("mark", "--user", user, "00000000-0000-0000-0000-000000000000", "done")
    assert result.exit_code == 2
    assert result.output.startswith("Error: no such action") and "Usage" not in result.output


def test_a_user_is_added_with_a_validated_timezone(connection: Connection) -> None:
    added = ok_json("users", "add", "Bob@Example.com", "--name", "Bob", "--tz", "Europe/Paris")
    assert (added["email"], added["timezone"]) == ("Bob@Example.com", "Europe/Paris")
    refused(nbm("users", "add", "bob@example.com", "--name", "Bob again"), "already exists")
    refused(nbm("users", "add", "carol@example.com", "--name", "Carol", "--tz", "Mars/Olympus"),
            "is not an IANA timezone")


def test_an_unknown_user_is_named_in_the_refusal(connection: Connection) -> None:
    refused(nbm("plan", "--user", "nobody@example.com"), "no user with the email 'nobody@example.com'")


def test_an_empty_plan_of_another_day_does_not_say_today(user: str) -> None:
    shown = nbm("plan", "--user", user, "--date", "2026-11-27")
    assert shown.exit_code == 0, shown.output
    assert "Fri 27 Nov — nothing due" in shown.output
    assert "Nothing is due in this plan" in shown.output and "today" not in shown.output


def test_a_lead_comes_with_an_outreach_due_today_and_shows_in_the_plan(user: str) -> None:
    lead = ok_json("leads", "add", "--user", user, "Priya Raman", "https://www.linkedin.com/in/priya")
    plan = ok_json("plan", "--user", user)
    assert plan["date"] == "2026-11-25"
    (item,) = plan["items"]
    assert (item["lead"], item["url"], item["type"], item["fast_win"], item["minutes"], item["number"]) == (
        "Priya Raman", lead["url"], "OUTREACH", True, 10, 1)  # the quickest of the day is its Fast Win
    assert set(item) >= {"number", "action_id", "type", "lead", "url", "fast_win", "minutes"}
    assert ok_json("plan", "--user", user)["items"][0]["action_id"] == item["action_id"]


@pytest.mark.parametrize(("url", "notes", "message"), [
    ("javascript:alert(1)", None, "https://"),
    ("https://x.io/in/ok", "x" * 10_000_000, "the limit is 10,000"),
])
def test_a_bad_lead_is_refused_and_nothing_is_added(user: str, url: str, notes: str | None, message: str) -> None:
    args = ["leads", "add", "--user", user, "Mallory", url] + (["--notes", notes] if notes else [])
    refused(nbm(*args), message)
    assert ok_json("leads", "list", "--user", user) == []


@pytest.mark.parametrize("url", ["mailto:bad", "mailto:?subject=Hi", "mailto:ann@", "mailto:ann@x.io,bob@y.io",
                                 "mailto:mailto:ann@x.io"])
def test_a_mail_link_without_one_valid_address_is_refused_and_nothing_is_added(user: str, url: str) -> None:
    refused(nbm("leads", "add", "--user", user, "Mallory", url),
            "has no valid email address after mailto:; a mail link is one address, like mailto:ann@example.com")
    assert ok_json("leads", "list", "--user", user) == []


def test_a_mail_link_keeps_its_subject_and_its_owners_local_part(user: str) -> None:
    lead = ok_json("leads", "add", "--user", user, "Ann", "mailto:Ann.Lee@Example.COM?subject=Hello")
    assert lead["url"] == "mailto:Ann.Lee@example.com?subject=Hello"


def test_a_refused_lead_reads_no_calendar_makes_no_plan_and_adds_nothing(
    user: str, server: str, service: Session
) -> None:
    """Reading a calendar may take seconds: a lead refused whatever it says does not wait on it."""
    assert nbm("calendar", "connect", "--user", user, "ics", f"{server}/cal/weekly.ics").exit_code == 0
    make_lead(service, get_user_by_email(service, user), name="Bea Stone", url="https://www.linkedin.com/in/bea",
              email="bea@acme.io")
    read_before = len(REQUESTED)

    refused(nbm("leads", "add", "--user", user, "Dana Fox", "javascript:alert(1)"),
            "only https://, http:// and mailto: links are accepted; 'javascript:alert(1)' is not one")
    refused(nbm("leads", "add", "--user", user, "Bea", "HTTPS://www.LinkedIn.com/in/bea/"),
            "you already have Bea Stone with the link https://www.linkedin.com/in/bea")
    refused(nbm("leads", "add", "--user", user, "Dana Fox", "https://dana.io", "--email", "Bea@Acme.io"),
            "you already have Bea Stone with the email bea@acme.io")

    assert len(REQUESTED) == read_before
    assert [lead["name"] for lead in ok_json("leads", "list", "--user", user)] == ["Bea Stone"]
    assert service.scalars(select(DailyPlan)).all() == []
    added = nbm("leads", "add", "--user", user, "Dana Fox", "https://dana.io")  # accepted: the calendar sizes it
    assert added.exit_code == 0 and "Dana Fox" in added.output
    assert len(REQUESTED) > read_before


def test_a_name_of_only_spaces_is_refused_as_blank(user: str) -> None:
    lead = ok_json("leads", "add", "--user", user, "Priya Raman", "https://www.linkedin.com/in/priya")
    refused(nbm("leads", "add", "--user", user, "   ", "https://x.io/blank"), "the name is blank")
    refused(nbm("leads", "edit", "--user", user, lead["id"], "--name", "   "), "the name is blank")
    refused(nbm("users", "add", "bo@example.com", "--name", "   "), "the name is blank")
    assert [lead["name"] for lead in ok_json("leads", "list", "--user", user)] == ["Priya Raman"]
    refused(nbm("plan", "--user", "bo@example.com"), "no user with the email")


def test_csv_import_with_bom_windows_line_endings_and_empty_rows(user: str, tmp_path: Path) -> None:
    csv = tmp_path / "leads.csv"
    csv.write_bytes("\ufeffname,url,notes\r\nAnn Lee,https://x.io/ann,met at a fair\r\n\r\n"
                    "Bad Row,javascript:void(0),\r\nBo Chen,https://x.io/bo,\r\n".encode())
    result = nbm("leads", "import", "--user", user, str(csv), "--json")
    assert result.exit_code == 1, result.output  # a row was refused: the import says so, the others land
    report = json.loads(result.stdout)
    assert (report["added"], [error["line"] for error in report["first_refused"]]) == (2, [4])
    assert [lead["name"] for lead in ok_json("leads", "list", "--user", user)] == ["Ann Lee", "Bo Chen"]
    again = json.loads(nbm("leads", "import", "--user", user, str(csv), "--json").stdout)
    assert (again["added"], again["duplicates"]) == (0, 2)


def test_csv_with_a_wrong_header_is_refused_whole(user: str, tmp_path: Path) -> None:
    csv = tmp_path / "leads.csv"
    csv.write_text("who,where\nAnn,https://x.io/ann\n")
    refused(nbm("leads", "import", "--user", user, str(csv)), "name,url,notes")
    assert ok_json("leads", "list", "--user", user) == []


def _first_action(user: str) -> str:
    ok_json("leads", "add", "--user", user, "Priya Raman", "https://www.linkedin.com/in/priya")
    return ok_json("actions", "list", "--user", user)[0]["id"]


def test_marking_follows_the_state_machine_and_a_repeat_is_a_no_op(user: str) -> None:
    action = _first_action(user)
    sent = ok_json("mark", "--user", user, action, "sent")
    assert (sent["action"]["state"], sent["changed"]) == ("SENT", True)
    assert [a["type"] for a in sent["created"]] == ["FOLLOW_UP"]
    assert ok_json("mark", "--user", user, action, "sent")["changed"] is False
    assert ok_json("mark", "--user", user, action, "done")["action"]["state"] == "DONE"
    refused(nbm("mark", "--user", user, action, "sent"), "this action is done, so you cannot mark it sent")
    assert ok_json("actions", "list", "--user", user, "--state", "DONE")[0]["id"] == action


def test_a_refusal_offers_only_what_the_person_can_do(user: str) -> None:
    """The system alone archives (after 90 days): a refusal never offers it. A snoozed action comes
    back on its date, or at once when the person unsnoozes it: its refusal says both."""
    snoozed = _first_action(user)
    ok_json("leads", "add", "--user", user, "Bo Chen", "https://www.linkedin.com/in/bo")
    (done,) = [action["id"] for action in ok_json("actions", "list", "--user", user) if action["id"] != snoozed]
    ok_json("mark", "--user", user, snoozed, "snooze", "--until", "2026-12-01")
    ok_json("mark", "--user", user, done, "done")
    refused(nbm("mark", "--user", user, snoozed, "done"),
            "this action is snoozed, so you cannot mark it done yet; it comes back in your plan on Tue 1 Dec, "
            "or unsnooze it now")
    refused(nbm("mark", "--user", user, done, "snooze", "--until", "2026-12-01"),
            "this action is done, so you cannot snooze it; nothing more can be done with it")
    ok_json("mark", "--user", user, snoozed, "snooze", "--until", "2027-10-01")  # months away: with its year
    refused(nbm("mark", "--user", user, snoozed, "done"), "it comes back in your plan on Fri 1 Oct 2027, or unsnooze")


def test_unsnooze_by_hand_makes_a_snoozed_action_due_today_and_is_refused_of_an_open_one(user: str) -> None:
    """A lead answers a week into a two-week snooze: unsnoozing makes the action due today, so it can
    be marked at once. An unsnooze of an action that is not snoozed is a repeat or refused, saying why."""
    action = _first_action(user)
    ok_json("mark", "--user", user, action, "sent")
    ok_json("mark", "--user", user, action, "snooze", "--until", "2026-12-09")
    result = nbm("mark", "--user", user, action, "unsnooze")
    assert result.exit_code == 0, result.output
    assert result.output == f"now new, due 2026-11-25: {action}\n"
    (listed,) = [a for a in ok_json("actions", "list", "--user", user) if a["id"] == action]
    assert (listed["state"], listed["due_date"], listed["snooze_until"]) == ("NEW", "2026-11-25", None)
    assert ok_json("mark", "--user", user, action, "unsnooze")["changed"] is False
    assert ok_json("mark", "--user", user, action, "replied")["action"]["state"] == "REPLIED"
    refused(nbm("mark", "--user", user, action, "unsnooze"),
            "this action is replied, so you cannot unsnooze it; you can: mark it done")
    refused(nbm("mark", "--user", user, action, "unsnooze", "--until", "2026-12-01"),
            "only a snooze takes a date; leave the date out to unsnooze it")


def test_unsnoozed_by_hand_after_its_date_before_it_woke_it_is_due_today_not_overdue(user: str) -> None:
    """No plan was made since the snooze ended, so nothing woke the action: unsnoozed by hand, it is
    due today, as the answer says, not on the day its snooze ended."""
    action = _first_action(user)
    ok_json("mark", "--user", user, action, "snooze", "--until", "2026-11-26")
    with time_machine.travel(NOW + timedelta(days=3), tick=False):
        assert nbm("mark", "--user", user, action, "unsnooze").output == f"now new, due 2026-11-28: {action}\n"


def test_replied_on_a_message_the_system_closed_marks_the_one_waiting_now(user: str) -> None:
    """Sending the follow-up closed the outreach (one message waits per lead); Replied asked of the
    outreach goes to the follow-up, and the answer says so before naming it."""
    outreach = _first_action(user)
    ok_json("mark", "--user", user, outreach, "sent")
    (follow_up,) = [action["id"] for action in ok_json("actions", "list", "--user", user, "--state", "NEW")]
    ok_json("mark", "--user", user, follow_up, "sent")

    result = nbm("mark", "--user", user, outreach, "replied")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Priya Raman replied: marked on your message sent Wed 25 Nov, the one that was waiting for their reply",
        f"now replied: {follow_up}", "  next: FOLLOW_UP due 2026-11-25 (Reply to Priya Raman)"]
    assert {a["id"]: a["state"] for a in ok_json("actions", "list", "--user", user)
            if a["id"] in (outreach, follow_up)} == {outreach: "DONE", follow_up: "REPLIED"}


def test_the_same_replied_again_on_a_message_the_system_closed_is_a_repeat_answering_as_things_are(
        user: str) -> None:
    """Run twice (or after Replied was marked on the message that was waiting): the lead's reply is
    recorded since the close, so the second is a no-op, exit 0, answering with the action holding the
    reply as it is now, and nothing more is written (PRODUCT.md: marking the same transition twice)."""
    outreach = _first_action(user)
    ok_json("mark", "--user", user, outreach, "sent")
    (follow_up,) = [action["id"] for action in ok_json("actions", "list", "--user", user, "--state", "NEW")]
    ok_json("mark", "--user", user, follow_up, "sent")
    assert nbm("mark", "--user", user, outreach, "replied").exit_code == 0
    before = ok_json("actions", "list", "--user", user)

    again = nbm("mark", "--user", user, outreach, "replied")

    assert again.exit_code == 0, again.output
    assert again.output == f"already replied: {follow_up}\n"
    repeat = ok_json("mark", "--user", user, outreach, "replied")
    assert (repeat["changed"], repeat["action"]["id"], repeat["created"]) == (False, follow_up, [])
    assert ok_json("actions", "list", "--user", user) == before
    ok_json("mark", "--user", user, follow_up, "done")  # and once it is done, the answer says so
    assert nbm("mark", "--user", user, outreach, "replied").output == f"already done: {follow_up}\n"


def test_snoozing_needs_a_future_date(user: str) -> None:
    action = _first_action(user)
    refused(nbm("mark", "--user", user, action, "snooze"), "snooze needs --until")
    refused(nbm("mark", "--user", user, action, "snooze", "--until", "2026-11-20"), "after")
    refused(nbm("mark", "--user", user, action, "snooze", "--until", "next week"), "YYYY-MM-DD")
    snoozed = ok_json("mark", "--user", user, action, "snooze", "--until", "2026-12-01")
    assert (snoozed["action"]["state"], snoozed["action"]["snooze_until"]) == ("SNOOZED", "2026-12-01")


def test_an_unknown_or_someone_elses_action_gets_the_same_answer(user: str) -> None:
    theirs = _first_action(user)
    assert nbm("users", "add", "bob@example.com", "--name", "Bob").exit_code == 0
    refused(nbm("mark", "--user", "bob@example.com", theirs, "done"), "no such action")
    refused(nbm("mark", "--user", "bob@example.com", "00000000-0000-0000-0000-000000000000", "done"), "no such action")
    refused(nbm("mark", "--user", "bob@example.com", "not-an-id", "done"), "not a valid UUID")
    assert ok_json("actions", "list", "--user", user)[0]["state"] == "NEW"


def test_a_call_brings_its_prep_and_follow_up(user: str) -> None:
    lead = ok_json("leads", "add", "--user", user, "Priya Raman", "https://www.linkedin.com/in/priya")
    call = ok_json("call", "--user", user, lead["id"], "2026-11-27")
    assert sorted((a["type"], a["due_date"]) for a in call["actions"]) == [
        ("CALL_PREP", "2026-11-26"), ("POST_CALL", "2026-11-30")]
    assert ok_json("call", "--user", user, lead["id"], "2026-11-27")["created"] is False


def test_a_call_with_a_snoozed_lead_says_the_lead_is_active_again(user: str) -> None:
    lead = ok_json("leads", "add", "--user", user, "Priya Raman", "https://www.linkedin.com/in/priya")
    ok_json("leads", "snooze", "--user", user, lead["id"], "--until", "2026-12-15")
    logged = nbm("call", "--user", user, lead["id"], "2026-11-27")
    assert logged.exit_code == 0 and "the lead was snoozed and is active again" in logged.output
    assert ok_json("leads", "list", "--user", user)[0]["status"] == "ACTIVE"


def test_capacity_override_resizes_todays_plan(user: str) -> None:
    for n in range(4):
        ok_json("leads", "add", "--user", user, f"Lead {n}", f"https://x.io/{n}")
    assert len(ok_json("plan", "--user", user)["items"]) == 4
    micro = ok_json("plan", "--user", user, "--capacity", "micro")
    assert (micro["capacity"], len(micro["items"])) == ("micro", 1)
    refused(nbm("plan", "--user", user, "--capacity", "huge"), "huge")


def test_streak_and_summary_answer_for_a_new_user(user: str, service: Session) -> None:
    assert ok_json("streak", "--user", user)["streak"] == 0
    # Added today, Wed 25 Nov: last week ended before she came, and nothing is made for it.
    refused(nbm("summary", "--user", user), "the week of Mon 16 Nov ended before you joined on Wed 25 Nov; your "
            "first weekly summary comes on Mon 30 Nov and covers the week you joined (23–29 Nov)")
    refused(nbm("summary", "--user", user, "--week", "2026-11-09"), "the week of Mon 9 Nov ended before you joined")
    assert service.scalars(select(WeeklySummary)).all() == []
    refused(nbm("summary", "--user", user, "--week", "2026-11-18"), "Monday")


NO_SUCH_ID = "00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize("args", [
    ("plan", "--date", "0001-01-01"),
    ("plan", "--date", "0001-01-02"),
    ("plan", "--date", "9999-12-31"),
    ("plan", "--date", "1999-12-31"),
    ("summary", "--week", "0001-01-01"),
    ("summary", "--week", "9999-12-27"),
    ("calendar", "sync", "--date", "2100-01-01"),
    ("call", NO_SUCH_ID, "0001-01-01"),
    ("leads", "snooze", NO_SUCH_ID, "--until", "9999-12-31"),
    ("mark", NO_SUCH_ID, "snooze", "--until", "9999-12-31"),
], ids=lambda args: " ".join(arg for arg in args if arg != NO_SUCH_ID))
def test_a_date_outside_the_years_the_product_handles_is_refused_saying_which_it_accepts(
    user: str, service: Session, args: tuple[str, ...]
) -> None:
    refused(nbm(*args, "--user", user), "use a date from 2000-01-01 to 2099-12-31")
    assert service.scalars(select(DailyPlan)).all() == []
    assert service.scalars(select(WeeklySummary)).all() == []


def test_the_first_and_last_dates_accepted_reach_the_plan(user: str) -> None:
    """The first is long over, so it is answered as a past day without a plan (tests/test_cli_past_plans.py)."""
    refused(nbm("plan", "--user", user, "--date", "2000-01-01"),
            "no plan was made for Sat 1 Jan 2000, and none is made for a day that is over")
    assert ok_json("plan", "--user", user, "--date", "2099-12-31")["date"] == "2099-12-31"


def test_streak_and_plan_say_the_streak_as_of_the_users_today(user: str, service: Session) -> None:
    """Nothing done on Wednesday: on Thursday the streak is over, though the hourly housekeeping that
    stores its 0 has not run yet; on Wednesday it still stands (the day is not over)."""
    make_streak(get_user_by_email(service, user), NINE_WORK_DAYS)
    for now, streak in ((NOW, 9), (NOW + timedelta(days=1), 0)):
        with time_machine.travel(now, tick=False):
            assert f"streak {streak} days)" in nbm("plan", "--user", user).output
            assert ok_json("plan", "--user", user)["streak"] == streak
            assert ok_json("streak", "--user", user)["streak"] == streak


def test_streak_help_says_what_counts_as_the_product_counts_it() -> None:
    result = nbm("streak", "--help")
    assert result.exit_code == 0
    said = " ".join(result.output.split())
    assert "consecutive work days" not in said
    assert "days in a row (your local days) with something done or replied" in said
    assert "A day off (one that is not among your work days) neither breaks it nor is needed" in said


def test_the_demo_prints_a_plan_a_streak_and_last_weeks_summary(connection: Connection) -> None:
    result = nbm("demo")
    assert result.exit_code == 0, result.output
    assert "★ Fast Win" in result.output and "Streak: " in result.output and "Your week of 16–22 Nov" in result.output
    assert "Reply to Hannah Becker" in result.output
    assert nbm("demo").exit_code == 0  # a second run replaces the demo user


def test_bench_help_lists_the_benchmarks_and_each_names_itself() -> None:
    """`nbm bench --help` was refused ("'--help' is not one of …"), and a bench's own help named
    its program "nbm" (README: every command has --help)."""
    listed = nbm("bench", "--help")
    assert listed.exit_code == 0, listed.output
    assert all(f"  {name} " in listed.output for name in ("morning", "press", "digest", "plan", "tick", "import"))
    own = nbm("bench", "plan", "--help")
    assert own.exit_code == 0, own.output
    assert own.output.startswith("usage: nbm bench plan [-h]")
