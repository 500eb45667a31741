"""The deliveries' unique key carries each delivery's status, so the scheduler's probes answer from it.

The tick (``core.jobs.schedule``) probes the key (user, kind, channel, period) once per delivery that
may be owed, a couple of hundred thousand times at 100,000 users, to read whether it was sent or
failed. With ``status`` included in the key's index, a probe is an index-only scan: it reads no
row of the table (``nbm bench tick``).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = "deliveries_user_id_kind_channel_period_key"


def upgrade() -> None:
    op.drop_constraint(KEY, "deliveries", type_="unique")
    op.execute(f"ALTER TABLE deliveries ADD CONSTRAINT {KEY} UNIQUE (user_id, kind, channel, period) INCLUDE (status)")


def downgrade() -> None:
    op.drop_constraint(KEY, "deliveries", type_="unique")
    op.create_unique_constraint(KEY, "deliveries", ["user_id", "kind", "channel", "period"])
