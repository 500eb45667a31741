"""Helper functions, triggers and row-level security.

* ``app.current_user_id()`` replaces the design's self-recursive ``auth.uid()``: it reads the
  transaction-local setting ``app.user_id`` (``''`` after a commit, hence ``nullif``).
  ``app.is_service()`` reads ``app.service``, the explicit context of system jobs.
* ``update_user_calendar_status()`` uses OLD on DELETE (the design used NEW, which is NULL there).
* ``auto_archive_old_actions([as_of])`` also writes the DONE → ARCHIVED events and returns how many
  it archived; ``as_of`` (default now()) lets the jobs run it for a pinned instant.
* Not installed, on purpose: ``check_snooze_dates`` / ``auto_unsnooze_items()`` (a whole-table
  update on every write, in the server's timezone) and ``calculate_user_streak()`` (server-timezone
  days, one query per day): both are done in the service layer in each user's timezone.
* Every table has RLS ENABLEd and FORCEd (owners are subject to it too) with policies for the
  user context and the service context. With no context set, nothing user-owned is visible.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ME = "(SELECT app.current_user_id())"
SERVICE = "(SELECT app.is_service())"

FUNCTIONS = [
    "CREATE SCHEMA app",
    """
    CREATE FUNCTION app.current_user_id() RETURNS uuid
    LANGUAGE sql STABLE AS $$
      SELECT nullif(current_setting('app.user_id', true), '')::uuid
    $$
    """,
    """
    CREATE FUNCTION app.is_service() RETURNS boolean
    LANGUAGE sql STABLE AS $$
      SELECT coalesce(current_setting('app.service', true), '') = 'on'
    $$
    """,
    """
    CREATE FUNCTION update_updated_at_column() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      NEW.updated_at = now();
      RETURN NEW;
    END;
    $$
    """,
    """
    CREATE FUNCTION auto_archive_old_actions(as_of timestamptz DEFAULT now()) RETURNS integer
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
    """
    CREATE FUNCTION update_user_calendar_status() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
      affected uuid[];
    BEGIN
      IF TG_OP = 'DELETE' THEN
        affected := ARRAY[OLD.user_id];
      ELSIF TG_OP = 'UPDATE' THEN
        affected := ARRAY[OLD.user_id, NEW.user_id];
      ELSE
        affected := ARRAY[NEW.user_id];
      END IF;
      UPDATE users u
      SET calendar_connected = flag.connected
      FROM (
        SELECT uid, EXISTS (
          SELECT 1 FROM calendar_connections c WHERE c.user_id = uid AND c.status = 'active'
        ) AS connected
        FROM unnest(affected) AS uid
      ) AS flag
      WHERE u.id = flag.uid AND u.calendar_connected IS DISTINCT FROM flag.connected;
      RETURN NULL;
    END;
    $$
    """,
    """
    CREATE FUNCTION app.refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% is append-only: rows cannot be updated', TG_TABLE_NAME;
    END;
    $$
    """,
]

TABLES_WITH_UPDATED_AT = [
    "users", "user_settings", "leads", "actions", "daily_plans", "weekly_summaries",
    "content_prompts", "calendar_connections", "billing_customers", "billing_subscriptions",
    "slack_installations", "slack_user_links", "deliveries",
]

TRIGGERS = [
    f"""
    CREATE TRIGGER update_{table}_updated_at BEFORE UPDATE ON {table}
    FOR EACH ROW EXECUTE FUNCTION update_updated_at_column()
    """
    for table in TABLES_WITH_UPDATED_AT
] + [
    """
    CREATE TRIGGER update_calendar_connected_flag
    AFTER INSERT OR UPDATE OR DELETE ON calendar_connections
    FOR EACH ROW EXECUTE FUNCTION update_user_calendar_status()
    """,
    """
    CREATE TRIGGER action_events_append_only BEFORE UPDATE ON action_events
    FOR EACH ROW EXECUTE FUNCTION app.refuse_change()
    """,
]

#: Tables with a user_id column that the user manages in full.
USER_OWNED = [
    "user_settings", "leads", "actions", "daily_plans", "weekly_summaries", "content_prompts",
    "calendar_connections", "deliveries", "oauth_flow_states", "logged_calls", "slack_user_links",
]


def _owner_policy(table: str) -> str:
    return (
        f"CREATE POLICY {table}_owner ON {table} FOR ALL "
        f"USING (user_id = {ME} OR {SERVICE}) WITH CHECK (user_id = {ME} OR {SERVICE})"
    )


def _service_policy(table: str) -> str:
    return f"CREATE POLICY {table}_service ON {table} FOR ALL USING ({SERVICE}) WITH CHECK ({SERVICE})"


POLICIES = (
    [_owner_policy(table) for table in USER_OWNED]
    + [
        # A user reads and edits their own row; creating and deleting users is the system's job.
        f"CREATE POLICY users_select ON users FOR SELECT USING (id = {ME} OR {SERVICE})",
        f"CREATE POLICY users_update ON users FOR UPDATE USING (id = {ME} OR {SERVICE}) "
        f"WITH CHECK (id = {ME} OR {SERVICE})",
        f"CREATE POLICY users_insert ON users FOR INSERT WITH CHECK ({SERVICE})",
        f"CREATE POLICY users_delete ON users FOR DELETE USING ({SERVICE})",
        # The event log is append-only: read and add, never change (cascades still delete).
        f"CREATE POLICY action_events_select ON action_events FOR SELECT USING (user_id = {ME} OR {SERVICE})",
        f"CREATE POLICY action_events_insert ON action_events FOR INSERT WITH CHECK (user_id = {ME} OR {SERVICE})",
        # Plan rows belong to the plan's owner, and may only point at that owner's actions.
        f"""CREATE POLICY daily_plan_actions_owner ON daily_plan_actions FOR ALL
        USING ({SERVICE} OR EXISTS (SELECT 1 FROM daily_plans p
                                    WHERE p.id = daily_plan_id AND p.user_id = {ME}))
        WITH CHECK ({SERVICE} OR (
          EXISTS (SELECT 1 FROM daily_plans p WHERE p.id = daily_plan_id AND p.user_id = {ME})
          AND EXISTS (SELECT 1 FROM actions a WHERE a.id = action_id AND a.user_id = {ME})))""",
        f"""CREATE POLICY calendar_sync_logs_owner ON calendar_sync_logs FOR ALL
        USING ({SERVICE} OR EXISTS (SELECT 1 FROM calendar_connections c
                                    WHERE c.id = calendar_connection_id AND c.user_id = {ME}))
        WITH CHECK ({SERVICE} OR EXISTS (SELECT 1 FROM calendar_connections c
                                         WHERE c.id = calendar_connection_id AND c.user_id = {ME}))""",
        # Billing is written by the system (webhooks); the user may read their own.
        f"CREATE POLICY billing_customers_select ON billing_customers FOR SELECT USING (user_id = {ME})",
        _service_policy("billing_customers"),
        f"""CREATE POLICY billing_subscriptions_select ON billing_subscriptions FOR SELECT
        USING (EXISTS (SELECT 1 FROM billing_customers b
                       WHERE b.id = billing_customer_id AND b.user_id = {ME}))""",
        _service_policy("billing_subscriptions"),
        _service_policy("billing_events"),
        _service_policy("slack_installations"),
    ]
)

ALL_TABLES = [
    "users", "user_settings", "leads", "actions", "action_events", "logged_calls", "daily_plans",
    "daily_plan_actions", "weekly_summaries", "content_prompts", "calendar_connections",
    "calendar_sync_logs", "oauth_flow_states", "billing_customers", "billing_subscriptions",
    "billing_events", "deliveries", "slack_installations", "slack_user_links",
]


def upgrade() -> None:
    for statement in FUNCTIONS + TRIGGERS:
        op.execute(statement)
    for table in ALL_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    for statement in POLICIES:
        op.execute(statement)


def downgrade() -> None:
    for table in ALL_TABLES:
        op.execute(
            f"""DO $$ DECLARE p record; BEGIN
              FOR p IN SELECT policyname FROM pg_policies WHERE tablename = '{table}' LOOP
                EXECUTE format('DROP POLICY %I ON {table}', p.policyname);
              END LOOP; END $$"""
        )
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("DROP TRIGGER action_events_append_only ON action_events")
    op.execute("DROP TRIGGER update_calendar_connected_flag ON calendar_connections")
    for table in TABLES_WITH_UPDATED_AT:
        op.execute(f"DROP TRIGGER update_{table}_updated_at ON {table}")
    op.execute("DROP FUNCTION update_user_calendar_status()")
    op.execute("DROP FUNCTION auto_archive_old_actions(timestamptz)")
    op.execute("DROP FUNCTION update_updated_at_column()")
    op.execute("DROP SCHEMA app CASCADE")
