"""The send of a delivery holds a lease in the ledger, committed before the send.

* ``deliveries.sending_since`` — when a job claimed the delivery to send it; cleared once its send
  (or its failure) is recorded. A claim finding a fresh lease leaves the delivery to its holder,
  so a second job never sends it meanwhile, even when the holder's database connection is cut (a
  row lock would go with the connection). After a crash the lease lapses and the delivery is
  tried again (``SEND_LEASE_SECONDS``; ``core.jobs.attempts``).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("sending_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("deliveries", "sending_since")
