"""Index the two foreign keys of actions that point at other rows' deletions.

Deleting an action or a logged call makes PostgreSQL look for the actions that reference it
(``source_action_id`` is set NULL, ``logged_call_id`` cascades); without an index that is a scan of
the whole actions table per deleted row, so removing a user with a long history took minutes
(found by benchmarks/plan_batch.py). Partial: most actions reference neither.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("idx_actions_source_action_id", "actions", ["source_action_id"],
                    postgresql_where="source_action_id IS NOT NULL")
    op.create_index("idx_actions_logged_call_id", "actions", ["logged_call_id"],
                    postgresql_where="logged_call_id IS NOT NULL")


def downgrade() -> None:
    op.drop_index("idx_actions_logged_call_id", table_name="actions")
    op.drop_index("idx_actions_source_action_id", table_name="actions")
