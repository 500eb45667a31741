"""A lead whose snooze ends today, in a plan of today made before the hourly housekeeping came round
(midnight is at half past the hour in Kolkata): the build itself brought the lead back
(core.housekeeping.wake_due), so the job that follows finds nothing to wake, and changes and tells
nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import time_machine
from rq import Queue
from sqlalchemy.orm import Session

from core import changes
from core.db import unit_of_work
from core.jobs.tick import tick
from core.leads import add_lead, snooze_lead
from core.models import Channel, User
from core.planner.view import PlanView, day_plan_view, plan_view_building_if_missing
from tests.factories import make_user
from tests.jobs.conftest import run_worker

#: Wednesday 25 Nov, 17:00 in Kolkata: Bea is snoozed until tomorrow.
WEDNESDAY = datetime(2026, 11, 25, 11, 30, tzinfo=UTC)
#: Thursday 26 Nov, 00:10 in Kolkata (18:40 UTC): the hour's housekeeping ran at 18:00, before midnight there.
JUST_AFTER_MIDNIGHT = datetime(2026, 11, 25, 18, 40, tzinfo=UTC)
#: 00:30 in Kolkata: the next hour's housekeeping.
NEXT_HOUR = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)


def _leads_in(view: PlanView | None) -> list[str]:
    assert view is not None
    return sorted(item.lead_name or "" for item in view.items)


def test_a_lead_back_today_is_in_the_plan_made_before_the_job_and_the_job_wakes_nothing_again(
    service: Session, queue: Queue, outbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    told: list[tuple[uuid.UUID, Channel]] = []
    monkeypatch.setattr(changes, "_LISTENERS", [lambda user_id, channel: told.append((user_id, channel))])
    user = make_user(service, timezone="Asia/Kolkata")
    with time_machine.travel(WEDNESDAY, tick=False), unit_of_work(user_id=user.id) as session:
        me = session.get_one(User, user.id)
        add_lead(session, user=me, name="Ann Lee", url="https://www.linkedin.com/in/ann-lee", channel=Channel.CLI)
        bea = add_lead(session, user=me, name="Bea Stone", url="https://www.linkedin.com/in/bea-stone",
                       channel=Channel.CLI)
        snooze_lead(session, user=me, lead_id=bea.id, until=date(2026, 11, 26))
    with time_machine.travel(JUST_AFTER_MIDNIGHT, tick=False), unit_of_work(user_id=user.id) as session:
        made = plan_view_building_if_missing(session, user=session.get_one(User, user.id))  # App Home opened
        assert (made.date, _leads_in(made)) == (date(2026, 11, 26), ["Ann Lee", "Bea Stone"])

    with time_machine.travel(NEXT_HOUR, tick=False):
        assert tick(at=NEXT_HOUR, queue=queue).housekeeping_enqueued
        run_worker(queue)
        with unit_of_work(user_id=user.id) as session:
            today = day_plan_view(session, user=session.get_one(User, user.id))

    assert _leads_in(today) == ["Ann Lee", "Bea Stone"]
    assert told == []
