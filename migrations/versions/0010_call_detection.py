"""Calls found in the calendar: the opt-in setting, a lead's email, and which event made which call.

* ``user_settings.call_detection`` — off by default: reading events (who attends them) needs a
  wider grant than free/busy, which the user chooses to give.
* ``calendar_connections.reads_events`` — whether this connection's grant lets us read events and
  their attendees (Google ``calendar.events.readonly``, Outlook ``Calendars.Read``; an iCal address
  always does). A connection made for free/busy only must be reconnected to find calls.
* ``leads.email`` — an address to recognise the lead among an event's attendees (a ``mailto:`` lead
  is recognised by its address already). Stored lower-case; one lead per email per user.
* ``calendar_event_calls`` — the event (by the provider's id for it) that made a logged call, so one
  event makes one call however often it is read, and a moved or cancelled event finds its call.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ME = "(SELECT app.current_user_id())"
SERVICE = "(SELECT app.is_service())"


def upgrade() -> None:
    op.add_column("user_settings", sa.Column("call_detection", sa.Boolean(), server_default=sa.text("false"),
                                             nullable=False))
    op.add_column("calendar_connections", sa.Column("reads_events", sa.Boolean(), server_default=sa.text("false"),
                                                    nullable=False))
    op.execute("UPDATE calendar_connections SET reads_events = true WHERE provider::text = 'ics'")
    op.add_column("leads", sa.Column("email", sa.Text(), nullable=True))
    op.create_check_constraint("leads_email_lower", "leads", "email = lower(email) AND email LIKE '%_@_%'")
    op.create_index("leads_user_id_email_key", "leads", ["user_id", "email"], unique=True,
                    postgresql_where=sa.text("email IS NOT NULL"))
    op.create_table(
        "calendar_event_calls",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("calendar_connection_id", sa.UUID(), nullable=False),
        sa.Column("event_key", sa.Text(), nullable=False),
        sa.Column("logged_call_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("app.now()"), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("calendar_event_calls_user_id_fkey"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["calendar_connection_id"], ["calendar_connections.id"],
                                name=op.f("calendar_event_calls_calendar_connection_id_fkey"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["logged_call_id"], ["logged_calls.id"],
                                name=op.f("calendar_event_calls_logged_call_id_fkey"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("calendar_event_calls_pkey")),
        sa.UniqueConstraint("calendar_connection_id", "event_key",
                            name=op.f("calendar_event_calls_calendar_connection_id_event_key_key")),
    )
    op.create_index("idx_calendar_event_calls_logged_call", "calendar_event_calls", ["logged_call_id"])
    op.execute("ALTER TABLE calendar_event_calls ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE calendar_event_calls FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY calendar_event_calls_owner ON calendar_event_calls FOR ALL "
        f"USING (user_id = {ME} OR {SERVICE}) WITH CHECK (user_id = {ME} OR {SERVICE})"
    )


def downgrade() -> None:
    op.drop_table("calendar_event_calls")
    op.drop_index("leads_user_id_email_key", table_name="leads")
    op.drop_constraint("leads_email_lower", "leads", type_="check")
    op.drop_column("leads", "email")
    op.drop_column("calendar_connections", "reads_events")
    op.drop_column("user_settings", "call_detection")
