"""One clock: the database's own timestamps come from the application's clock.

Until now every ``created_at`` / ``updated_at`` default and the ``updated_at`` trigger read
PostgreSQL's ``now()``, while every date the product decides on (today's plan, a due date, a
snooze) came from ``core.clock``. Two clocks disagree as soon as either one is moved: tests pin
``core.clock`` and cannot pin the server's, so an action due on the pinned "today" broke
``valid_due_date`` once the real date had moved on; a server whose clock drifts would do the same.

``app.now()`` reads the transaction-local setting ``app.now``, which every unit of work sets from
``core.clock.utcnow()`` beside ``app.user_id`` (``core/db.py``). It falls back to ``now()`` where
nobody set it (a ``psql`` session, a migration), so the defaults remain a backstop, not a rule the
application relies on. Like ``now()``, it is the same for the whole transaction.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Every column whose default was ``now()``.
STAMPED = {
    "users": ["created_at", "updated_at"],
    "user_settings": ["created_at", "updated_at"],
    "leads": ["created_at", "updated_at"],
    "actions": ["created_at", "updated_at"],
    "action_events": ["created_at"],
    "logged_calls": ["created_at"],
    "daily_plans": ["created_at", "updated_at", "generated_at"],
    "daily_plan_actions": ["created_at"],
    "weekly_summaries": ["created_at", "updated_at", "generated_at"],
    "content_prompts": ["created_at", "updated_at", "saved_at"],
    "calendar_connections": ["created_at", "updated_at"],
    "calendar_sync_logs": ["created_at"],
    "oauth_flow_states": ["created_at"],
    "billing_customers": ["created_at", "updated_at"],
    "billing_subscriptions": ["created_at", "updated_at"],
    "billing_events": ["created_at"],
    "deliveries": ["created_at", "updated_at"],
    "slack_installations": ["created_at", "updated_at", "installed_at"],
    "slack_user_links": ["created_at", "updated_at"],
    "slack_events": ["created_at"],
}


def _functions(clock: str) -> list[str]:
    """The functions that stamp rows, reading ``clock`` (``app.now()`` up, ``now()`` down)."""
    return [
        f"""
        CREATE OR REPLACE FUNCTION update_updated_at_column() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          NEW.updated_at = {clock};
          RETURN NEW;
        END;
        $$
        """,
        f"""
        CREATE OR REPLACE FUNCTION auto_archive_old_actions(as_of timestamptz DEFAULT {clock}) RETURNS integer
        LANGUAGE plpgsql AS $$
        DECLARE
          archived integer;
        BEGIN
          WITH moved AS (
            UPDATE actions
            SET state = 'ARCHIVED'
            WHERE state = 'DONE'
              AND completed_at IS NOT NULL
              AND completed_at < as_of - INTERVAL '90 days'
            RETURNING id, user_id
          )
          INSERT INTO action_events (user_id, action_id, from_state, to_state, channel, created_at)
          SELECT user_id, id, 'DONE', 'ARCHIVED', 'system', as_of FROM moved;
          GET DIAGNOSTICS archived = ROW_COUNT;
          RETURN archived;
        END;
        $$
        """,
    ]


def _set_defaults(clock: str) -> None:
    for table, columns in STAMPED.items():
        for column in columns:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT {clock}")


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION app.now() RETURNS timestamptz
        LANGUAGE sql STABLE AS $$
          SELECT coalesce(nullif(current_setting('app.now', true), '')::timestamptz, now())
        $$
        """
    )
    for statement in _functions("app.now()"):
        op.execute(statement)
    _set_defaults("app.now()")


def downgrade() -> None:
    _set_defaults("now()")
    for statement in _functions("now()"):
        op.execute(statement)
    op.execute("DROP FUNCTION app.now()")
