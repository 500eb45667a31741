"""Calls found in the calendar every hour: the tick's housekeeping enqueues a search per user who has call
detection on, a real RQ worker runs it against a real calendar server, and a meeting becomes one call."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner
from rq import Queue, SimpleWorker
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cli import main
from core import queue as queue_module
from core.access import TRIAL_END_SLACK
from core.calendars.service import connect_ics
from core.jobs.tick import tick
from core.models import (
    Action,
    ActionType,
    LoggedCall,
    SlackUserLink,
    SubscriptionStatus,
    User,
)
from core.preferences import set_call_detection
from tests.billing.conftest import billing, stripe, stripe_server
from tests.calendars.feeds import REQUESTED
from tests.factories import make_action, make_lead, make_subscription, make_user
from tests.jobs.conftest import run_worker
from tests.jobs.test_failures import slack_on
from tests.slack.conftest import TEAM, fake, fake_server
from tests.slack.fake_slack import FakeSlack

#: Fixtures of the billing and Slack tests, used here.
__all__ = ["billing", "fake", "fake_server", "slack_on", "stripe", "stripe_server"]

MONDAY = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 06:00 in London

FEED = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:intro-call-1\r
DTSTAMP:20261101T080000Z\r
DTSTART:20261125T140000Z\r
DTEND:20261125T143000Z\r
SUMMARY:Intro\r
ORGANIZER:mailto:dana@example.com\r
ATTENDEE;PARTSTAT=ACCEPTED:mailto:ann@acme.io\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_the_hourly_search_turns_a_meeting_into_one_call(
    service: Session, queue: Queue, outbox: Path, live_feed: tuple[str, dict[str, bytes]],
) -> None:
    address, feeds = live_feed
    feeds["dana.ics"] = FEED
    with time_machine.travel(MONDAY, tick=False):
        dana = make_user(service, email="dana@example.com", timezone="Europe/London")
        lead = make_lead(service, dana, name="Ann Lee", url="mailto:ann@acme.io")
        connect_ics(service, user=dana, url=f"{address}/dana.ics")
        set_call_detection(service, user=dana, on=True)
        for minutes in (0, 20):  # two ticks in the same hour: one search
            tick(at=MONDAY + timedelta(minutes=minutes), queue=queue)
            run_worker(queue)

    calls = service.scalars(select(LoggedCall).where(LoggedCall.user_id == dana.id)).all()
    assert [(call.lead_id, call.call_date) for call in calls] == [(lead.id, date(2026, 11, 25))]
    actions = service.scalars(select(Action).where(Action.logged_call_id == calls[0].id)).all()
    assert sorted((a.action_type, a.due_date) for a in actions) == [
        (ActionType.CALL_PREP, date(2026, 11, 24)), (ActionType.POST_CALL, date(2026, 11, 26))]


def test_a_morning_due_goes_before_the_hours_call_searches(
    service: Session, queue: Queue, outbox: Path, live_feed: tuple[str, dict[str, bytes]],
) -> None:
    """The searches wait in a queue of their own, which a worker takes only when nothing else waits."""
    address, feeds = live_feed
    feeds["dana.ics"] = FEED
    seven = MONDAY + timedelta(hours=1)  # 07:00 in London; the morning is due at 07:30
    with time_machine.travel(seven, tick=False):
        dana = make_user(service, email="dana@example.com", timezone="Europe/London")
        make_lead(service, dana, name="Ann Lee", url="mailto:ann@acme.io")
        connect_ics(service, user=dana, url=f"{address}/dana.ics")
        set_call_detection(service, user=dana, on=True)
        tick(at=seven, queue=queue)
        assert one_job(queue)  # the hour's housekeeping: it enqueues Dana's search
    with time_machine.travel(seven + timedelta(minutes=30), tick=False):
        tick(at=seven + timedelta(minutes=30), queue=queue)
        while not list(outbox.glob("*.eml")):
            assert one_job(queue)
        searched = service.scalars(select(LoggedCall).where(LoggedCall.user_id == dana.id)).all()
        run_worker(queue)

    assert searched == []  # the email went first
    assert len(service.scalars(select(LoggedCall).where(LoggedCall.user_id == dana.id)).all()) == 1


def one_job(queue: Queue) -> bool:
    """One job, the most urgent waiting, as a worker takes it; False if none waited."""
    queues = [queue_module.get_queue(name) for name in queue_module.QUEUE_NAMES]
    return bool(SimpleWorker(queues, connection=queue.connection).work(burst=True, max_jobs=1))


def test_no_search_reads_the_calendar_of_a_user_without_service(
    service: Session, queue: Queue, outbox: Path, billing: Path, live_feed: tuple[str, dict[str, bytes]],
) -> None:
    """Billing on: Dana subscribes, Eve's trial ended without a subscription. Only Dana's calendar is read."""
    address, feeds = live_feed
    with time_machine.travel(MONDAY, tick=False):
        searching: dict[str, User] = {}
        for name, status in (("dana", SubscriptionStatus.ACTIVE), ("eve", SubscriptionStatus.CANCELED)):
            feeds[f"{name}.ics"] = FEED
            user = searching[name] = make_user(service, email=f"{name}@example.com", timezone="Europe/London",
                                               created_at=MONDAY - timedelta(days=30))
            make_lead(service, user, name="Ann Lee", url="mailto:ann@acme.io")
            connect_ics(service, user=user, url=f"{address}/{name}.ics")
            set_call_detection(service, user=user, on=True)
            make_subscription(service, user, status, current_period_end=MONDAY + timedelta(days=20))
        read_before = len(REQUESTED)
        tick(at=MONDAY, queue=queue)
        run_worker(queue)

    assert [path.rsplit("/", 1)[-1] for path in REQUESTED[read_before:]] == ["dana.ics"]
    for name, found in (("dana", [ActionType.CALL_PREP, ActionType.POST_CALL]), ("eve", [])):
        assert sorted(service.scalars(select(Action.action_type).where(
            Action.user_id == searching[name].id, Action.logged_call_id.is_not(None)))) == found


@pytest.mark.parametrize(("runs_after", "searched"), [(timedelta(minutes=20), True), (timedelta(minutes=45), False)],
                         ids=["runs-with-service", "runs-after-it-ended"])
def test_a_search_queued_before_a_trial_ended_reads_no_calendar_once_it_has(
    service: Session, queue: Queue, outbox: Path, billing: Path, live_feed: tuple[str, dict[str, bytes]],
    runs_after: timedelta, searched: bool,
) -> None:
    """Dana's trial gives service until 06:30 (its end and a day's slack, core.access). The 06:00
    housekeeping queues her search while she has it; a search that runs at 06:45 (a busy worker, a
    morning first) read her calendar and logged her call for a user with no plan to put it in."""
    address, feeds = live_feed
    feeds["dana.ics"] = FEED
    with time_machine.travel(MONDAY, tick=False):
        dana = make_user(service, email="dana@example.com", timezone="Europe/London")
        make_lead(service, dana, name="Ann Lee", url="mailto:ann@acme.io")
        connect_ics(service, user=dana, url=f"{address}/dana.ics")
        set_call_detection(service, user=dana, on=True)
        trial_over = MONDAY + timedelta(minutes=30) - TRIAL_END_SLACK
        make_subscription(service, dana, SubscriptionStatus.TRIALING, trial_ends_at=trial_over,
                          current_period_end=trial_over)
        tick(at=MONDAY, queue=queue)
        assert one_job(queue)  # the hour's housekeeping, which queues Dana's search
    read_before = len(REQUESTED)
    with time_machine.travel(MONDAY + runs_after, tick=False):
        run_worker(queue)

    assert [path.rsplit("/", 1)[-1] for path in REQUESTED[read_before:]] == (["dana.ics"] if searched else [])
    logged = service.scalars(select(LoggedCall).where(LoggedCall.user_id == dana.id)).all()
    assert len(logged) == (1 if searched else 0)


def test_a_call_found_for_tomorrow_puts_its_prep_in_todays_plan_at_once(
    service: Session, queue: Queue, outbox: Path, slack_on: FakeSlack, live_feed: tuple[str, dict[str, bytes]],
) -> None:
    """Today's plan is made before the hour's search; the meeting it finds tomorrow has its prep due today,
    which the plan (as `nbm plan` shows it) and App Home show once the search is done."""
    address, feeds = live_feed
    feeds["dana.ics"] = FEED.replace(b"20261125T14", b"20261124T14")  # Tuesday: the prep is due Monday, today
    with time_machine.travel(MONDAY, tick=False):
        dana = _dana_in_slack(service, feed=f"{address}/dana.ics")
        before = _plan_titles(dana)
        published = len(slack_on.calls_to("views.publish"))
        tick(at=MONDAY, queue=queue)
        run_worker(queue)
        after = _plan_titles(dana)

    prep = "Prepare for your call with Ann Lee on Tue 24 Nov"
    assert before and prep not in before
    assert after == [*before, prep]  # the plan already made, refreshed: it keeps Bea's outreach
    home = slack_on.calls_to("views.publish")[published:]
    assert home and prep in str(home[-1].args["view"])


def _dana_in_slack(service: Session, *, feed: str) -> User:
    """Dana, in Slack, with call detection on her iCal ``feed``: lead Ann (whose address the feed's
    meeting invites) and Bea, whose outreach is due today."""
    dana = make_user(service, email="dana@example.com", timezone="Europe/London")
    dana.settings.slack_enabled = True
    service.add(SlackUserLink(user_id=dana.id, team_id=TEAM, slack_user_id="U1"))
    make_lead(service, dana, name="Ann Lee", url="mailto:ann@acme.io")
    bea = make_lead(service, dana, name="Bea Stone", url="https://www.linkedin.com/in/bea")
    make_action(service, dana, bea, due_date=MONDAY.date())
    connect_ics(service, user=dana, url=feed)
    set_call_detection(service, user=dana, on=True)
    return dana


def _plan_titles(user: User) -> list[str]:
    """Today's plan as `nbm plan` shows it (made by the first call, as before the morning)."""
    shown = CliRunner().invoke(main, ["plan", "--user", user.email, "--json"], catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    return [item["title"] for item in json.loads(shown.output)["items"]]


def test_a_call_cancelled_in_the_calendar_leaves_todays_plan_and_its_slack_messages(
    service: Session, queue: Queue, outbox: Path, slack_on: FakeSlack, live_feed: tuple[str, dict[str, bytes]],
) -> None:
    """The morning's plan DM shows the prep of tomorrow's call; the meeting then goes from the calendar.
    The next hour's search deletes the untouched prep, and the plan DM and App Home are redrawn without
    it (they kept showing it, with its buttons, until something else redrew them)."""
    address, feeds = live_feed
    feeds["dana.ics"] = FEED.replace(b"20261125T14", b"20261124T14")  # Tuesday: the prep is due Monday, today
    morning, eight = MONDAY + timedelta(hours=1, minutes=30), MONDAY + timedelta(hours=2)  # 07:30, 08:00 London
    prep = "Prepare for your call with Ann Lee on Tue 24 Nov"
    with time_machine.travel(MONDAY, tick=False):
        dana = _dana_in_slack(service, feed=f"{address}/dana.ics")
        tick(at=MONDAY, queue=queue)
        run_worker(queue)
    with time_machine.travel(morning, tick=False):
        tick(at=morning, queue=queue)
        run_worker(queue)
    (posted,) = slack_on.calls_to("chat.postMessage")
    assert prep in str(posted.args["blocks"])
    updated, published = len(slack_on.calls_to("chat.update")), len(slack_on.calls_to("views.publish"))

    feeds["dana.ics"] = FEED.split(b"BEGIN:VEVENT")[0] + b"END:VCALENDAR\r\n"  # the meeting is gone
    with time_machine.travel(eight, tick=False):
        tick(at=eight, queue=queue)
        run_worker(queue)
        after = _plan_titles(dana)

    assert after == ["Reach out to Bea Stone"]
    dm = [call for call in slack_on.calls_to("chat.update")[updated:] if call.args["channel"] == posted.args["channel"]]
    assert dm and prep not in str(dm[-1].args["blocks"]) and "Bea Stone" in str(dm[-1].args["blocks"])
    home = slack_on.calls_to("views.publish")[published:]
    assert home and prep not in str(home[-1].args["view"]) and "Bea Stone" in str(home[-1].args["view"])


def test_a_user_without_service_is_not_told_her_calendar_is_searched_every_hour(
    service: Session, billing: Path, live_feed: tuple[str, dict[str, bytes]],
) -> None:
    """The hourly search skips Eve, whose subscription was cancelled: `nbm calendar calls on` says so, and
    that `nbm calendar sync` still searches it."""
    address, feeds = live_feed
    feeds["eve.ics"] = FEED
    with time_machine.travel(MONDAY, tick=False):
        eve = make_user(service, email="eve@example.com", timezone="Europe/London")
        connect_ics(service, user=eve, url=f"{address}/eve.ics")
        make_subscription(service, eve, SubscriptionStatus.CANCELED)
        turned = CliRunner().invoke(main, ["calendar", "calls", "--user", eve.email, "on"])
    assert turned.output == ("Call detection is on, but your calendars are not searched for calls every hour while "
                             "your morning plans are paused.\n`nbm calendar sync` searches them whenever you run it.\n")
