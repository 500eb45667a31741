"""Slack events already handled (de-duplication of Slack's retries), service-only under RLS.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_events",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("team_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("slack_events_pkey")),
        sa.UniqueConstraint("team_id", "event_id", name=op.f("slack_events_team_id_event_id_key")),
    )
    op.create_index("idx_slack_events_created_at", "slack_events", ["created_at"], unique=False)
    op.execute("ALTER TABLE slack_events ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE slack_events FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY slack_events_service ON slack_events FOR ALL "
        "USING ((SELECT app.is_service())) WITH CHECK ((SELECT app.is_service()))"
    )


def downgrade() -> None:
    op.execute("DROP POLICY slack_events_service ON slack_events")
    op.drop_index("idx_slack_events_created_at", table_name="slack_events")
    op.drop_table("slack_events")
