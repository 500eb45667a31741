"""Delivering the digest and the weekly summary by email, as the jobs (and `nbm digest send`) do."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.channels import register_all
from bot.email.backends import SendFailed, get_backend
from bot.email.delivery import plan_sender, summary_sender
from bot.email.links import EmailLinks
from core.errors import ValidationError
from core.jobs.channels import PermanentDeliveryError, TemporaryDeliveryError
from core.jobs.tasks import deliver
from core.models import Channel, Delivery, DeliveryKind, DeliveryStatus, UserSettings
from tests.email.conftest import NOON
from tests.email.pages import make_world
from tests.email.sending import mail_digest, mail_summary
from tests.factories import JOINED

pytestmark = pytest.mark.usefixtures("email_settings", "clock", "connection")


def test_the_morning_delivery_mails_todays_digest_under_the_message_id_it_records(service: Session) -> None:
    world = make_world(service, email="zoe@example.com", name="Zoe Quinn")
    message_id = mail_digest(world.user.id)
    outbox = get_backend()
    (entry,) = outbox.entries()
    message = outbox.read(entry.id)
    assert message["Message-ID"] == message_id
    assert message["Subject"] == "Your next best moves for Wed 25 Nov — 3 actions, ~30 min"
    assert message["To"] == "Zoe Quinn <zoe@example.com>"
    assert message["From"] == "NextBestMove <plan@nbm.example.com>"
    html = message.get_body(("html",)).get_content()
    assert "Reach out to Ann Lee" in html and "Fast Win" in html
    unsubscribe = message["List-Unsubscribe"].strip("<>")
    assert EmailLinks.from_settings().read_unsubscribe(unsubscribe.rsplit("/", 1)[1]) == world.user.id


def test_nobody_whose_email_is_off_is_mailed(service: Session) -> None:
    """Nor is the delivery failed: it is not owed while email is off (core.jobs.tasks)."""
    world = make_world(service)
    service.get(UserSettings, world.user.id).email_enabled = False
    service.flush()
    register_all()
    outcome = deliver(DeliveryKind.PLAN.value, Channel.EMAIL.value, str(world.user.id), "2026-11-25")
    assert outcome.startswith("not owed: email is off for ")
    assert get_backend().entries() == []
    assert service.scalars(select(Delivery.status).where(Delivery.user_id == world.user.id)).all() == [
        DeliveryStatus.PENDING]


def test_the_monday_delivery_mails_last_weeks_summary(service: Session) -> None:
    world = make_world(service, name="Zoe Quinn", created_at=JOINED)
    message_id = mail_summary(world.user.id, date(2026, 11, 16))
    outbox = get_backend()
    (entry,) = outbox.entries()
    message = outbox.read(entry.id)
    assert message["Message-ID"] == message_id
    assert message["Subject"].startswith("Your week of 16–22 Nov — ")
    text = message.get_body(("plain",)).get_content()
    assert "Next week's focus" in text and "Unsubscribe: " in text


def test_a_retried_delivery_reuses_its_message_id(service: Session) -> None:
    world = make_world(service)
    delivery_id = uuid.uuid4()
    first = plan_sender(service, user_id=world.user.id, period=date(2026, 11, 25), delivery_id=delivery_id)()
    second = plan_sender(service, user_id=world.user.id, period=date(2026, 11, 25), delivery_id=delivery_id)()
    assert first == second == f"<nbm-{delivery_id}@nbm.example.com>"
    assert plan_sender(service, user_id=world.user.id, period=date(2026, 11, 25), delivery_id=uuid.uuid4())() != first


class Refusing:
    name = "refusing"

    def __init__(self, temporary: bool) -> None:
        self.temporary = temporary

    def send(self, message) -> None:
        raise SendFailed("the server said no", temporary=self.temporary)


@pytest.mark.parametrize("temporary, error", [(True, TemporaryDeliveryError), (False, PermanentDeliveryError)])
def test_the_job_senders_tell_a_retry_worth_trying_from_one_that_is_not(service: Session, monkeypatch,
                                                                        temporary, error) -> None:
    world = make_world(service)
    monkeypatch.setattr("bot.email.delivery.get_backend", lambda: Refusing(temporary))
    with pytest.raises(error, match="the server said no"):
        plan_sender(service, user_id=world.user.id, period=date(2026, 11, 25), delivery_id=uuid.uuid4())()


def test_the_summary_sender_refuses_when_email_is_off(service: Session) -> None:
    """The core's refusal, which the jobs take as not owed (core.jobs.tasks)."""
    world = make_world(service)
    service.get(UserSettings, world.user.id).email_unsubscribed_at = NOON
    service.flush()
    with pytest.raises(ValidationError, match="email is off"):
        summary_sender(service, user_id=world.user.id, period=date(2026, 11, 16), delivery_id=uuid.uuid4())
    assert get_backend().entries() == []
