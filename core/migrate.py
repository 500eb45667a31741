"""Running and checking the Alembic migrations from code (``nbm db …`` and the test suite)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from core.models import Base

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(connection: Connection | None = None) -> Config:
    """The project's Alembic configuration, optionally bound to an open connection."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection, revision: str = "head") -> None:
    command.upgrade(alembic_config(connection), revision)


def downgrade(connection: Connection, revision: str) -> None:
    command.downgrade(alembic_config(connection), revision)


def heads() -> list[str]:
    return list(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


#: Columns a migration stopped the code reading but left in place, as ``(table, column)``: the code a
#: deploy replaces still serves while the release phase migrates (README, "Deploy"), and reads
#: them. The models no longer hold them; the later migration that drops them takes them off here.
RETIRED_COLUMNS = frozenset({("user_settings", "capacity_override"), ("user_settings", "capacity_override_date")})


def schema_differences(connection: Connection) -> list[object]:
    """What differs between the models and the migrated database (empty when they match), but for
    :data:`RETIRED_COLUMNS`."""
    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": _not_retired})
    return list(compare_metadata(context, Base.metadata))


def _not_retired(item: object, name: str | None, kind: str, reflected: bool, compare_to: object | None) -> bool:
    """Alembic's filter of what it compares: everything but a retired column found in the database."""
    table = getattr(getattr(item, "table", None), "name", None)
    return not (kind == "column" and reflected and compare_to is None and (table, name) in RETIRED_COLUMNS)
