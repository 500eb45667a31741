"""A batch spans two local dates (users a date line apart): each user's plan, summary focus and
candidates are those of their own date, though the batch reads them by "a user of the batch on a
date of the batch" (one array lookup) and keeps the exact pairs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy.orm import Session

from core.models import ActionType, WeeklySummary
from core.planner.batch import plan_users
from tests.factories import make_action, make_lead, make_plan, make_user

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)  # Wed 25 Nov in Los Angeles, Thu 26 Nov in Kiritimati
WEDNESDAY, THURSDAY = date(2026, 11, 25), date(2026, 11, 26)


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def test_a_plan_for_the_other_date_of_the_batch_is_not_taken_for_today(service: Session) -> None:
    lana = make_user(service, timezone="America/Los_Angeles")
    kiri = make_user(service, timezone="Pacific/Kiritimati")
    for user in (lana, kiri):
        make_action(service, user, make_lead(service, user), action_type=ActionType.OUTREACH,
                    due_date=WEDNESDAY - timedelta(days=1))
    tomorrow_of_lana = make_plan(service, lana, [], date=THURSDAY)  # made ahead, for her Thursday
    plans = plan_users(service, user_ids=[lana.id, kiri.id], at=NOW)
    assert (plans[lana.id].date, plans[kiri.id].date) == (WEDNESDAY, THURSDAY)
    assert plans[lana.id].id != tomorrow_of_lana.id and plans[lana.id].items


def test_the_summary_focus_is_that_of_the_week_before_each_users_own_date(service: Session) -> None:
    """Kiritimati is on Thursday too, but a user a day ahead on a Monday is in another week."""
    monday_at = datetime(2026, 11, 23, 2, tzinfo=UTC)  # Sun 22 Nov in Los Angeles, Mon 23 in Kiritimati
    lana = make_user(service, timezone="America/Los_Angeles")
    kiri = make_user(service, timezone="Pacific/Kiritimati")
    for user, week, focus in ((lana, date(2026, 11, 9), "Lana's focus"), (kiri, date(2026, 11, 16), "Kiri's focus"),
                              (lana, date(2026, 11, 16), "not yet Lana's"), (kiri, date(2026, 11, 9), "old")):
        service.add(WeeklySummary(user_id=user.id, week_start_date=week, timezone=user.timezone, insight_text="i",
                                  next_week_focus=focus))
    service.flush()
    with time_machine.travel(monday_at, tick=False):
        plans = plan_users(service, user_ids=[lana.id, kiri.id], at=monday_at)
    assert (plans[lana.id].focus_statement, plans[kiri.id].focus_statement) == ("Lana's focus", "Kiri's focus")
