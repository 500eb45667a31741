"""Alembic environment: migrates the database the project's settings point at.

A caller may hand over an open connection in ``config.attributes["connection"]`` (the test suite
and ``nbm db upgrade`` do); otherwise the URL comes from core.config / core.embedded.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from core.db import get_engine
from core.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    with get_engine().connect() as connection:
        _run(connection)
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run them against a database")
run_migrations_online()
