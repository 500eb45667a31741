"""Give every user a timezone that is a place: the names core.clock.zone no longer accepts are mapped.

``zone()`` now accepts only the IANA name of a place, or UTC (``localtime``, ``Factory``, ``Etc/…``,
rules such as ``EST5EDT`` and old aliases such as ``US/Eastern`` are refused), and every user's
"today" goes through it: a user stored with one of those would fail every morning. Each such name
becomes the place it is a link to in the tz database (US/Eastern → America/New_York, GB →
Europe/London); a name that links to no place (``Factory``, ``localtime``, ``Etc/GMT+5``) becomes
UTC. Downgrading keeps the new names: the old ones denoted the same rules, or none.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from zoneinfo import TZPATH

import sqlalchemy as sa
from alembic import op

from core.clock import zone
from core.errors import ValidationError

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
        if not _accepted(name):
            bind.execute(_USERS.update().where(_USERS.c.timezone == name).values(timezone=_place_for(name)))
    bind.execute(sa.text("SELECT set_config('app.service', :before, true)"), {"before": before})


def downgrade() -> None:
    """Nothing to undo: the new names denote the same rules as the old ones (or UTC for none)."""


def _accepted(name: str) -> bool:
    try:
        zone(name)
    except ValidationError:
        return False
    return True


def _place_for(name: str) -> str:
    """The place ``name`` is a link to in the tz database (followed as far as it goes), else UTC."""
    links = _links()
    seen = {name}
    while name in links and links[name] not in seen:
        name = links[name]
        seen.add(name)
    return name if _accepted(name) else "UTC"


@cache
def _links() -> dict[str, str]:
    """``alias → target`` from the tz database's own source (``tzdata.zi``: lines ``L TARGET ALIAS``)."""
    for root in map(Path, TZPATH):
        source = root / "tzdata.zi"
        if source.is_file():
            return {alias: target for _, target, alias in
                    (line.split()[:3] for line in source.read_text().splitlines() if line.startswith("L "))}
    return {}
