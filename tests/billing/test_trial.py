"""Every new user starts a 14-day trial in Stripe, after the transaction that creates them, once."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner
from rq import Queue
from sqlalchemy.orm import Session

from bot.cli import main
from core.billing import trial
from core.jobs.tasks import housekeeping
from core.models import SubscriptionStatus, User
from core.users import find_user_by_email
from tests.billing.conftest import NOON, customer, subscriptions
from tests.billing.fake_stripe import FakeStripe
from tests.factories import make_user
from tests.jobs.conftest import queue, redis, redis_url, run_worker

__all__ = ["queue", "redis", "redis_url"]  # fixtures of the job tests, used here


def _add_user(email: str = "ann@example.com") -> dict[str, str]:
    added = CliRunner().invoke(main, ["users", "add", email, "--name", "Ann Lee", "--json"])
    assert added.exit_code == 0, added.output
    return dict(json.loads(added.output))


def _status(email: str) -> dict[str, object]:
    shown = CliRunner().invoke(main, ["billing", "status", "--user", email, "--json"])
    assert shown.exit_code == 0, shown.output
    return dict(json.loads(shown.output))


def test_a_new_user_gets_a_14_day_trial_in_stripe_once_the_worker_runs(
    clock: time_machine.Coordinates, billing: Path, stripe: FakeStripe, queue: Queue, service: Session
) -> None:
    added = _add_user()
    assert stripe.requests == []  # nothing reached Stripe inside the transaction that created her
    assert [job.id for job in queue.jobs] == [f"billing-trial-{added['id']}"]
    assert _status("ann@example.com") == {  # meanwhile she is in her trial by the sign-up rule
        "status": "none", "has_service": True, "trial_ends_at": (NOON + timedelta(days=14)).isoformat(),
        "current_period_end": None, "grace_ends_at": None, "cancel_at_period_end": False,
        "has_payment_method": False}

    run_worker(queue)
    (created,) = stripe.calls("POST", "/v1/subscriptions")
    assert created.params["trial_period_days"] == "14"
    assert created.params["trial_settings"] == {"end_behavior": {"missing_payment_method": "cancel"}}
    assert created.params["items"] == [{"price": "price_monthly"}]
    assert created.idempotency_key == f"nbm-trial-{added['id']}"
    assert stripe.calls("POST", "/v1/customers")[0].idempotency_key == f"nbm-customer-{added['id']}"
    status = _status("ann@example.com")
    assert (status["status"], status["has_service"], status["trial_ends_at"]) == (
        "trialing", True, (NOON + timedelta(days=14)).isoformat())
    user = find_user_by_email(service, "ann@example.com")
    assert user is not None and customer(service, user) is not None


def test_starting_a_trial_again_changes_nothing(
    clock: time_machine.Coordinates, billing: Path, stripe: FakeStripe, service: Session
) -> None:
    ann = make_user(service, email="ann@example.com")
    assert trial.start_trial(ann.id) is True
    assert trial.start_trial(ann.id) is False
    assert (len(stripe.customers), len(stripe.subscriptions), len(subscriptions(service, ann))) == (1, 1, 1)


def test_a_trial_made_at_stripe_but_not_recorded_is_found_again_not_made_twice(
    clock: time_machine.Coordinates, billing: Path, stripe: FakeStripe, service: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker died between Stripe's answers and our commit (and Stripe's idempotency keys last
    only a day): the next run finds the customer by email and our id, and its subscription."""
    ann = make_user(service, email="ann@example.com")
    real_record = trial.record_customer

    def crash(*args: object, **kwargs: object) -> None:
        raise SystemExit("the worker died here")

    monkeypatch.setattr(trial, "record_customer", crash)
    with pytest.raises(SystemExit):
        trial.start_trial(ann.id)
    assert subscriptions(service, ann) == {}
    stripe._idempotent.clear()  # a day later: Stripe has forgotten the keys
    monkeypatch.setattr(trial, "record_customer", real_record)

    assert trial.start_trial(ann.id) is False  # adopted, not created
    assert (len(stripe.customers), len(stripe.subscriptions)) == (1, 1)
    (row,) = subscriptions(service, ann).values()
    assert row.status == SubscriptionStatus.TRIALING


def test_the_hourly_sweep_starts_the_trial_of_users_who_have_none(
    clock: time_machine.Coordinates, billing: Path, stripe: FakeStripe, queue: Queue, service: Session
) -> None:
    """Users from before billing was turned on, or whose trial job could not be queued."""
    old = make_user(service, email="old@example.com", created_at=NOON - timedelta(days=200))
    started = make_user(service, email="started@example.com")
    trial.start_trial(started.id)
    requests_before = len(stripe.requests)

    housekeeping(NOON.isoformat())
    assert [job.id for job in queue.jobs if job.id.startswith("billing")] == [f"billing-trial-{old.id}"]
    run_worker(queue)
    (row,) = subscriptions(service, old).values()
    assert (row.status, row.trial_ends_at) == (SubscriptionStatus.TRIALING, NOON + timedelta(days=14))
    assert len(stripe.requests) > requests_before
    assert all(r.params.get("email") != started.email for r in stripe.requests[requests_before:])


def test_with_billing_off_a_new_user_is_created_exactly_as_before(
    clock: time_machine.Coordinates, stripe: FakeStripe, queue: Queue, service: Session
) -> None:
    added = _add_user()
    assert (queue.count, stripe.requests) == (0, [])
    assert _status("ann@example.com") == {
        "status": "off", "has_service": True, "trial_ends_at": None, "current_period_end": None,
        "grace_ends_at": None, "cancel_at_period_end": False, "has_payment_method": False}
    user = service.get(User, uuid.UUID(added["id"]))
    assert user is not None and customer(service, user) is None
