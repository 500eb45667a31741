"""Daily housekeeping: on each user's own local date, idempotent."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.housekeeping import run_housekeeping
from core.models import ActionEvent, ActionState, CalendarSyncLog, LeadStatus
from tests.factories import make_action, make_calendar_connection, make_lead, make_user

# 03:00 UTC on Thu 26 Nov: already the 26th in Kolkata, still the 25th in Los Angeles.
AT = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


def test_snoozes_end_on_each_users_own_date(service: Session) -> None:
    kolkata = make_user(service, timezone="Asia/Kolkata")
    los_angeles = make_user(service, timezone="America/Los_Angeles")
    created = datetime(2026, 11, 20, tzinfo=UTC)
    leads = {u.timezone: make_lead(service, u, status=LeadStatus.SNOOZED, snooze_until=date(2026, 11, 26))
             for u in (kolkata, los_angeles)}
    actions = {u.timezone: make_action(service, u, state=ActionState.SNOOZED, snooze_until=date(2026, 11, 26),
                                       due_date=date(2026, 11, 20), created_at=created) for u in (kolkata, los_angeles)}
    report = run_housekeeping(service, at=AT)
    assert leads["Asia/Kolkata"].status == LeadStatus.ACTIVE
    assert leads["America/Los_Angeles"].status == LeadStatus.SNOOZED
    assert actions["Asia/Kolkata"].state == ActionState.NEW
    assert actions["America/Los_Angeles"].state == ActionState.SNOOZED
    assert actions["Asia/Kolkata"].snooze_until is None
    woke = service.scalars(select(ActionEvent).where(ActionEvent.action_id == actions["Asia/Kolkata"].id)).one()
    assert (woke.from_state, woke.to_state, woke.channel.value) == (ActionState.SNOOZED, ActionState.NEW, "system")
    assert report.leads_unsnoozed >= 1 and report.actions_unsnoozed >= 1


def test_done_actions_are_archived_90_days_after_completion(service: Session) -> None:
    user = make_user(service)
    old_day = AT - timedelta(days=91)
    old = make_action(service, user, state=ActionState.DONE, completed_at=old_day, due_date=old_day.date(),
                      created_at=old_day)
    recent = make_action(service, user, state=ActionState.DONE, completed_at=AT - timedelta(days=89),
                         due_date=(AT - timedelta(days=89)).date(), created_at=AT - timedelta(days=89))
    run_housekeeping(service, at=AT)
    assert (old.state, recent.state) == (ActionState.ARCHIVED, ActionState.DONE)


def test_sync_logs_older_than_90_days_are_purged(service: Session) -> None:
    connection = make_calendar_connection(service, make_user(service))
    for age in (91, 89):
        service.add(CalendarSyncLog(calendar_connection_id=connection.id, operation="sync", status="success",
                                    created_at=AT - timedelta(days=age)))
    service.flush()
    run_housekeeping(service, at=AT)
    ages = service.scalars(select(CalendarSyncLog.created_at).where(
        CalendarSyncLog.calendar_connection_id == connection.id)).all()
    assert [(AT - a).days for a in ages] == [89]


def test_running_twice_changes_nothing_more(service: Session) -> None:
    user = make_user(service, timezone="Asia/Kolkata")
    make_lead(service, user, status=LeadStatus.SNOOZED, snooze_until=date(2026, 11, 26))
    run_housekeeping(service, at=AT)
    events = service.scalar(select(func.count()).select_from(ActionEvent))
    again = run_housekeeping(service, at=AT)
    assert (again.leads_unsnoozed, again.actions_unsnoozed, again.actions_archived, again.sync_logs_purged,
            again.nurtures_created, again.streaks_changed) == (0, 0, 0, 0, 0, 0)
    assert service.scalar(select(func.count()).select_from(ActionEvent)) == events
