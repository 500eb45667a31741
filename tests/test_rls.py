"""Row-level security: connected as a non-superuser that owns the tables (RLS is FORCEd), user A's
context never reads or changes user B's rows, and with no context nothing user-owned is visible."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy.exc
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from core import db
from core.models import Base
from tests.factories import make_everything, make_system_rows, make_user

ALL_TABLES = sorted(Base.metadata.tables)


def _pk(table: str) -> str:
    return Base.metadata.tables[table].primary_key.columns.keys()[0]


@pytest.fixture()
def two_users(service: Session) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    alice = make_everything(service, make_user(service))
    bob = make_everything(service, make_user(service))
    system = make_system_rows(service)
    return alice, bob, system


def test_the_suite_runs_as_a_role_that_does_not_bypass_rls(connection: Connection) -> None:
    row = connection.execute(text(
        "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    )).one()
    assert tuple(row) == (False, False)


@pytest.mark.parametrize("table", ALL_TABLES)
def test_a_user_sees_only_their_own_rows(service: Session, two_users: Any, table: str) -> None:
    alice, _bob, system = two_users
    db.set_context(service, user_id=alice["users"].id)
    visible = set(service.execute(text(f"SELECT {_pk(table)} FROM {table}")).scalars())
    if table in system:
        assert visible == set()
    else:
        assert visible == {getattr(alice[table], _pk(table))}


@pytest.mark.parametrize("table", ALL_TABLES)
def test_a_user_cannot_change_or_delete_another_users_rows(service: Session, two_users: Any, table: str) -> None:
    alice, bob, system = two_users
    theirs = getattr((system if table in system else bob)[table], _pk(table))
    db.set_context(service, user_id=alice["users"].id)
    updated = service.execute(text(f"UPDATE {table} SET created_at = now() WHERE {_pk(table)} = :id"), {"id": theirs})
    deleted = service.execute(text(f"DELETE FROM {table} WHERE {_pk(table)} = :id"), {"id": theirs})
    assert (updated.rowcount, deleted.rowcount) == (0, 0)
    db.set_context(service, service=True)
    assert service.execute(text(f"SELECT count(*) FROM {table} WHERE {_pk(table)} = :id"), {"id": theirs}).scalar() == 1


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO leads (user_id, name, url) VALUES (:bob, 'Spy', 'https://x.io')",
        "UPDATE leads SET user_id = :bob WHERE user_id = :alice",
        "INSERT INTO daily_plan_actions (daily_plan_id, action_id, position, number) "
        "SELECT p.id, :bob_action, 7, 8 FROM daily_plans p WHERE p.user_id = :alice",
        "INSERT INTO users (email, name) VALUES ('new@x.io', 'New')",
        "INSERT INTO billing_events (stripe_event_id, type, payload) VALUES ('evt_x', 't', '{}')",
        # Her own rows pointing at his (migration 0012; every reference: tests/test_rls_references.py).
        "INSERT INTO actions (user_id, person_id, action_type, state, due_date) "
        "VALUES (:alice, :bob_lead, 'FOLLOW_UP', 'SENT', current_date)",
        "INSERT INTO logged_calls (user_id, lead_id, call_date) VALUES (:alice, :bob_lead, current_date)",
        "INSERT INTO action_events (user_id, action_id, to_state, channel) VALUES (:alice, :bob_action, 'DONE', 'cli')",
    ],
    ids=["lead-for-bob", "move-lead-to-bob", "bobs-action-in-alices-plan", "create-user", "billing-event",
         "alices-action-on-bobs-lead", "alices-call-with-bobs-lead", "alices-event-for-bobs-action"],
)
def test_a_user_cannot_write_rows_for_someone_else(service: Session, two_users: Any, statement: str) -> None:
    alice, bob, _ = two_users
    db.set_context(service, user_id=alice["users"].id)
    with pytest.raises(sqlalchemy.exc.ProgrammingError, match="row-level security"):
        with service.begin_nested():
            service.execute(text(statement), {"bob": bob["users"].id, "alice": alice["users"].id,
                                              "bob_action": bob["actions"].id, "bob_lead": bob["leads"].id})


@pytest.mark.parametrize("table", ALL_TABLES)
def test_with_no_context_nothing_is_visible(service: Session, two_users: Any, table: str) -> None:
    service.execute(text("SELECT set_config('app.user_id', '', true), set_config('app.service', '', true)"))
    assert service.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0


def test_the_service_context_sees_everyone(service: Session, two_users: Any) -> None:
    alice, bob, _ = two_users
    ids = set(service.execute(text("SELECT id FROM users")).scalars())
    assert {alice["users"].id, bob["users"].id} <= ids
