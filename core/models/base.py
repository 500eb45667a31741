"""Declarative base, naming convention and column helpers shared by every model.

Constraint names follow PostgreSQL's own defaults (``users_pkey``, ``leads_user_id_fkey``,
``daily_plans_user_id_date_key``) so the database reads like the schema design that describes it.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import Date, DateTime, Enum, FetchedValue, MetaData, inspect, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.clock import utcnow
from core.crypto import EncryptedText

NAMING_CONVENTION = {
    "pk": "%(table_name)s_pkey",
    "fk": "%(table_name)s_%(column_0_name)s_fkey",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "ck": "%(constraint_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: DateTime(timezone=True),
        date: Date(),
        uuid.UUID: UUID(as_uuid=True),
        dict[str, Any]: JSONB(),
    }

    def __repr__(self) -> str:
        """A few identifying columns only: a repr must never carry a token or a note's content."""
        columns = inspect(type(self)).columns
        shown = [
            f"{key}={getattr(self, key, None)!r}"
            for key in _REPR_COLUMNS
            if key in columns and not isinstance(columns[key].type, EncryptedText)
        ]
        return f"{type(self).__name__}({', '.join(shown)})"


_REPR_COLUMNS = ("id", "user_id", "state", "status", "date", "action_type", "provider")


def pg_enum(py_enum: type[enum.Enum], name: str) -> Enum:
    """A native PostgreSQL enum whose labels are the Python members' values."""
    return Enum(py_enum, name=name, values_callable=lambda members: [m.value for m in members])


def uuid_pk() -> Mapped[uuid.UUID]:
    """UUID primary key: generated in Python so new objects have an id before they are flushed."""
    return mapped_column(primary_key=True, default=uuid.uuid4, server_default=text("gen_random_uuid()"))


#: The database's "now" for the rows the product writes: ``core.clock``'s instant, which each unit of
#: work hands to its transaction (``core/db.py``), falling back to ``now()`` where none was set
#: (migration 0005 says why). It stamps ``updated_at`` (by trigger) and rows inserted by plain SQL.
APP_NOW = text("app.now()")


def stamped_at() -> Mapped[datetime]:
    """The instant a row is inserted, by ``core.clock``.

    Set in Python when the ORM flushes (the clock as it is then, even in a unit of work opened
    before a test moved it), by ``app.now()`` for rows inserted otherwise. Never the database
    server's own clock: a due date checked against ``created_at`` must come from the same clock
    as the date the product decided on.
    """
    return mapped_column(nullable=False, default=utcnow, server_default=APP_NOW)


created_at = stamped_at


def updated_at() -> Mapped[datetime]:
    """Kept current by the ``update_updated_at_column`` trigger (``app.now()``); re-read after updates."""
    return mapped_column(nullable=False, default=utcnow, server_default=APP_NOW, server_onupdate=FetchedValue())
