"""OAuth flow states lose ``return_to``: no flow ever set it and nothing read it.

Every way of connecting a calendar (Slack, the preferences page, the CLI) ends on the callback's
own page, which says what happened and that the tab may be closed, so there is nowhere to return
to. A flow state lives ten minutes, so the column holds nothing worth keeping.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_column("oauth_flow_states", "return_to")


def downgrade() -> None:
    op.add_column("oauth_flow_states", sa.Column("return_to", sa.Text(), nullable=True))
