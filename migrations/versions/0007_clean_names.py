"""Clean the names stored before names were checked, so every name follows the rule (core.names).

A user's name with a line break in it made every email to them impossible to build (Python refuses
the ``To:`` header), and no command can rename a user, so those users would never be mailed again;
a lead's name with one would start a line of its own wherever it is shown. Each stored name breaking
the rule is cleaned as a Slack profile name is on first contact (:func:`core.names.clean_name`):
each run of control characters becomes one space. A name that cleaning empties falls back to the
email's local part (users) or to "Unnamed lead". Names that follow the rule are left untouched.

The rule is imported, not copied, so the rows end up exactly as the application would now write them.
Downgrading keeps the cleaned names: the old ones were the fault.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.names import UNSAFE, clean_name

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_USERS = sa.table("users", sa.column("id", sa.UUID()), sa.column("name", sa.Text()), sa.column("email", sa.Text()))
_LEADS = sa.table("leads", sa.column("id", sa.UUID()), sa.column("name", sa.Text()))


def upgrade() -> None:
    bind = op.get_bind()
    # Row-level security is forced on both tables: act as the service, then put the context back
    # (a migration may run inside a caller's transaction, as the test suite's does).
    before = bind.scalar(sa.text("SELECT current_setting('app.service', true)")) or ""
    bind.execute(sa.text("SELECT set_config('app.service', 'on', true)"))
    users = bind.execute(sa.select(_USERS.c.id, _USERS.c.name, _USERS.c.email).execution_options(yield_per=5_000))
    _rename(_USERS, [(row.id, clean_name(row.name) or clean_name(row.email.split("@")[0]) or "Unnamed user")
                     for row in users if UNSAFE.search(row.name)])
    leads = bind.execute(sa.select(_LEADS.c.id, _LEADS.c.name).execution_options(yield_per=5_000))
    _rename(_LEADS, [(row.id, clean_name(row.name) or "Unnamed lead") for row in leads if UNSAFE.search(row.name)])
    bind.execute(sa.text("SELECT set_config('app.service', :before, true)"), {"before": before})


def _rename(table: sa.TableClause, names: list[tuple[object, str]]) -> None:
    """Give each row ``(id, name)`` its new name (the rows are read in full before any is written)."""
    if names:
        op.get_bind().execute(
            table.update().where(table.c.id == sa.bindparam("row_id")).values(name=sa.bindparam("new_name")),
            [{"row_id": row_id, "new_name": name} for row_id, name in names],
        )


def downgrade() -> None:
    """Nothing to undo: the names that broke the rule are not kept."""
