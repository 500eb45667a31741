"""Who logged each call: ``logged_calls.source``, ``person`` or ``system`` (``core.models.CallSource``).

* The weekly summary counts the day a person logged a call as a day they were active, and told the
  calls found in the calendar apart only by their ``calendar_event_calls`` row. A search deletes that
  row when the event is gone or no longer with the lead, and keeps a call the user acted on: the call
  then counted as the user's own. The source is now written once, when the call is logged.
* Existing rows: a call with a ``calendar_event_calls`` row was found in the calendar (``system``);
  every other is ``person``, the default, as each was counted before (the demo's seeded call among
  them; the demo seeded again logs it ``system``).
* Safe while the code before this one still serves (README, "Deploy"): a column with a default,
  nothing dropped. That code writes no source, so a call it finds in the calendar in those minutes
  would be ``person``: the trigger ``calendar_event_calls_source`` marks the call of every new
  ``calendar_event_calls`` row ``system``, as the backfill did. The code from this revision on logs
  such a call ``system`` already, so the trigger changes nothing for it; a later migration drops it
  once no code before this one can run.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SOURCE = postgresql.ENUM("person", "system", name="call_source", create_type=False)


def upgrade() -> None:
    SOURCE.create(op.get_bind(), checkfirst=False)
    op.add_column("logged_calls", sa.Column("source", SOURCE, server_default="person", nullable=False))
    op.execute("""
        CREATE FUNCTION app.call_found_in_calendar() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          UPDATE logged_calls SET source = 'system' WHERE id = NEW.logged_call_id AND source <> 'system';
          RETURN NULL;
        END;
        $$
    """)
    op.execute("""
        CREATE TRIGGER calendar_event_calls_source AFTER INSERT ON calendar_event_calls
        FOR EACH ROW EXECUTE FUNCTION app.call_found_in_calendar()
    """)
    op.execute("""
        UPDATE logged_calls c SET source = 'system'
        WHERE EXISTS (SELECT 1 FROM calendar_event_calls k WHERE k.logged_call_id = c.id)
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER calendar_event_calls_source ON calendar_event_calls")
    op.execute("DROP FUNCTION app.call_found_in_calendar()")
    op.drop_column("logged_calls", "source")
    SOURCE.drop(op.get_bind(), checkfirst=False)
