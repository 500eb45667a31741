"""Without service no plan is made, by any channel, and each says the same sentence with a way to
subscribe (core.billing.status.NoService); a plan made before the service ended stays usable for its
day, and the user's actions stay theirs to mark. Slack requests are signed as Slack signs them,
Stripe's events as Stripe signs them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from bot.cli import main
from bot.email.links import EmailLinks
from core.billing.trial import start_trial
from core.clock import local_today, utcnow
from core.db import set_context
from core.jobs import tasks
from core.jobs.tasks import deliver_many
from core.models import (
    Action,
    ActionState,
    CapacityOverride,
    Channel,
    DailyPlan,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Lead,
    User,
    WeeklySummary,
)
from core.queue import get_queue
from tests.billing.conftest import deliver, emails
from tests.billing.fake_stripe import FakeStripe
from tests.factories import make_user
from tests.slack.conftest import (
    add_leads,
    ann,
    block_action,
    command,
    event,
    fake,
    fake_server,
    installed,
    interact,
    plan_of,
    replies,
    slack_env,
)
from tests.slack.fake_slack import FakeSlack

#: Fixtures of the Slack tests, used here.
__all__ = ["ann", "fake", "fake_server", "installed", "slack_env"]

#: What every channel says to Ann once her trial is over without a subscription (core.billing.status.describe).
ENDED = ("Your trial has ended, so your morning plans are paused. Subscribe to get them again; your leads and "
         "history are all still here.")


@pytest.fixture()
def slack_web(clock: time_machine.Coordinates, billing: Path, slack_env: Callable[..., None],
              connection: Connection) -> FlaskClient:
    """Slack (one workspace, OAuth) and billing both on."""
    slack_env(SLACK_CLIENT_ID="111.222", SLACK_CLIENT_SECRET="client-secret")
    from bot.web import create_app

    return create_app().test_client()


def _end_trial(web: FlaskClient, stripe: FakeStripe, clock: time_machine.Coordinates, fake: FakeSlack,
               *, on_its_last_day: Callable[[], object] = lambda: None) -> None:
    """Ann's trial ends without a card, as Stripe says it (Wednesday 9 December, an hour after
    ``on_its_last_day`` ran at noon); the DM telling her so is left out of what the tests read next."""
    (trial,) = stripe.subscriptions
    clock.shift(timedelta(days=14))  # Wednesday 9 December, noon: the last day of the trial
    on_its_last_day()
    clock.shift(timedelta(hours=1))
    deliver(web, stripe.event("customer.subscription.deleted", stripe.end_trial_without_payment_method(trial)))
    fake.reset()


def _plans(service: Session, user: User) -> list[DailyPlan]:
    set_context(service, service=True)
    return list(service.scalars(select(DailyPlan).where(DailyPlan.user_id == user.id)
                                .execution_options(populate_existing=True)))


def _subscribe_button(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    (found,) = [b["accessory"] for b in blocks if b.get("accessory", {}).get("type") == "button"]
    assert found["text"]["text"] == "Subscribe" and found["url"].startswith("https://nbm.test/billing/")
    return found


@pytest.fixture()
def ended(slack_web: FlaskClient, stripe: FakeStripe, ann: User, clock: time_machine.Coordinates,
          fake: FakeSlack) -> User:
    """Ann, whose trial has ended without a subscription; she has a lead whose outreach is due today."""
    start_trial(ann.id)
    _end_trial(slack_web, stripe, clock, fake)
    add_leads(ann, "Bo Chen")
    return ann


def test_nbm_today_without_service_says_why_with_the_subscribe_button_and_makes_no_plan(
    slack_web: FlaskClient, fake: FakeSlack, ended: User, service: Session
) -> None:
    command(slack_web, fake, "today")
    assert replies(fake) == [ENDED]
    _subscribe_button(fake.calls_to("respond")[0].args["blocks"])
    assert fake.calls_to("chat.postMessage") == []
    assert _plans(service, ended) == []


def test_app_home_without_service_shows_no_plan_and_says_it_once(
    slack_web: FlaskClient, fake: FakeSlack, ended: User, service: Session
) -> None:
    event(slack_web, {"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home"})
    (published,) = fake.calls_to("views.publish")
    blocks = published.args["view"]["blocks"]
    assert blocks[0]["text"]["text"] == f"⏸️ {ENDED}"
    _subscribe_button(blocks[:1])
    shown = str(blocks)
    assert shown.count("morning plans are paused") == 2  # the banner, and the Billing section
    assert "Reach out to Bo Chen" not in shown and "Refresh plan to make it now" not in shown
    assert _plans(service, ended) == []


def test_refreshing_the_plan_in_app_home_without_service_says_why(
    slack_web: FlaskClient, fake: FakeSlack, ended: User, service: Session
) -> None:
    interact(slack_web, block_action(fake, {"action_id": "nbm_refresh_plan", "type": "button", "value": "refresh"}))
    (modal,) = fake.calls_to("views.open")
    assert ENDED in str(modal.args["view"]["blocks"])
    assert _plans(service, ended) == []


def test_a_lead_still_finds_its_action_without_service_and_a_plan_number_says_why_there_is_none(
    slack_web: FlaskClient, fake: FakeSlack, ended: User, service: Session
) -> None:
    command(slack_web, fake, "done 1")
    assert replies(fake) == [ENDED]
    _subscribe_button(fake.calls_to("respond")[0].args["blocks"])

    command(slack_web, fake, "sent Bo Chen")
    assert replies(fake)[1].startswith("✅ Marked sent: Reach out to Bo Chen.")
    set_context(service, service=True)
    outreach = service.scalar(select(Action).join(Lead).where(Lead.name == "Bo Chen")
                              .execution_options(populate_existing=True))
    assert outreach is not None and outreach.state == ActionState.SENT
    assert _plans(service, ended) == []


def test_adding_a_lead_without_service_keeps_it_and_says_why_no_plan_takes_it(
    slack_web: FlaskClient, fake: FakeSlack, ended: User, service: Session
) -> None:
    command(slack_web, fake, "add Cy Diaz https://example.com/cy")
    assert replies(fake) == [f"➕ Added <https://example.com/cy|Cy Diaz>. {ENDED}"]
    set_context(service, service=True)
    names = service.scalars(select(Lead.name).where(Lead.user_id == ended.id).order_by(Lead.name)).all()
    assert names == ["Bo Chen", "Cy Diaz"]
    assert _plans(service, ended) == []


def test_changing_capacity_without_service_says_why_and_changes_nothing(
    slack_web: FlaskClient, fake: FakeSlack, ended: User, service: Session
) -> None:
    command(slack_web, fake, "capacity light")
    assert replies(fake) == [ENDED]
    set_context(service, service=True)
    assert service.scalars(select(CapacityOverride).where(CapacityOverride.user_id == ended.id)).all() == []
    assert _plans(service, ended) == []


def test_a_plan_made_before_the_service_ended_stays_usable_that_day(
    slack_web: FlaskClient, fake: FakeSlack, ann: User, stripe: FakeStripe, clock: time_machine.Coordinates,
    service: Session,
) -> None:
    def plan_made() -> None:
        add_leads(ann, "Bo Chen")
        assert [item.title for item in plan_of(ann).items] == ["Reach out to Bo Chen"]

    start_trial(ann.id)
    _end_trial(slack_web, stripe, clock, fake, on_its_last_day=plan_made)

    command(slack_web, fake, "today")
    (dm,) = fake.calls_to("chat.postMessage")
    assert "Reach out to Bo Chen" in str(dm.args["blocks"])
    command(slack_web, fake, "done 1")
    assert replies(fake)[-1] == "✅ Marked done: #1 of today's plan — Reach out to Bo Chen."


def test_the_today_page_without_service_says_the_same_and_links_to_billing(
    slack_web: FlaskClient, ended: User
) -> None:
    links = EmailLinks.from_settings()
    page = slack_web.get(links.plan_url(user_id=ended.id, day=local_today(ended.timezone)).removeprefix("https://nbm.test"))
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and ENDED in body
    assert f'href="{links.billing_url(user_id=ended.id)}">Subscribe</a>' in body


def test_a_delivery_whose_user_lost_service_since_the_tick_fails_for_good_and_alone(
    slack_web: FlaskClient, ended: User, service: Session
) -> None:
    """The tick found Ann due while she had service; by the time her delivery was composed it had ended,
    so no plan is made for her (NoService). That used to escape the chunk's job: every other delivery
    of the chunk was retried with it, and hers again and again. It fails for good now, with the reason."""
    today = local_today(ended.timezone)
    assert deliver_many("plan", [("slack", str(ended.id), today.isoformat())]) == "1 failed for good"
    set_context(service, service=True)
    delivery = service.scalars(select(Delivery).where(Delivery.user_id == ended.id, Delivery.kind == DeliveryKind.PLAN,
                                                      Delivery.channel == Channel.SLACK)).one()
    assert (delivery.status, delivery.attempts, delivery.period) == (DeliveryStatus.FAILED, 1, today)
    assert "your morning plans are paused" in (delivery.last_error or "")
    assert _plans(service, ended) == []


def _summaries(service: Session, user: User) -> list[WeeklySummary]:
    set_context(service, service=True)
    return list(service.scalars(select(WeeklySummary).where(WeeklySummary.user_id == user.id)
                                .execution_options(populate_existing=True)))


def test_nbm_summary_without_service_says_why_with_the_subscribe_button_and_makes_no_summary(
    slack_web: FlaskClient, fake: FakeSlack, ended: User, service: Session
) -> None:
    """Ann joined on Wed 25 Nov and her trial ended on Wed 9 Dec: the week of 30 Nov is one she lived,
    finished, with no summary yet. The summary stops with the service, as the plan does."""
    command(slack_web, fake, "summary")
    assert replies(fake) == [ENDED]
    _subscribe_button(fake.calls_to("respond")[0].args["blocks"])
    assert _summaries(service, ended) == []


@pytest.mark.parametrize("words", [["plan"], ["summary"], ["summary", "send"], ["digest", "send"],
                                   ["digest", "preview"]])
def test_the_cli_without_service_refuses_with_the_same_sentence_and_how_to_subscribe_and_records_nothing(
    slack_web: FlaskClient, ended: User, service: Session, billing: Path, words: list[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every command that would make or send a plan or a summary refuses as the other channels do,
    naming the `nbm billing` command that helps; the sends refuse before their delivery is claimed (a
    failed delivery on record would keep the email from going out once Ann subscribes again).
    `digest preview` said the sentence without the command."""
    monkeypatch.chdir(tmp_path)  # where `digest preview` would write digest.html
    result = CliRunner().invoke(main, [*words, "--user", ended.email])
    assert result.exit_code == 2
    assert " ".join(result.output.split()) == (
        f"Error: {ENDED} `nbm billing checkout --user ann@example.com` prints their Stripe Checkout address to "
        "subscribe.")
    assert (_plans(service, ended), _summaries(service, ended)) == ([], [])
    set_context(service, service=True)
    assert service.scalars(select(Delivery).where(Delivery.user_id == ended.id)).all() == []
    assert emails(billing) == []
    assert list(tmp_path.iterdir()) == []


def test_a_summary_made_before_the_service_ended_is_still_shown(
    slack_web: FlaskClient, fake: FakeSlack, ann: User, stripe: FakeStripe, clock: time_machine.Coordinates,
    service: Session,
) -> None:
    def summary_made() -> str:
        command(slack_web, fake, "summary")
        return replies(fake)[0]

    start_trial(ann.id)
    made: list[str] = []
    _end_trial(slack_web, stripe, clock, fake, on_its_last_day=lambda: made.append(summary_made()))
    assert made[0].startswith("Your week of 30 Nov – 6 Dec")

    command(slack_web, fake, "summary")
    assert replies(fake) == made
    assert len(_summaries(service, ann)) == 1


def test_the_monday_batch_makes_no_summary_for_a_user_whose_service_ended_since_the_tick_and_goes_on(
    slack_web: FlaskClient, ended: User, service: Session
) -> None:
    """The tick found Ann due; her service ended before the batch was prepared. No summary is made for
    her, and the batch still makes the next user's and queues everyone's deliveries (hers then fail for
    good when composed, as a plan's do)."""
    set_context(service, service=True)
    bea = make_user(service, name="Bea Stone", created_at=datetime(2026, 12, 1, 12, tzinfo=UTC))  # in her trial
    week = "2026-11-30"
    tasks.prepare(DeliveryKind.WEEKLY_SUMMARY.value, utcnow().isoformat(),
                  [(str(ended.id), "email", week), (str(bea.id), "email", week)])
    assert _summaries(service, ended) == []
    assert [s.week_start_date.isoformat() for s in _summaries(service, bea)] == [week]
    assert [job for job in get_queue().job_ids if job.startswith("deliver-many-weekly_summary-")] != []
