"""The plan message posted in a user's Slack DM on request.

* ``slack_plan_messages`` — the plan DM ``/nbm today`` posted (channel, ts) and the day it shows,
  one a user (a later one replaces it). The morning's plan DM was the only one recorded
  (``deliveries.external_id``), so a copy posted on request was never redrawn after a change made
  elsewhere, and the morning posted a second copy beside it; now every redraw of that day reaches
  it and the morning delivery takes it over (``bot.slack.plan_dm``). The user's own rows, under the
  owner policy every user-owned table has.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ME = "(SELECT app.current_user_id())"
SERVICE = "(SELECT app.is_service())"


def upgrade() -> None:
    op.create_table(
        "slack_plan_messages",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("ts", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("app.now()"), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("slack_plan_messages_user_id_fkey"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("slack_plan_messages_pkey")),
    )
    op.execute("ALTER TABLE slack_plan_messages ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE slack_plan_messages FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY slack_plan_messages_owner ON slack_plan_messages FOR ALL "
        f"USING (user_id = {ME} OR {SERVICE}) WITH CHECK (user_id = {ME} OR {SERVICE})"
    )


def downgrade() -> None:
    op.drop_table("slack_plan_messages")
