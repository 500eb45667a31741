"""A plan built just after the user's midnight holds what wakes that day. PRODUCT.md: SNOOZED goes
"back to NEW on that local date", a lead "unsnoozes on that date in the user's timezone", and a cold
lead gets a "NURTURE due today". The hourly housekeeping may not have served the user's new date yet,
and the morning never rebuilds a plan that exists: so every build of a plan first brings back, for
its user, what wakes on its day (core.housekeeping.wake_due), whatever builds it (/nbm today, nbm
plan, the morning's batch)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from core.housekeeping import run_housekeeping
from core.models import ActionEvent, ActionState, ActionType, LeadStatus, User
from core.planner.batch import plan_users
from tests.factories import make_action, make_lead, make_user
from tests.slack import conftest as slack_fixtures
from tests.slack.conftest import command
from tests.slack.fake_slack import FakeSlack
from tests.test_cli_core import ok_json

WEDNESDAY = date(2026, 11, 25)
#: Ten past midnight on Wed 25 Nov in London (UTC in November): before the hour's housekeeping.
LONDON_MIDNIGHT = datetime(2026, 11, 25, 0, 10, tzinfo=UTC)
#: Ten past midnight on Wed 25 Nov in New York.
NEW_YORK_MIDNIGHT = datetime(2026, 11, 25, 5, 10, tzinfo=UTC)
EMAIL = "ann@example.com"

# The fixtures of tests/slack (signed requests, the fake Web API), which pytest finds here by name.
fake_server, fake, slack_env, oauth_env, web, installed, ann = (
    slack_fixtures.fake_server, slack_fixtures.fake, slack_fixtures.slack_env, slack_fixtures.oauth_env,
    slack_fixtures.web, slack_fixtures.installed, slack_fixtures.ann)


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(LONDON_MIDNIGHT, tick=False) as traveller:
        yield traveller


def waking_book(session: Session, user: User) -> None:
    """Bea (a lead snoozed until today, her outreach overdue), Carl (his follow-up snoozed until
    today) and Dan (a lead last touched 21 days ago: cold today, not yesterday)."""
    bea = make_lead(session, user, name="Bea Stone", status=LeadStatus.SNOOZED, snooze_until=WEDNESDAY)
    make_action(session, user, bea, due_date=WEDNESDAY - timedelta(days=5),
                created_at=LONDON_MIDNIGHT - timedelta(days=5))
    carl = make_lead(session, user, name="Carl Diaz")
    make_action(session, user, carl, action_type=ActionType.FOLLOW_UP, state=ActionState.SNOOZED,
                snooze_until=WEDNESDAY, due_date=WEDNESDAY)
    make_lead(session, user, name="Dan Roe", created_at=LONDON_MIDNIGHT - timedelta(days=21))


WOKEN = {"Reach out to Bea Stone", "Follow up with Carl Diaz", "Reconnect with Dan Roe"}


def test_nbm_today_just_after_midnight_plans_what_woke_at_midnight(
    web: FlaskClient, fake: FakeSlack, ann: User, service: Session
) -> None:
    waking_book(service, ann)
    command(web, fake, "today")
    (posted,) = fake.calls_to("chat.postMessage")
    assert posted.args["text"] == "Your next best moves for Wed 25 Nov: 3 actions, ~20 min"
    assert all(title in str(posted.args["blocks"]) for title in WOKEN)


def test_the_mornings_batch_plans_what_woke_and_the_hour_then_wakes_nothing_twice(service: Session) -> None:
    user = make_user(service, timezone="Europe/London")
    waking_book(service, user)
    plan = plan_users(service, user_ids=[user.id], at=LONDON_MIDNIGHT)[user.id]
    assert {item.action.action_type for item in plan.items} == {
        ActionType.OUTREACH, ActionType.FOLLOW_UP, ActionType.NURTURE}
    hour = run_housekeeping(service, at=LONDON_MIDNIGHT + timedelta(minutes=50))
    assert (hour.leads_unsnoozed, hour.actions_unsnoozed, hour.nurtures_created) == (0, 0, 0)


# --- the CLI ----------------------------------------------------------------------------------

def plan_titles(*args: str) -> set[str]:
    plan: Any = ok_json("plan", "--user", EMAIL, *args)
    return {item["title"] for item in plan["items"]}


def outreach_of(lead_name: str) -> str:
    """The id of the action that came with the lead (its outreach)."""
    leads: Any = ok_json("leads", "list", "--user", EMAIL)
    lead_id = next(lead["id"] for lead in leads if lead["name"] == lead_name)
    actions: Any = ok_json("actions", "list", "--user", EMAIL)
    return str(next(a["id"] for a in actions if a["lead_id"] == lead_id))


def test_nbm_plan_just_after_midnight_plans_what_woke_once(
    connection: Connection, clock: time_machine.Traveller, service: Session
) -> None:
    """Snoozed by the user on Monday until Wednesday, touched last 21 days before: all in the plan
    built at 00:10 on Wednesday, each woken once (one system event), nothing woken twice by the hour."""
    clock.move_to(datetime(2026, 11, 4, 15, tzinfo=UTC))
    ok_json("users", "add", EMAIL, "--name", "Ann Lee", "--tz", "America/New_York")
    ok_json("leads", "add", "--user", EMAIL, "Dan Roe", "https://x.io/dan")
    ok_json("mark", "--user", EMAIL, outreach_of("Dan Roe"), "done")
    clock.move_to(datetime(2026, 11, 23, 15, tzinfo=UTC))
    for name in ("Bea Stone", "Carl Diaz"):
        ok_json("leads", "add", "--user", EMAIL, name, f"https://x.io/{name.split()[0].lower()}")
    ok_json("leads", "snooze", "--user", EMAIL, "Bea Stone", "--until", WEDNESDAY.isoformat())
    carl = outreach_of("Carl Diaz")
    ok_json("mark", "--user", EMAIL, carl, "snooze", "--until", WEDNESDAY.isoformat())
    clock.move_to(NEW_YORK_MIDNIGHT)
    assert plan_titles() == {"Reach out to Bea Stone", "Reach out to Carl Diaz", "Reconnect with Dan Roe"}
    run_housekeeping(service, at=NEW_YORK_MIDNIGHT + timedelta(minutes=50))
    woke = service.scalars(select(ActionEvent).where(ActionEvent.action_id == uuid.UUID(carl),
                                                     ActionEvent.from_state == ActionState.SNOOZED)).all()
    assert [(e.to_state, e.channel.value) for e in woke] == [(ActionState.NEW, "system")]


def test_a_plan_built_ahead_for_tomorrow_wakes_nothing_before_its_date(connection: Connection) -> None:
    """The rule where the spec is silent: a plan for a later day brings back what is due now, and
    leaves what wakes on that later day snoozed until it comes (the user still sees it snoozed today)."""
    ok_json("users", "add", EMAIL, "--name", "Ann Lee", "--tz", "Europe/London")
    ok_json("leads", "add", "--user", EMAIL, "Bea Stone", "https://x.io/bea")
    bea = outreach_of("Bea Stone")
    ok_json("mark", "--user", EMAIL, bea, "snooze", "--until", (WEDNESDAY + timedelta(days=1)).isoformat())
    assert plan_titles("--date", (WEDNESDAY + timedelta(days=1)).isoformat()) == set()
    actions: Any = ok_json("actions", "list", "--user", EMAIL)
    assert [a["state"] for a in actions] == ["SNOOZED"]
