"""One test per fault of the schema design (SCHEMA-NOTES.md); each would fail on the design's version."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy.exc
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from core import db
from core.models import ActionType, Base, CalendarConnectionStatus
from tests.factories import make_action, make_calendar_connection, make_lead, make_plan, make_user


def test_current_user_id_reads_the_transaction_setting_and_is_null_after_commit(connection: Connection) -> None:
    """Fault 1: auth.uid() called itself. app.current_user_id() reads app.user_id, '' reads as NULL."""
    uid = "6f1c1f4e-3f55-4a8e-9d39-2f7b8e1c0a11"
    connection.execute(text("SELECT set_config('app.user_id', :u, true)"), {"u": uid})
    assert str(connection.execute(text("SELECT app.current_user_id()")).scalar()) == uid
    connection.execute(text("SELECT set_config('app.user_id', '', true)"))
    assert connection.execute(text("SELECT app.current_user_id()")).scalar() is None


def test_deleting_the_last_active_calendar_clears_the_flag(service: Session) -> None:
    """Fault 2: the design's trigger used NEW on DELETE and left calendar_connected = true."""
    user = make_user(service)
    conn = make_calendar_connection(service, user)
    service.refresh(user)
    assert user.calendar_connected is True
    service.delete(conn)
    service.flush()
    service.refresh(user)
    assert user.calendar_connected is False


def test_expiring_a_calendar_clears_the_flag_and_reconnecting_sets_it(service: Session) -> None:
    user = make_user(service)
    conn = make_calendar_connection(service, user)
    conn.status = CalendarConnectionStatus.EXPIRED
    service.flush()
    service.refresh(user)
    assert user.calendar_connected is False
    conn.status = CalendarConnectionStatus.ACTIVE
    service.flush()
    service.refresh(user)
    assert user.calendar_connected is True


def test_an_action_due_on_the_users_today_is_accepted_when_the_server_is_on_tomorrow(
    service: Session,
) -> None:
    """Fault 3: at 03:00 UTC on 25 Nov it is still 24 Nov in Los Angeles; the design refused it."""
    service.execute(text("SET LOCAL timezone = 'Asia/Tokyo'"))
    user = make_user(service, timezone="America/Los_Angeles")
    action = make_action(service, user, due_date=date(2026, 11, 24),
                         created_at=datetime(2026, 11, 25, 3, 0, tzinfo=UTC))
    assert action.due_date == date(2026, 11, 24)


def test_writing_a_snoozed_action_does_not_touch_other_users_rows(service: Session) -> None:
    """Fault 4: the design's trigger unsnoozed every user's leads and actions on any such write."""
    alice, bob = make_user(service), make_user(service)
    bobs_lead = make_lead(service, bob, status="SNOOZED", snooze_until=date(2020, 1, 1))
    make_action(service, alice, snooze_until=date(2026, 12, 1), state="SNOOZED")
    service.refresh(bobs_lead)
    assert bobs_lead.status == "SNOOZED"
    triggers = service.execute(text(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'actions'::regclass AND NOT tgisinternal"
    )).scalars().all()
    assert triggers == ["update_actions_updated_at"]


def test_the_designs_server_timezone_streak_functions_are_not_installed(connection: Connection) -> None:
    """Fault 5: calculate_user_streak counted server-timezone days one query at a time."""
    names = connection.execute(text(
        "SELECT proname FROM pg_proc WHERE proname IN ('calculate_user_streak', 'update_user_streak', "
        "'auto_unsnooze_items')"
    )).scalars().all()
    assert names == []


def test_every_table_forces_row_level_security_and_has_a_policy(connection: Connection) -> None:
    """Fault 6 (part): daily_plan_actions had no policy; sync logs and billing events had none."""
    rows = connection.execute(text("""
        SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
               (SELECT count(*) FROM pg_policies p WHERE p.tablename = c.relname) AS policies
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'alembic_version'
    """)).all()
    assert len(rows) == len(Base.metadata.tables)
    assert [r.relname for r in rows if not (r.relrowsecurity and r.relforcerowsecurity and r.policies)] == []


def test_a_plan_can_be_reordered_row_by_row(service: Session) -> None:
    """Fault 7: UNIQUE(daily_plan_id, position) failed mid-update when swapping two positions."""
    user = make_user(service)
    first, second = make_action(service, user), make_action(service, user)
    plan = make_plan(service, user, [first, second])
    service.execute(text("UPDATE daily_plan_actions SET position = 1 WHERE action_id = :a"), {"a": first.id})
    service.execute(text("UPDATE daily_plan_actions SET position = 0 WHERE action_id = :a"), {"a": second.id})
    service.flush()
    service.expire_all()
    assert [item.action_id for item in plan.items] == [second.id, first.id]


def test_a_duplicate_position_is_still_refused_at_commit(service: Session) -> None:
    """The check is deferred, not dropped: at commit (forced here, inside the test's transaction)."""
    user = make_user(service)
    plan = make_plan(service, user, [make_action(service, user)])
    service.execute(text(
        "INSERT INTO daily_plan_actions (daily_plan_id, action_id, position, number) VALUES (:p, :a, 0, 2)"
    ), {"p": plan.id, "a": make_action(service, user).id})
    with pytest.raises(sqlalchemy.exc.IntegrityError, match="daily_plan_actions_daily_plan_id_position_key"):
        with service.begin_nested():
            service.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))


def test_token_expiry_after_2038_is_stored(service: Session) -> None:
    """Fault 8: expires_at INTEGER overflowed on 19 January 2038."""
    after_2038 = int(datetime(2040, 6, 1, tzinfo=UTC).timestamp())
    conn = make_calendar_connection(service, make_user(service), expires_at=after_2038)
    service.expire(conn)
    assert conn.expires_at == after_2038


def test_email_is_unique_whatever_its_case(connection: Connection) -> None:
    """Fault 9: Ann@x.io and ann@x.io became two users."""
    with pytest.raises(sqlalchemy.exc.IntegrityError, match="users_email_lower_key"):
        with db.unit_of_work(service=True) as session:
            make_user(session, email="Ann@x.io")
            make_user(session, email="ann@x.io")


def test_the_lead_status_type_and_leads_table_carry_their_real_names(connection: Connection) -> None:
    """Fault 10: the migration outline still said pin_status / person_pins."""
    types = connection.execute(text("SELECT typname FROM pg_type WHERE typname IN ('lead_status', 'pin_status')"))
    tables = connection.execute(text("SELECT to_regclass('leads') IS NOT NULL, to_regclass('person_pins') IS NULL"))
    assert types.scalars().all() == ["lead_status"]
    assert tables.one() == (True, True)


def test_no_index_repeats_another(connection: Connection) -> None:
    """Fault 11: idx_users_email and two daily_plans indexes repeated unique constraints' indexes."""
    duplicates = connection.execute(text("""
        SELECT a.indexrelid::regclass::text, b.indexrelid::regclass::text
        FROM pg_index a JOIN pg_index b
          ON a.indrelid = b.indrelid AND a.indexrelid < b.indexrelid
         AND a.indkey::text = b.indkey::text AND a.indclass::text = b.indclass::text
         AND coalesce(pg_get_expr(a.indexprs, a.indrelid), '') = coalesce(pg_get_expr(b.indexprs, b.indrelid), '')
         AND coalesce(pg_get_expr(a.indpred, a.indrelid), '') = coalesce(pg_get_expr(b.indpred, b.indrelid), '')
         AND a.indoption::text = b.indoption::text
        JOIN pg_class t ON t.oid = a.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = 'public'
    """)).all()
    assert duplicates == []


def test_auto_archive_moves_old_done_actions_and_logs_it(service: Session) -> None:
    user = make_user(service)
    old = make_action(service, user, state="DONE", due_date=date(2026, 1, 5),
                      created_at=datetime(2026, 1, 5, tzinfo=UTC), completed_at=datetime(2026, 1, 6, tzinfo=UTC))
    recent = make_action(service, user, state="DONE", completed_at=datetime.now(UTC))
    assert service.execute(text("SELECT auto_archive_old_actions()")).scalar() == 1
    service.refresh(old)
    service.refresh(recent)
    assert (old.state, recent.state) == ("ARCHIVED", "DONE")
    logged = service.execute(text("SELECT from_state, to_state, channel FROM action_events WHERE action_id = :a"),
                             {"a": old.id}).one()
    assert tuple(map(str, logged)) == ("DONE", "ARCHIVED", "system")


def test_updated_at_moves_on_update(service: Session) -> None:
    user = make_user(service)
    service.execute(text("UPDATE users SET updated_at = '2020-01-01' , name = 'x' WHERE id = :u"), {"u": user.id})
    service.refresh(user)
    assert user.updated_at.year >= 2026


def test_the_action_event_log_is_append_only(service: Session) -> None:
    """No policy allows UPDATE, even for the service (a trigger also refuses it for superusers)."""
    user = make_user(service)
    make_action(service, user, action_type=ActionType.FAST_WIN)
    service.execute(text(
        "INSERT INTO action_events (user_id, action_id, to_state, channel) "
        "SELECT user_id, id, 'NEW', 'cli' FROM actions WHERE user_id = :u"), {"u": user.id})
    changed = service.execute(text("UPDATE action_events SET channel = 'system' WHERE user_id = :u"), {"u": user.id})
    assert changed.rowcount == 0
    assert service.execute(text("SELECT channel::text FROM action_events WHERE user_id = :u"),
                           {"u": user.id}).scalar() == "cli"
