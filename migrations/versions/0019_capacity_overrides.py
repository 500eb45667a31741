"""A capacity override per day.

* ``capacity_overrides`` — the capacity a user chose for one local day, one row per (user, day).
  ``user_settings`` held a single (``capacity_override``, ``capacity_override_date``) pair, so
  setting tomorrow's capacity silently erased today's, and ``default`` for one day cleared another
  day's. The pair still set moves here. The user's own rows, under the owner policy every
  user-owned table has.
* The pair's two columns stay, unread: the release phase migrates while the code before this one
  still serves (README, "Deploy"), and that code reads them with every user's settings. A later
  migration drops them, once no code running reads them.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ME = "(SELECT app.current_user_id())"
SERVICE = "(SELECT app.is_service())"
CAPACITY = postgresql.ENUM(name="capacity_level", create_type=False)


def upgrade() -> None:
    op.create_table(
        "capacity_overrides",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("capacity", CAPACITY, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("app.now()"), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("capacity_overrides_user_id_fkey"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "day", name=op.f("capacity_overrides_pkey")),
    )
    op.execute("ALTER TABLE capacity_overrides ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE capacity_overrides FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY capacity_overrides_owner ON capacity_overrides FOR ALL "
        f"USING (user_id = {ME} OR {SERVICE}) WITH CHECK (user_id = {ME} OR {SERVICE})"
    )
    op.execute("""
        INSERT INTO capacity_overrides (user_id, day, capacity)
        SELECT user_id, capacity_override_date, capacity_override FROM user_settings
        WHERE capacity_override IS NOT NULL AND capacity_override_date IS NOT NULL
    """)


def downgrade() -> None:
    """Back to one pair a user: the override of the latest day each user set is the one kept."""
    op.execute("""
        UPDATE user_settings s SET capacity_override = o.capacity, capacity_override_date = o.day
        FROM (SELECT DISTINCT ON (user_id) user_id, day, capacity FROM capacity_overrides
              ORDER BY user_id, day DESC) AS o
        WHERE o.user_id = s.user_id
    """)
    op.drop_table("capacity_overrides")
