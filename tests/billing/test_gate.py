"""The gate (core.access) through the real morning: the tick, RQ's worker, the email sent or not."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner
from flask.testing import FlaskClient
from rq import Queue
from sqlalchemy.orm import Session

from bot.channels import register_all
from bot.cli import main
from core.billing.sessions import checkout_url
from core.billing.trial import start_trial
from core.jobs import channels, tasks
from core.jobs.tick import tick
from core.models import SubscriptionStatus, User
from tests.billing.conftest import deliver, emails, text_of
from tests.billing.fake_stripe import FakeStripe
from tests.factories import make_lead, make_subscription, make_user
from tests.jobs.conftest import queue, redis, redis_url, run_worker

__all__ = ["queue", "redis", "redis_url"]  # fixtures of the job tests, used here

#: 08:00 in London on Wednesday 25 November 2026: everyone's 07:30 has passed.
MORNING = datetime(2026, 11, 25, 8, tzinfo=UTC)
EVERY_DAY = [1, 2, 3, 4, 5, 6, 7]


@pytest.fixture()
def senders(billing: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Email senders registered as a worker registers them; yields the outbox."""
    monkeypatch.setattr(tasks, "RETRY_INTERVALS", [0, 0, 0])
    monkeypatch.setattr(channels, "_SENDERS", {})
    register_all()
    return billing


def _user(service: Session, name: str, *, joined_days_ago: int = 30) -> User:
    user = make_user(service, name=name, email=f"{name.lower()}@example.com",
                     created_at=MORNING - timedelta(days=joined_days_ago))
    user.settings.work_days = EVERY_DAY
    make_lead(service, user, name=f"Lead of {name}")
    return user


def _planned(outbox: Path) -> set[str]:
    """Who got a morning plan by email."""
    return {str(m["To"]).split("<")[1].split("@")[0] for m in emails(outbox)
            if str(m["Subject"]).startswith("Your next best moves")}


def _morning(queue: Queue, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        tick(at=at, queue=queue)
        run_worker(queue)


def test_the_morning_goes_to_those_with_service_only(service: Session, senders: Path, queue: Queue) -> None:
    with time_machine.travel(MORNING, tick=False):
        day = timedelta(days=1)
        make_subscription(service, _user(service, "Trial"), SubscriptionStatus.TRIALING,
                          trial_ends_at=MORNING + 6 * day)
        make_subscription(service, _user(service, "Late"), SubscriptionStatus.TRIALING,  # Stripe's word not in yet
                          trial_ends_at=MORNING - timedelta(hours=2))
        make_subscription(service, _user(service, "Stale"), SubscriptionStatus.TRIALING,
                          trial_ends_at=MORNING - 2 * day)
        make_subscription(service, _user(service, "Paying"), SubscriptionStatus.ACTIVE)
        make_subscription(service, _user(service, "Grace"), SubscriptionStatus.PAST_DUE,
                          past_due_since=MORNING - 6 * day)
        make_subscription(service, _user(service, "Overdue"), SubscriptionStatus.PAST_DUE,
                          past_due_since=MORNING - 8 * day)
        make_subscription(service, _user(service, "Gone"), SubscriptionStatus.CANCELED)
        back = _user(service, "Back")
        make_subscription(service, back, SubscriptionStatus.CANCELED)
        make_subscription(service, back, SubscriptionStatus.ACTIVE)
        _user(service, "New", joined_days_ago=3)  # no subscription recorded yet: the trial about to start
        # Joined before billing was turned on: the sweep has not started the 14 days owed yet.
        _user(service, "Early", joined_days_ago=200)
    _morning(queue, MORNING)
    assert _planned(senders) == {"trial", "late", "paying", "grace", "back", "new", "early"}


def test_a_trial_that_ends_without_a_subscription_stops_the_morning_and_subscribing_resumes_it(
    service: Session, senders: Path, queue: Queue, stripe: FakeStripe, web: FlaskClient,
    clock: time_machine.Coordinates,
) -> None:
    with time_machine.travel(MORNING, tick=False):
        ann = _user(service, "Ann", joined_days_ago=0)
        start_trial(ann.id)
    (trial,) = stripe.subscriptions
    _morning(queue, MORNING)
    assert _planned(senders) == {"ann"}

    clock.move_to(MORNING + timedelta(days=11))  # Stripe warns 3 days before the trial's end
    reminder = stripe.event("customer.subscription.trial_will_end", stripe.subscriptions[trial])
    deliver(web, reminder)
    deliver(web, reminder)  # a replay tells no one twice
    (told,) = [m for m in emails(senders) if "trial" in str(m["Subject"])]
    assert str(told["Subject"]) == "Your NextBestMove trial ends on Wed 9 Dec"
    assert "Subscribe: https://nbm.test/billing/" in text_of(told)

    clock.move_to(MORNING + timedelta(days=14, hours=5))
    deliver(web, stripe.event("customer.subscription.deleted", stripe.end_trial_without_payment_method(trial)))
    ended = [str(m["Subject"]) for m in emails(senders) if "ended" in str(m["Subject"])]
    assert ended == ["Your NextBestMove trial has ended"]

    before = len(emails(senders))
    _morning(queue, MORNING + timedelta(days=15))
    assert len(emails(senders)) == before  # no plan: her service has ended
    leads = CliRunner().invoke(main, ["leads", "list", "--user", ann.email, "--json"])
    assert leads.exit_code == 0 and [lead["name"] for lead in json.loads(leads.output)] == ["Lead of Ann"]

    clock.move_to(MORNING + timedelta(days=15, hours=1))
    checkout_url(ann.id)
    (checkout_id,) = stripe.checkouts
    assert "trial_end" not in (stripe.checkouts[checkout_id]["_params"].get("subscription_data") or {})
    session, _ = stripe.complete_checkout(checkout_id)
    deliver(web, stripe.event("checkout.session.completed", session))
    _morning(queue, MORNING + timedelta(days=15, hours=2))
    plans = sorted(str(m["Subject"]).split(" — ")[0] for m in emails(senders)
                   if str(m["Subject"]).startswith("Your next best moves"))
    assert plans == ["Your next best moves for Thu 10 Dec", "Your next best moves for Wed 25 Nov"]
