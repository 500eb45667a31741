"""Each weekly summary keeps the timezone its week was measured in.

* ``weekly_summaries.timezone`` — the user's IANA timezone when the summary was built. A week starts
  where the week before ended, at local midnight on its Monday in the timezone that week's summary
  was measured in (``core.summaries.service``), so after a move no event falls in neither week or
  in both. Summaries stored before this revision get their user's timezone now: no history of
  timezones was kept, and it is the one they were most likely measured in.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("weekly_summaries", sa.Column("timezone", sa.Text(), nullable=True))
    bind = op.get_bind()
    before = bind.scalar(sa.text("SELECT current_setting('app.service', true)")) or ""
    bind.execute(sa.text("SELECT set_config('app.service', 'on', true)"))  # every user's rows, under forced RLS
    bind.execute(sa.text("UPDATE weekly_summaries w SET timezone = u.timezone FROM users u WHERE u.id = w.user_id"))
    bind.execute(sa.text("SELECT set_config('app.service', :before, true)"), {"before": before})
    op.alter_column("weekly_summaries", "timezone", nullable=False)


def downgrade() -> None:
    op.drop_column("weekly_summaries", "timezone")
