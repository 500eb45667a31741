"""A third kind of calendar connection: a private iCal address (``ics``).

Every major calendar publishes one, and it needs no OAuth app, which self-hosters often cannot get
verified. The address is a secret: it is stored, encrypted, in ``refresh_token`` (the column that
holds what grants access for the other providers), and ``calendar_id`` keeps only its host.

PostgreSQL cannot remove a value from an enum type, so downgrading deletes the ``ics``
connections and leaves the label in place (unused).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TYPE calendar_provider ADD VALUE IF NOT EXISTS 'ics'")


def downgrade() -> None:
    op.execute("SELECT set_config('app.service', 'on', true)")
    op.execute("DELETE FROM oauth_flow_states WHERE provider::text = 'ics'")
    op.execute("DELETE FROM calendar_connections WHERE provider::text = 'ics'")
