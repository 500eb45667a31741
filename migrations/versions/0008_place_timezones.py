"""Give every user a timezone that is a place: the names core.clock.zone no longer accepts are mapped.

``zone()`` now accepts only the IANA name of a place, or UTC (``localtime``, ``Factory``, ``Etc/…``,
rules such as ``EST5EDT`` and old aliases such as ``US/Eastern`` are refused), and every user's
"today" goes through it: a user stored with one of those would fail every morning. Each such name
becomes the place it is a link to in the tz database (US/Eastern → America/New_York, GB →
Europe/London); a name that links to no place (``Factory``, ``localtime``, ``Etc/GMT+5``), or that
the tz database does not know, becomes UTC (``core.clock.place_for``). Downgrading keeps the new
names: the old ones denoted the same rules, or none.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# The rule is core.clock's, shared with first contact from Slack: this migration has always depended on
# core.clock (which names zone() accepts), and core.clock imports nothing that changes with the schema.
# What the migration makes of each kind of name is pinned by tests/test_migration_timezones.py, so a
# change of the rule that would change this migration's result fails there.
from core.clock import place_for

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_USERS = sa.table("users", sa.column("id", sa.UUID()), sa.column("timezone", sa.Text()))


def upgrade() -> None:
    bind = op.get_bind()
    before = bind.scalar(sa.text("SELECT current_setting('app.service', true)")) or ""
    bind.execute(sa.text("SELECT set_config('app.service', 'on', true)"))
    for (name,) in bind.execute(sa.select(_USERS.c.timezone).distinct()).all():
        place = place_for(name) or "UTC"
        if place != name:
            bind.execute(_USERS.update().where(_USERS.c.timezone == name).values(timezone=place))
    bind.execute(sa.text("SELECT set_config('app.service', :before, true)"), {"before": before})


def downgrade() -> None:
    """Nothing to undo: the new names denote the same rules as the old ones (or UTC for none)."""
