"""Undo: a person may take back their own change of an action for the rest of that local day.

The event log stays append-only: an undo is a new event (from the state the change made, back to
the state before it) whose ``undoes_event_id`` names the change it takes back; an event is undone at
most once. ``due_date_before`` keeps the due date a change replaced (a snooze moves it), so the
undo can put it back. ``action_log`` is the log as it stands: neither an undone change nor an undo,
which is what streaks, weekly numbers and "sent on" dates read (``security_invoker``: row-level
security applies to the reader, as on the table).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("action_events", sa.Column("undoes_event_id", sa.UUID(), nullable=True))
    op.add_column("action_events", sa.Column("due_date_before", sa.Date(), nullable=True))
    op.create_foreign_key("action_events_undoes_event_id_fkey", "action_events", "action_events",
                          ["undoes_event_id"], ["id"], ondelete="CASCADE")
    op.create_unique_constraint("action_events_undoes_event_id_key", "action_events", ["undoes_event_id"])
    op.execute(
        """
        CREATE VIEW action_log WITH (security_invoker = true) AS
        SELECT e.* FROM action_events e
        WHERE e.undoes_event_id IS NULL
          AND NOT EXISTS (SELECT 1 FROM action_events u WHERE u.undoes_event_id = e.id)
        """
    )


def downgrade() -> None:
    op.execute("DROP VIEW action_log")
    op.drop_constraint("action_events_undoes_event_id_key", "action_events", type_="unique")
    op.drop_constraint("action_events_undoes_event_id_fkey", "action_events", type_="foreignkey")
    op.drop_column("action_events", "due_date_before")
    op.drop_column("action_events", "undoes_event_id")
