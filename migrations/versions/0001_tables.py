"""Tables, enums and indexes of Schema v1.0, with its faults fixed, and the tables it lacked.

Differences from the design document (see ../shared/SCHEMA-NOTES.md and the models' docstrings):
* ``users.email`` is unique regardless of case (``users_email_lower_key`` on ``lower(email)``);
  ``idx_users_email``, ``idx_daily_plans_user_id``, ``idx_daily_plans_user_date`` and
  ``idx_daily_plan_actions_position`` and ``idx_billing_customers_user_id``
  are gone: each repeated a unique constraint's own index.
* ``actions.valid_due_date`` no longer reads the server's timezone.
* ``daily_plan_actions (daily_plan_id, position)`` is unique DEFERRABLE INITIALLY DEFERRED.
* ``calendar_connections.expires_at`` is BIGINT (INTEGER overflows in 2038).
* New tables: user_settings, action_events, logged_calls, deliveries, oauth_flow_states,
  slack_installations, slack_user_links. New columns are listed in the models.

Functions, triggers and row-level security are in the next revision.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ENUMS = {
    "calendar_provider": postgresql.ENUM("google", "outlook", name="calendar_provider", create_type=False),
    "calendar_connection_status": postgresql.ENUM(
        "active", "expired", "error", "disconnected", name="calendar_connection_status", create_type=False
    ),
    "capacity_level": postgresql.ENUM(
        "micro", "light", "standard", "heavy", "default", name="capacity_level", create_type=False
    ),
    "delivery_kind": postgresql.ENUM("plan", "weekly_summary", name="delivery_kind", create_type=False),
    "event_channel": postgresql.ENUM("slack", "email", "cli", "system", name="event_channel", create_type=False),
    "delivery_status": postgresql.ENUM("pending", "sent", "failed", name="delivery_status", create_type=False),
    "lead_status": postgresql.ENUM("ACTIVE", "SNOOZED", "ARCHIVED", name="lead_status", create_type=False),
    "subscription_status": postgresql.ENUM(
        "trialing", "active", "past_due", "canceled", name="subscription_status", create_type=False
    ),
    "content_prompt_type": postgresql.ENUM("WIN_POST", "INSIGHT_POST", name="content_prompt_type", create_type=False),
    "content_prompt_status": postgresql.ENUM(
        "DRAFT", "POSTED", "ARCHIVED", name="content_prompt_status", create_type=False
    ),
    "action_type": postgresql.ENUM(
        "OUTREACH",
        "FOLLOW_UP",
        "NURTURE",
        "CALL_PREP",
        "POST_CALL",
        "CONTENT",
        "FAST_WIN",
        name="action_type",
        create_type=False,
    ),
    "action_state": postgresql.ENUM(
        "NEW", "SENT", "REPLIED", "SNOOZED", "DONE", "ARCHIVED", name="action_state", create_type=False
    ),
    "action_origin": postgresql.ENUM(
        "USER", "LEAD_ADDED", "SENT", "REPLY", "CALL", "COLD", name="action_origin", create_type=False
    ),
}


def upgrade() -> None:
    bind = op.get_bind()
    for enum in _ENUMS.values():
        enum.create(bind)
    op.create_table(
        "billing_events",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("stripe_event_id", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("billing_events_pkey")),
        sa.UniqueConstraint("stripe_event_id", name=op.f("billing_events_stripe_event_id_key")),
    )
    op.create_index(
        "idx_billing_events_created_at", "billing_events", [sa.literal_column("created_at DESC")], unique=False
    )
    op.create_index("idx_billing_events_type", "billing_events", ["type"], unique=False)
    op.create_table(
        "slack_installations",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("app_id", sa.Text(), nullable=True),
        sa.Column("enterprise_id", sa.Text(), nullable=True),
        sa.Column("team_id", sa.Text(), nullable=True),
        sa.Column("team_name", sa.Text(), nullable=True),
        sa.Column("is_enterprise_install", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("bot_id", sa.Text(), nullable=True),
        sa.Column("bot_user_id", sa.Text(), nullable=True),
        sa.Column("bot_scopes", sa.Text(), nullable=True),
        sa.Column("bot_token", sa.Text(), nullable=False),
        sa.Column("bot_refresh_token", sa.Text(), nullable=True),
        sa.Column("bot_token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("installer_user_id", sa.Text(), nullable=True),
        sa.Column("installed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("slack_installations_pkey")),
    )
    op.create_index(
        "slack_installations_workspace_key",
        "slack_installations",
        [sa.literal_column("coalesce(enterprise_id, '')"), sa.literal_column("coalesce(team_id, '')")],
        unique=True,
    )
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("timezone", sa.Text(), server_default="America/New_York", nullable=False),
        sa.Column("calendar_connected", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("streak_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_action_date", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("users_pkey")),
    )
    op.create_index("idx_users_last_action_date", "users", ["last_action_date"], unique=False)
    op.create_index("users_email_lower_key", "users", [sa.literal_column("lower(email)")], unique=True)
    op.create_table(
        "billing_customers",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("stripe_customer_id", sa.Text(), nullable=False),
        sa.Column("default_payment_method", sa.Text(), nullable=True),
        sa.Column("currency", sa.Text(), server_default="usd", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("billing_customers_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("billing_customers_pkey")),
        sa.UniqueConstraint("stripe_customer_id", name=op.f("billing_customers_stripe_customer_id_key")),
        sa.UniqueConstraint("user_id", name=op.f("billing_customers_user_id_key")),
    )
    op.create_table(
        "calendar_connections",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("provider", _ENUMS["calendar_provider"], nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("token_cache", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("calendar_id", sa.Text(), nullable=False),
        sa.Column("status", _ENUMS["calendar_connection_status"], server_default="active", nullable=False),
        sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("expired_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("calendar_connections_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("calendar_connections_pkey")),
        sa.UniqueConstraint("user_id", "provider", name=op.f("calendar_connections_user_id_provider_key")),
    )
    op.create_index("idx_calendar_connections_provider", "calendar_connections", ["provider"], unique=False)
    op.create_index("idx_calendar_connections_status", "calendar_connections", ["status"], unique=False)
    op.create_index("idx_calendar_connections_user_id", "calendar_connections", ["user_id"], unique=False)
    op.create_index("idx_calendar_connections_user_status", "calendar_connections", ["user_id", "status"], unique=False)
    op.create_table(
        "daily_plans",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("focus_statement", sa.Text(), nullable=True),
        sa.Column("capacity", _ENUMS["capacity_level"], server_default="default", nullable=False),
        sa.Column("free_minutes", sa.Integer(), nullable=True),
        sa.Column("generated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("daily_plans_user_id_fkey"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("daily_plans_pkey")),
        sa.UniqueConstraint("user_id", "date", name=op.f("daily_plans_user_id_date_key")),
    )
    op.create_index("idx_daily_plans_date", "daily_plans", ["date"], unique=False)
    op.create_table(
        "deliveries",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("kind", _ENUMS["delivery_kind"], nullable=False),
        sa.Column("channel", _ENUMS["event_channel"], nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("status", _ENUMS["delivery_status"], server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("deliveries_user_id_fkey"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("deliveries_pkey")),
        sa.UniqueConstraint(
            "user_id", "kind", "channel", "period", name=op.f("deliveries_user_id_kind_channel_period_key")
        ),
    )
    op.create_index(
        "idx_deliveries_status", "deliveries", ["status"], unique=False, postgresql_where="status <> 'sent'"
    )
    op.create_table(
        "leads",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("status", _ENUMS["lead_status"], server_default="ACTIVE", nullable=False),
        sa.Column("snooze_until", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "url LIKE 'https://%%' OR url LIKE 'http://%%' OR url LIKE 'mailto:%%'", name=op.f("valid_url")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("leads_user_id_fkey"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("leads_pkey")),
    )
    op.create_index(
        "idx_leads_snooze_until", "leads", ["snooze_until"], unique=False, postgresql_where="status = 'SNOOZED'"
    )
    op.create_index("idx_leads_status", "leads", ["status"], unique=False)
    op.create_index("idx_leads_user_id", "leads", ["user_id"], unique=False)
    op.create_index("idx_leads_user_status", "leads", ["user_id", "status"], unique=False)
    op.create_index("leads_user_id_url_key", "leads", ["user_id", "url"], unique=True)
    op.create_table(
        "oauth_flow_states",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("provider", _ENUMS["calendar_provider"], nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("return_to", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("oauth_flow_states_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("oauth_flow_states_pkey")),
        sa.UniqueConstraint("state", name=op.f("oauth_flow_states_state_key")),
    )
    op.create_index("idx_oauth_flow_states_user_id", "oauth_flow_states", ["user_id"], unique=False)
    op.create_table(
        "slack_user_links",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("team_id", sa.Text(), nullable=False),
        sa.Column("enterprise_id", sa.Text(), nullable=True),
        sa.Column("slack_user_id", sa.Text(), nullable=False),
        sa.Column("dm_channel_id", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("slack_user_links_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("slack_user_links_pkey")),
        sa.UniqueConstraint("team_id", "slack_user_id", name=op.f("slack_user_links_team_id_slack_user_id_key")),
    )
    op.create_index("idx_slack_user_links_user_id", "slack_user_links", ["user_id"], unique=False)
    op.create_table(
        "user_settings",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("delivery_time", sa.Time(), server_default=sa.text("'07:30'"), nullable=False),
        sa.Column("work_days", sa.ARRAY(sa.Integer()), server_default=sa.text("'{1,2,3,4,5}'"), nullable=False),
        sa.Column("working_hours_start", sa.Time(), server_default=sa.text("'09:00'"), nullable=False),
        sa.Column("working_hours_end", sa.Time(), server_default=sa.text("'17:00'"), nullable=False),
        sa.Column("email_enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("slack_enabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("email_unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("capacity_override", _ENUMS["capacity_level"], nullable=True),
        sa.Column("capacity_override_date", sa.Date(), nullable=True),
        sa.Column("focus_text", sa.Text(), nullable=True),
        sa.Column("focus_week_start", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "cardinality(work_days) > 0 AND work_days <@ ARRAY[1,2,3,4,5,6,7]", name=op.f("valid_work_days")
        ),
        sa.CheckConstraint("working_hours_start < working_hours_end", name=op.f("valid_working_hours")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("user_settings_user_id_fkey"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("user_settings_pkey")),
    )
    op.create_table(
        "weekly_summaries",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("week_start_date", sa.Date(), nullable=False),
        sa.Column("days_active", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("actions_completed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("replies", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("calls_booked", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("insight_text", sa.Text(), nullable=False),
        sa.Column("narrative_summary", sa.Text(), nullable=True),
        sa.Column("next_week_focus", sa.Text(), nullable=False),
        sa.Column("win_post_draft", sa.Text(), nullable=True),
        sa.Column("insight_post_draft", sa.Text(), nullable=True),
        sa.Column("generated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("weekly_summaries_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("weekly_summaries_pkey")),
        sa.UniqueConstraint("user_id", "week_start_date", name=op.f("weekly_summaries_user_id_week_start_date_key")),
    )
    op.create_index("idx_weekly_summaries_user_id", "weekly_summaries", ["user_id"], unique=False)
    op.create_index(
        "idx_weekly_summaries_user_week",
        "weekly_summaries",
        ["user_id", sa.literal_column("week_start_date DESC")],
        unique=False,
    )
    op.create_index("idx_weekly_summaries_week_start", "weekly_summaries", ["week_start_date"], unique=False)
    op.create_table(
        "billing_subscriptions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("billing_customer_id", sa.UUID(), nullable=False),
        sa.Column("stripe_subscription_id", sa.Text(), nullable=False),
        sa.Column("stripe_price_id", sa.Text(), nullable=False),
        sa.Column("status", _ENUMS["subscription_status"], server_default="trialing", nullable=False),
        sa.Column("current_period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancel_at_period_end", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("trial_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("latest_invoice_url", sa.Text(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["billing_customer_id"],
            ["billing_customers.id"],
            name=op.f("billing_subscriptions_billing_customer_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("billing_subscriptions_pkey")),
        sa.UniqueConstraint("stripe_subscription_id", name=op.f("billing_subscriptions_stripe_subscription_id_key")),
    )
    op.create_index(
        "idx_billing_subscriptions_customer", "billing_subscriptions", ["billing_customer_id"], unique=False
    )
    op.create_index("idx_billing_subscriptions_status", "billing_subscriptions", ["status"], unique=False)
    op.create_table(
        "calendar_sync_logs",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("calendar_connection_id", sa.UUID(), nullable=False),
        sa.Column("operation", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["calendar_connection_id"],
            ["calendar_connections.id"],
            name=op.f("calendar_sync_logs_calendar_connection_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("calendar_sync_logs_pkey")),
    )
    op.create_index(
        "idx_calendar_sync_logs_connection_id", "calendar_sync_logs", ["calendar_connection_id"], unique=False
    )
    op.create_index(
        "idx_calendar_sync_logs_created_at", "calendar_sync_logs", [sa.literal_column("created_at DESC")], unique=False
    )
    op.create_index("idx_calendar_sync_logs_status", "calendar_sync_logs", ["status"], unique=False)
    op.create_table(
        "content_prompts",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("weekly_summary_id", sa.UUID(), nullable=True),
        sa.Column("type", _ENUMS["content_prompt_type"], nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("status", _ENUMS["content_prompt_status"], server_default="DRAFT", nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("content_prompts_user_id_fkey"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["weekly_summary_id"],
            ["weekly_summaries.id"],
            name=op.f("content_prompts_weekly_summary_id_fkey"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("content_prompts_pkey")),
    )
    op.create_index(
        "content_prompts_summary_type_key",
        "content_prompts",
        ["weekly_summary_id", "type"],
        unique=True,
        postgresql_where="weekly_summary_id IS NOT NULL",
    )
    op.create_index("idx_content_prompts_status", "content_prompts", ["status"], unique=False)
    op.create_index("idx_content_prompts_user_id", "content_prompts", ["user_id"], unique=False)
    op.create_index("idx_content_prompts_user_status", "content_prompts", ["user_id", "status"], unique=False)
    op.create_table(
        "logged_calls",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("lead_id", sa.UUID(), nullable=False),
        sa.Column("call_date", sa.Date(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], name=op.f("logged_calls_lead_id_fkey"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("logged_calls_user_id_fkey"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("logged_calls_pkey")),
        sa.UniqueConstraint("lead_id", "call_date", name=op.f("logged_calls_lead_id_call_date_key")),
    )
    op.create_index("idx_logged_calls_user_date", "logged_calls", ["user_id", "call_date"], unique=False)
    op.create_table(
        "actions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("person_id", sa.UUID(), nullable=True),
        sa.Column("action_type", _ENUMS["action_type"], nullable=False),
        sa.Column("state", _ENUMS["action_state"], server_default="NEW", nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("snooze_until", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("auto_created", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("origin", _ENUMS["action_origin"], server_default="USER", nullable=False),
        sa.Column("source_action_id", sa.UUID(), nullable=True),
        sa.Column("logged_call_id", sa.UUID(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("due_date >= ((created_at AT TIME ZONE 'UTC')::date - 1)", name=op.f("valid_due_date")),
        sa.ForeignKeyConstraint(
            ["logged_call_id"], ["logged_calls.id"], name=op.f("actions_logged_call_id_fkey"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["person_id"], ["leads.id"], name=op.f("actions_person_id_fkey"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["source_action_id"], ["actions.id"], name=op.f("actions_source_action_id_fkey"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("actions_user_id_fkey"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("actions_pkey")),
    )
    op.create_index(
        "actions_one_pending_auto_per_lead_type",
        "actions",
        ["person_id", "action_type"],
        unique=True,
        postgresql_where="auto_created AND person_id IS NOT NULL AND state IN ('NEW', 'SNOOZED')",
    )
    op.create_index(
        "actions_one_sent_per_lead",
        "actions",
        ["person_id"],
        unique=True,
        postgresql_where="state = 'SENT' AND person_id IS NOT NULL",
    )
    op.create_index("idx_actions_due_date", "actions", ["due_date"], unique=False)
    op.create_index("idx_actions_person_id", "actions", ["person_id"], unique=False)
    op.create_index(
        "idx_actions_snooze_until", "actions", ["snooze_until"], unique=False, postgresql_where="state = 'SNOOZED'"
    )
    op.create_index("idx_actions_state", "actions", ["state"], unique=False)
    op.create_index("idx_actions_user_id", "actions", ["user_id"], unique=False)
    op.create_index("idx_actions_user_state_due", "actions", ["user_id", "state", "due_date"], unique=False)
    op.create_table(
        "action_events",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("action_id", sa.UUID(), nullable=False),
        sa.Column("from_state", _ENUMS["action_state"], nullable=True),
        sa.Column("to_state", _ENUMS["action_state"], nullable=False),
        sa.Column("channel", _ENUMS["event_channel"], nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"], ["actions.id"], name=op.f("action_events_action_id_fkey"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("action_events_user_id_fkey"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("action_events_pkey")),
    )
    op.create_index("idx_action_events_action_id", "action_events", ["action_id"], unique=False)
    op.create_index("idx_action_events_user_created", "action_events", ["user_id", "created_at"], unique=False)
    op.create_table(
        "daily_plan_actions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("daily_plan_id", sa.UUID(), nullable=False),
        sa.Column("action_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_fast_win", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"], ["actions.id"], name=op.f("daily_plan_actions_action_id_fkey"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["daily_plan_id"],
            ["daily_plans.id"],
            name=op.f("daily_plan_actions_daily_plan_id_fkey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("daily_plan_actions_pkey")),
        sa.UniqueConstraint("daily_plan_id", "action_id", name=op.f("daily_plan_actions_daily_plan_id_action_id_key")),
        sa.UniqueConstraint(
            "daily_plan_id",
            "position",
            deferrable=True,
            initially="DEFERRED",
            name=op.f("daily_plan_actions_daily_plan_id_position_key"),
        ),
    )
    op.create_index("idx_daily_plan_actions_action_id", "daily_plan_actions", ["action_id"], unique=False)
    op.create_index("idx_daily_plan_actions_daily_plan_id", "daily_plan_actions", ["daily_plan_id"], unique=False)


#: Tables in creation order; dropped in reverse.
TABLES = [
    "billing_events",
    "slack_installations",
    "users",
    "billing_customers",
    "calendar_connections",
    "daily_plans",
    "deliveries",
    "leads",
    "oauth_flow_states",
    "slack_user_links",
    "user_settings",
    "weekly_summaries",
    "billing_subscriptions",
    "calendar_sync_logs",
    "content_prompts",
    "logged_calls",
    "actions",
    "action_events",
    "daily_plan_actions",
]


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
    bind = op.get_bind()
    for enum in _ENUMS.values():
        enum.drop(bind)
