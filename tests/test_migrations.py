"""The migrations: one head, the models match the migrated schema, and downgrade works."""

from __future__ import annotations

from sqlalchemy import Connection, inspect, text

from core import migrate


def test_there_is_one_head_and_the_database_is_at_it(connection: Connection) -> None:
    """Two heads would make ``nbm db upgrade`` refuse to run on the next deploy."""
    heads = migrate.heads()
    assert len(heads) == 1
    assert migrate.current_revision(connection) == heads[0]


def test_the_models_match_the_migrated_schema(connection: Connection) -> None:
    assert migrate.schema_differences(connection) == []


def test_downgrade_to_nothing_and_back(connection: Connection) -> None:
    """Runs inside the test's transaction (PostgreSQL DDL is transactional), so it is rolled back."""
    migrate.downgrade(connection, "base")
    assert [t for t in inspect(connection).get_table_names() if t != "alembic_version"] == []
    assert connection.execute(text("SELECT count(*) FROM pg_type WHERE typname = 'action_state'")).scalar() == 0
    migrate.upgrade(connection)
    assert len(inspect(connection).get_table_names()) == 24  # 23 of the product's, and alembic_version
    assert migrate.schema_differences(connection) == []
