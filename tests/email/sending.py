"""Mailing a real digest or weekly summary in a test, the way the scheduled jobs mail them: through
the job's own delivery (``core.jobs.tasks.deliver``), recorded in the deliveries ledger."""

from __future__ import annotations

import uuid
from datetime import date

from bot.channels import register_all
from core.clock import local_today
from core.db import unit_of_work
from core.jobs.tasks import deliver
from core.models import Channel, DeliveryKind, User


def mail_digest(user_id: uuid.UUID, day: date | None = None) -> str:
    """The user's digest of ``day`` (default their today; an earlier day's is a catch-up), mailed as the
    morning job mails it; its Message-ID."""
    if day is None:
        with unit_of_work(service=True) as session:
            day = local_today(session.get_one(User, user_id).timezone)
    return _delivered(DeliveryKind.PLAN, user_id, day)


def mail_summary(user_id: uuid.UUID, week_start: date) -> str:
    """The summary of the week starting ``week_start``, mailed as the Monday job mails it; its Message-ID."""
    return _delivered(DeliveryKind.WEEKLY_SUMMARY, user_id, week_start)


def _delivered(kind: DeliveryKind, user_id: uuid.UUID, period: date) -> str:
    register_all()  # as every worker process does at start, so a test of this alone finds the senders
    outcome = deliver(kind.value, Channel.EMAIL.value, str(user_id), period.isoformat())
    assert outcome.startswith("sent (") and outcome.endswith(")"), outcome
    return outcome.removeprefix("sent (").removesuffix(")")
