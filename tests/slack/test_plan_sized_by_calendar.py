"""Today's plan made from Slack before the morning run is sized by the calendar, as the morning's is
(core.planner.sizing): the morning never overwrites a plan, so the first one made is the day's. The
calendar is tests/calendars/data/weekly.ics, busy on Mondays only: 8 free hours today, a heavy day
(8 actions) where a plan made without it has the default 5."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from core.models import CapacityLevel, User
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


def test_nbm_add_before_the_morning_makes_a_plan_sized_by_the_calendar(
    web: FlaskClient, fake: FakeSlack, ann_with_calendar: User
) -> None:
    add_leads(ann_with_calendar, *NINE[:5])
    command(web, fake, "add Dana Fox https://dana.io")
    assert replies(fake) == ["➕ Added <https://dana.io|Dana Fox>. Reaching out to them is in today's plan."]
    assert len(plan_of(ann_with_calendar).items) == 6


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
    assert replies(fake) == ["✅ Connected your calendar at 127.0.0.1: from tomorrow, its free time in your working "
                             "hours sizes your plan."]
    command(web, fake, "today")
    assert replies(fake)[-1] == "📬 Today's plan is in your DM with me: 5 actions, ~50 min."
