"""Each plan item keeps the number it was given for the day.

* ``daily_plan_actions.number`` — the number the person reads and types (``/nbm done 3``). It was
  the item's position + 1, which moves as the plan changes (a reply joins after the Fast Win, a
  refresh closes gaps), so a number read in the morning could mark another item by the evening.
  Given when the item joins the plan and never changed; unique in its plan, 1 or more.
* ``daily_plans.last_number`` — the highest number given in the plan so far: a later item gets the
  next one, so a number dropped with its item is not given again that day.

Items stored before this revision get the number they showed (position + 1), and each plan's counter
the highest of its items' (0 for an empty plan).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("daily_plans", sa.Column("last_number", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.add_column("daily_plan_actions", sa.Column("number", sa.Integer(), nullable=True))
    bind = op.get_bind()
    before = bind.scalar(sa.text("SELECT current_setting('app.service', true)")) or ""
    bind.execute(sa.text("SELECT set_config('app.service', 'on', true)"))  # every user's rows, under forced RLS
    bind.execute(sa.text("UPDATE daily_plan_actions SET number = position + 1"))
    bind.execute(sa.text("""
        UPDATE daily_plans p SET last_number = numbered.last
        FROM (SELECT daily_plan_id, max(number) AS last FROM daily_plan_actions GROUP BY daily_plan_id) AS numbered
        WHERE numbered.daily_plan_id = p.id
    """))
    bind.execute(sa.text("SELECT set_config('app.service', :before, true)"), {"before": before})
    op.alter_column("daily_plan_actions", "number", nullable=False)
    op.create_unique_constraint(op.f("daily_plan_actions_daily_plan_id_number_key"), "daily_plan_actions",
                                ["daily_plan_id", "number"])
    op.create_check_constraint(op.f("daily_plan_actions_number_positive"), "daily_plan_actions", "number >= 1")


def downgrade() -> None:
    op.drop_constraint(op.f("daily_plan_actions_number_positive"), "daily_plan_actions", type_="check")
    op.drop_constraint(op.f("daily_plan_actions_daily_plan_id_number_key"), "daily_plan_actions", type_="unique")
    op.drop_column("daily_plan_actions", "number")
    op.drop_column("daily_plans", "last_number")
