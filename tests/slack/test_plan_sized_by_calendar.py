"""Today's plan made from Slack before the morning run is sized by the calendar, as the morning's is
(core.planner.sizing): the morning never overwrites a plan, so the first one made is the day's. The
calendar is tests/calendars/data/weekly.ics, busy on Mondays only: 8 free hours today, a heavy day
(8 actions) where a plan made without it has the default 5."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.db import unit_of_work
from core.models import CalendarConnectionStatus, CapacityLevel, User
from core.planner.service import get_plan
from tests.calendars.feeds import REQUESTED
from tests.factories import make_calendar_connection
from tests.slack.conftest import add_leads, command, event, interact, plan_of, replies, view_submission
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")

NINE = ("Bea Stone", "Carl Diaz", "Dee Ng", "Eli Park", "Fay Wu", "Gus Roe", "Hal Ito", "Ida Moss", "Jo Kerr")


@pytest.fixture()
def ann_with_calendar(web: FlaskClient, fake: FakeSlack, ann: User, server: str) -> User:
    """Ann, with her iCal address connected from Slack and no plan made yet today."""
    command(web, fake, f"connect ics <{server}/cal/weekly.ics>")
    fake.calls.clear()
    return ann


def test_nbm_today_before_the_morning_sizes_the_plan_by_the_calendar(
    web: FlaskClient, fake: FakeSlack, ann_with_calendar: User
) -> None:
    add_leads(ann_with_calendar, *NINE)
    command(web, fake, "today")
    assert replies(fake) == ["📬 Today's plan is in your DM with me: 8 actions, ~80 min."]
    view = plan_of(ann_with_calendar)
    assert (view.capacity, view.free_minutes) == (CapacityLevel.HEAVY, 480)


def test_opening_app_home_before_the_morning_sizes_the_plan_by_the_calendar(
    web: FlaskClient, fake: FakeSlack, ann_with_calendar: User
) -> None:
    add_leads(ann_with_calendar, *NINE)
    event(web, {"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home"})
    assert "8 actions, ~80 min" in str(fake.calls_to("views.publish")[-1].args["view"]["blocks"])


def test_nbm_add_before_the_morning_answers_at_once_then_makes_a_plan_sized_by_the_calendar(
    web: FlaskClient, fake: FakeSlack, ann_with_calendar: User
) -> None:
    """As the add-lead form does: the answer does not wait on the calendar."""
    add_leads(ann_with_calendar, *NINE[:5])
    command(web, fake, "add Dana Fox https://dana.io")
    assert replies(fake) == [
        "➕ Added <https://dana.io|Dana Fox>. Reaching out to them is due today; today's plan is being made now, "
        "from your calendar's free time if it can be read (App Home shows it)."]
    view = plan_of(ann_with_calendar)
    assert (view.capacity, len(view.items)) == (CapacityLevel.HEAVY, 6)
    assert "Dana Fox" in str(fake.calls_to("views.publish")[-1].args["view"]["blocks"])


def test_a_refused_nbm_add_or_typed_mark_reads_no_calendar_and_makes_no_plan(
    web: FlaskClient, fake: FakeSlack, ann_with_calendar: User
) -> None:
    """Reading a calendar may take seconds: a request refused whatever it says does not wait on it."""
    add_leads(ann_with_calendar, "Bea Stone")
    read_before = len(REQUESTED)

    command(web, fake, "add Dana Fox javascript:alert(1)")
    command(web, fake, "add Bea https://www.linkedin.com/in/bea-stone")
    command(web, fake, "done Zed Quinn")
    command(web, fake, "snooze 1 someday")
    command(web, fake, "replied")

    assert replies(fake) == [
        "Only https://, http:// and mailto: links are accepted; 'javascript:alert(1)' is not one",
        "You already have Bea Stone with the link https://www.linkedin.com/in/bea-stone",
        "No lead is called 'Zed Quinn'; use a lead's name or link (`/nbm leads` lists yours), or a number from "
        "today's plan (`/nbm today`)",
        "'someday' is not a snooze date; use 'tomorrow', '3d' or '3 days', '2w' or '2 weeks', 'monday' or 'next "
        "monday' (any weekday), 'next work day', '3 work days', 'next week', or a date as YYYY-MM-DD",
        "Say which action: its number in today's plan (`/nbm done 2`) or a lead's name or link (`/nbm done Ann Lee`)",
    ]
    assert len(REQUESTED) == read_before
    with unit_of_work(user_id=ann_with_calendar.id) as session:
        assert get_plan(session, user=session.get_one(User, ann_with_calendar.id)) is None

    command(web, fake, "done Bea")  # accepted: today's plan is made first, sized by the calendar
    assert replies(fake)[-1].startswith("✅ Marked done")
    assert len(REQUESTED) > read_before and plan_of(ann_with_calendar).capacity == CapacityLevel.HEAVY


def test_the_add_lead_form_answers_at_once_then_makes_the_plan_sized_by_the_calendar(
    web: FlaskClient, fake: FakeSlack, ann_with_calendar: User
) -> None:
    """The form must be answered within Slack's 3 s: the calendar is read after the answer."""
    add_leads(ann_with_calendar, *NINE[:5])
    answer = interact(web, view_submission("nbm_add_lead", {"name": {"value": "Dana Fox"},
                                                            "url": {"value": "https://dana.io"}})).get_json()
    assert answer["view"]["blocks"][0]["text"]["text"] == (
        "➕ Added <https://dana.io|Dana Fox>. Reaching out to them is due today; today's plan is being made now, "
        "from your calendar's free time if it can be read (App Home shows it).")
    view = plan_of(ann_with_calendar)
    assert (view.capacity, len(view.items)) == (CapacityLevel.HEAVY, 6)
    assert "Dana Fox" in str(fake.calls_to("views.publish")[-1].args["view"]["blocks"])


def test_connecting_a_calendar_promises_no_more_than_its_plans_keep(
    web: FlaskClient, fake: FakeSlack, ann: User, server: str
) -> None:
    """Today's plan, once made, keeps its size: connecting a calendar sizes the plans from tomorrow."""
    add_leads(ann, *NINE)
    command(web, fake, "today")
    fake.calls.clear()
    command(web, fake, f"connect ics <{server}/cal/weekly.ics>")
    assert replies(fake) == ["✅ Connected your calendar at 127.0.0.1. Today's plan keeps the size it was made with; "
                             "from your next plan on, the free time in your working hours (or the capacity you set "
                             "for a day) sizes your plans."]
    command(web, fake, "today")
    assert replies(fake)[-1] == ("📬 Today's plan is in your DM with me, up to date: 5 actions, ~50 min. "
                                 "<https://acme.slack.com/archives/DU1/p1700000000000001|Open it>")


def test_a_calendar_connected_before_todays_plan_is_made_says_it_sizes_todays(
    web: FlaskClient, fake: FakeSlack, ann: User, server: str
) -> None:
    add_leads(ann, *NINE)
    command(web, fake, f"connect ics <{server}/cal/weekly.ics>")
    command(web, fake, "today")
    assert replies(fake) == [
        "✅ Connected your calendar at 127.0.0.1. From today's plan on, the free time in your working hours (or the "
        "capacity you set for a day) sizes your plans.",
        "📬 Today's plan is in your DM with me: 8 actions, ~80 min."]


def test_a_calendar_connected_beside_an_expired_one_says_the_default_sizes_the_plans(
    web: FlaskClient, fake: FakeSlack, ann: User, server: str, service: Session
) -> None:
    """The planner does not size a day by the calendars it can read while another is expired."""
    make_calendar_connection(service, ann, status=CalendarConnectionStatus.EXPIRED)
    add_leads(ann, *NINE)
    command(web, fake, f"connect ics <{server}/cal/weekly.ics>")
    command(web, fake, "today")
    assert replies(fake) == [
        "✅ Connected your calendar at 127.0.0.1. Your Google Calendar needs reconnecting, so until then your next "
        "plans use the default capacity of 5 actions a day (or the capacity you set for a day).",
        "📬 Today's plan is in your DM with me: 5 actions, ~50 min."]
