"""Billing in Slack: `/nbm billing`, App Home, and the notices by DM; requests signed as Slack signs them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from rq import Queue
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from core.billing.trial import start_trial
from core.calendars.call_detection import FINDS
from core.db import unit_of_work
from core.models import CalendarProvider, SlackInstallation, SubscriptionStatus, User
from core.preferences import set_call_detection
from core.users import find_user_by_email
from tests.billing.conftest import deliver, emails
from tests.billing.fake_stripe import FakeStripe
from tests.factories import make_calendar_connection, make_subscription
from tests.jobs.conftest import queue, redis, redis_url, run_worker
from tests.slack.conftest import (
    ann,
    command,
    event,
    fake,
    fake_server,
    installed,
    interact,
    replies,
    slack_env,
    view_submission,
)
from tests.slack.fake_slack import FakeSlack

#: Fixtures of the Slack and job tests, used here.
__all__ = ["ann", "fake", "fake_server", "installed", "queue", "redis", "redis_url", "slack_env"]


@pytest.fixture()
def slack_web(clock: time_machine.Coordinates, billing: Path, slack_env: Callable[..., None],
              connection: Connection) -> FlaskClient:
    """Slack (one workspace, OAuth) and billing both on."""
    slack_env(SLACK_CLIENT_ID="111.222", SLACK_CLIENT_SECRET="client-secret")
    from bot.web import create_app

    return create_app().test_client()


def _button(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    (found,) = [b["accessory"] for b in blocks if b.get("accessory", {}).get("type") == "button"]
    return found


def test_nbm_billing_says_where_the_user_stands_with_a_button_to_subscribe(
    slack_web: FlaskClient, fake: FakeSlack, ann: User, stripe: FakeStripe
) -> None:
    start_trial(ann.id)
    command(slack_web, fake, "billing")
    assert replies(fake) == ["Your free trial runs until Wed 9 Dec. Subscribe to keep your morning plan after it."]
    (answer,) = fake.calls_to("respond")
    button = _button(answer.args["blocks"])
    assert button["text"]["text"] == "Subscribe" and button["url"].startswith("https://nbm.test/billing/")
    page = slack_web.get(button["url"].removeprefix("https://nbm.test"))
    assert page.status_code == 200 and "Subscribe" in page.get_data(as_text=True)
    assert stripe.calls("POST", "/v1/checkout") == []  # opening the page makes no session


def test_app_home_leads_with_a_pause_banner_once_service_has_ended(
    slack_web: FlaskClient, fake: FakeSlack, ann: User, stripe: FakeStripe, service: Session,
    clock: time_machine.Coordinates,
) -> None:
    start_trial(ann.id)
    (trial,) = stripe.subscriptions
    clock.shift(timedelta(days=14, hours=1))
    deliver(slack_web, stripe.event("customer.subscription.deleted", stripe.end_trial_without_payment_method(trial)))
    dm = fake.calls_to("chat.postMessage")[-1]
    assert dm.args["text"].startswith("Your NextBestMove trial has ended. Your morning plans are paused.")

    event(slack_web, {"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home"})
    (published,) = fake.calls_to("views.publish")
    blocks = published.args["view"]["blocks"]
    assert blocks[0]["text"]["text"] == ("⏸️ Your trial has ended, so your morning plans are paused. Subscribe to "
                                         "get them again; your leads and history are all still here.")
    assert _button(blocks[:1])["text"]["text"] == "Subscribe"
    billing_header = next(i for i, b in enumerate(blocks) if b.get("text", {}).get("text") == "Billing")
    assert _button(blocks[billing_header + 1:billing_header + 2])["text"]["text"] == "Subscribe"


def test_a_paying_user_sees_manage_billing_and_no_banner(
    slack_web: FlaskClient, fake: FakeSlack, ann: User, stripe: FakeStripe
) -> None:
    start_trial(ann.id)
    (trial,) = stripe.subscriptions
    deliver(slack_web, stripe.event("invoice.paid", stripe.invoice(trial, paid=True)))
    event(slack_web, {"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home"})
    blocks = fake.calls_to("views.publish")[0].args["view"]["blocks"]
    assert blocks[0]["text"]["text"] == "Today · Wed 25 Nov"
    assert "You are subscribed; it renews on" in str(blocks)
    assert "Manage billing" in str(blocks) and "Subscribe" not in str(blocks)


def test_the_trial_reminder_goes_to_slack_when_the_user_uses_it_and_not_by_email(
    slack_web: FlaskClient, fake: FakeSlack, ann: User, stripe: FakeStripe, billing: Path,
    clock: time_machine.Coordinates,
) -> None:
    start_trial(ann.id)
    (trial,) = stripe.subscriptions
    clock.shift(timedelta(days=11))
    deliver(slack_web, stripe.event("customer.subscription.trial_will_end", stripe.subscriptions[trial]))
    (dm,) = fake.calls_to("chat.postMessage")
    assert dm.args["text"] == ("Your NextBestMove trial ends on Wed 9 Dec. Subscribe to keep getting your morning "
                               "plan after it. Your leads and history stay yours either way.")
    assert emails(billing) == []


def test_someone_new_in_slack_starts_their_trial_after_their_account_is_made(
    slack_web: FlaskClient, fake: FakeSlack, installed: SlackInstallation, stripe: FakeStripe, queue: Queue,
    service: Session,
) -> None:
    fake.add_user("U9", email="neo@example.com", name="Neo Park", tz="America/Los_Angeles")
    command(slack_web, fake, "billing", user="U9")
    assert replies(fake) == ["Your free trial runs until Wed 9 Dec. Subscribe to keep your morning plan after it."]
    assert stripe.requests == []  # not from inside the request's transaction
    run_worker(queue)
    neo = find_user_by_email(service, "neo@example.com")
    assert neo is not None
    assert [c.params["metadata"] for c in stripe.calls("POST", "/v1/customers")] == [{"nbm_user_id": str(neo.id)}]
    assert [s["status"] for s in stripe.subscriptions.values()] == ["trialing"]


@pytest.mark.parametrize(("answer", "status"), [({"ok": False, "error": "account_inactive"}, 200),
                                                ({"ok": False, "error": "internal_error"}, 500)],
                         ids=["account_inactive", "500"])
def test_a_notice_slack_would_not_post_is_emailed_once_instead(
    slack_web: FlaskClient, fake: FakeSlack, ann: User, stripe: FakeStripe, billing: Path,
    clock: time_machine.Coordinates, answer: dict[str, Any], status: int,
) -> None:
    """Notices are told at most once: a DM Slack refuses (or fails with a 5xx) is not the end of it."""
    start_trial(ann.id)
    (trial,) = stripe.subscriptions
    clock.shift(timedelta(days=11))
    fake.queue("chat.postMessage", answer, status=status)
    assert deliver(slack_web, stripe.event("customer.subscription.trial_will_end",
                                           stripe.subscriptions[trial])).status_code == 200
    assert len(fake.calls_to("chat.postMessage")) == 1
    (told,) = emails(billing)
    assert (str(told["To"]), str(told["Subject"])) == ("Ann Lee <ann@example.com>",
                                                       "Your NextBestMove trial ends on Wed 9 Dec")


def test_without_service_call_detection_is_not_said_to_find_calls(
    slack_web: FlaskClient, fake: FakeSlack, ann: User, service: Session
) -> None:
    """The hourly search skips a user without service (core.jobs.calls): App Home and the settings form
    say so rather than promise calls from a calendar that shows its guests."""
    make_subscription(service, ann, SubscriptionStatus.CANCELED)
    make_calendar_connection(service, ann, provider=CalendarProvider.ICS, reads_events=True)
    with unit_of_work(user_id=ann.id) as session:
        set_call_detection(session, user=session.get_one(User, ann.id), on=True)
    paused = ("Call detection is on, but your calendars are not searched for calls every hour while your morning "
              "plans are paused.")
    event(slack_web, {"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home"})
    home = str(fake.calls_to("views.publish")[0].args["view"]["blocks"])
    assert paused in home and FINDS not in home
    command(slack_web, fake, "settings")
    (box,) = [b for b in fake.calls_to("views.open")[0].args["view"]["blocks"] if b["block_id"] == "call_detection"]
    assert box["hint"]["text"] == f"{paused} It reads who attends your events, not only when you are busy."
    saved = interact(slack_web, view_submission("nbm_settings", {
        "delivery_time": {"type": "timepicker", "selected_time": "07:30"},
        "channels": {"type": "checkboxes", "selected_options": [{"value": "slack"}]},
        "timezone": {"type": "plain_text_input", "value": "Europe/London"},
        "work_days": {"type": "checkboxes", "selected_options": [{"value": "1"}]},
        "call_detection": {"type": "checkboxes", "selected_options": [{"value": "on"}]}}))
    assert saved.json["view"]["blocks"][0]["text"]["text"] == f"Saved. {paused}"
