"""Every reference between user-owned rows names a row of the same user (issue 15, point 3).

Row-level security checked each row's own ``user_id`` and nothing it pointed at: in user A's
context an action could name B's lead, an event B's action, a call B's lead. A's SENT action on
B's lead then blocked B's own "mark sent" (``actions_one_sent_per_lead``), a cascade from B's
deletes reached A's rows, and errors told A whether B's ids existed. Two layers close it:

1. **Composite foreign keys** bind each reference to its own user in every context (a user's, the
   service's, the cascades'): each referenced table gets ``UNIQUE (id, user_id)`` and each
   reference becomes ``FOREIGN KEY (ref_id, user_id) REFERENCES t (id, user_id)`` under its old
   name, with its old ON DELETE. ``ON DELETE SET NULL`` would null ``user_id`` too (NOT NULL, so
   the delete would fail): PostgreSQL 15's ``SET NULL (ref_id)`` nulls only the reference, which
   is why this migration requires PostgreSQL 15 or later and refuses to run on an older server.

   Such a key tells A nothing about B: with the policies below A can only write rows whose
   ``user_id`` is A's, so the key checked is (the id A gave, A's id). Whether B has a row with
   that id changes nothing: the pair is present only if A owns that row, and the error A gets for
   B's id (``violates foreign key constraint …``, ``Key (ref_id, user_id)=(<id A gave>, <A's id>)
   is not present``) is the one a random id gets, carrying only values A supplied.

2. **Policies check references** in a user's context. A unique index that contains a reference
   column without ``user_id`` (``actions_one_sent_per_lead``, ``logged_calls (lead_id,
   call_date)``, ``calendar_event_calls (calendar_connection_id, event_key)``, …) is checked when
   the row is inserted, before the foreign key (an AFTER trigger): A writing a SENT action on B's
   lead would hear "duplicate key" exactly when B has one. Row-level security's WITH CHECK runs
   before both, so each owner policy now also requires every non-null reference to be a row of the
   user (``app.owns``): B's id and a random id both end at "new row violates row-level security
   policy". ``app.owns`` is a PL/pgSQL function because a policy whose subquery reads its own
   table (``actions.source_action_id``, ``action_events.undoes_event_id``) is refused as infinite
   recursion; the function's query runs on its own, under the caller's row-level security.

Tables with no ``user_id`` are bound by policy: ``daily_plan_actions`` must join a plan and an
action of the same user, now in the service context too; ``calendar_sync_logs`` has one parent
(its policy already requires the user's connection); ``billing_subscriptions`` is written by the
service only. tests/test_rls_references.py finds every foreign key in pg_constraint, so a new one
that is not bound fails there.

Rows that already break the rule are not cleaned up: each one mixes two users' data (whose action
is A's action on B's lead?) and may be the trace of exactly the misuse this closes, so deleting or
re-pointing them is a person's decision. The migration lists them (per reference: how many, a few
examples, the query that finds them all) and fails before changing anything, so the transaction is
rolled back and the database stays as it was. Resolve them (README, "Data and privacy") and run it again.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ME = "(SELECT app.current_user_id())"
SERVICE = "(SELECT app.is_service())"

#: ``ON DELETE SET NULL (column)`` came with PostgreSQL 15.
MINIMUM_SERVER_VERSION = 150000
#: Examples of offending rows shown per reference.
EXAMPLES = 5


class Reference(NamedTuple):
    table: str
    column: str
    target: str
    on_delete: str  # "CASCADE" or "SET NULL"

    @property
    def constraint(self) -> str:
        return f"{self.table}_{self.column}_fkey"


#: Every reference from a user-owned row to another user-owned row (each table has ``user_id``).
REFERENCES = [
    Reference("actions", "person_id", "leads", "SET NULL"),
    Reference("actions", "source_action_id", "actions", "SET NULL"),
    Reference("actions", "logged_call_id", "logged_calls", "CASCADE"),
    Reference("action_events", "action_id", "actions", "CASCADE"),
    Reference("action_events", "undoes_event_id", "action_events", "CASCADE"),
    Reference("logged_calls", "lead_id", "leads", "CASCADE"),
    Reference("content_prompts", "weekly_summary_id", "weekly_summaries", "SET NULL"),
    Reference("calendar_event_calls", "calendar_connection_id", "calendar_connections", "CASCADE"),
    Reference("calendar_event_calls", "logged_call_id", "logged_calls", "CASCADE"),
]

#: Tables a composite key points at: each gets ``UNIQUE (id, user_id)``.
TARGETS = sorted({ref.target for ref in REFERENCES})

OWNS = """
CREATE FUNCTION app.owns(tbl regclass, ref uuid) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
DECLARE
  found boolean;
BEGIN
  IF ref IS NULL THEN
    RETURN true;
  END IF;
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE id = $1 AND user_id = $2)', tbl)
    INTO found USING ref, app.current_user_id();
  RETURN found;
END;
$$
"""


def _owns_all(table: str) -> str:
    return " AND ".join(f"app.owns('{ref.target}', {table}.{ref.column})"
                        for ref in REFERENCES if ref.table == table)


def _owner_policy(table: str, *, checked: bool) -> str:
    """The owner policy of 0002/0010; ``checked``: WITH CHECK also requires the user's references."""
    check = f"{SERVICE} OR (user_id = {ME} AND {_owns_all(table)})" if checked else f"user_id = {ME} OR {SERVICE}"
    return (f"CREATE POLICY {table}_owner ON {table} FOR ALL "
            f"USING (user_id = {ME} OR {SERVICE}) WITH CHECK ({check})")


def _action_events_insert(*, checked: bool) -> str:
    check = (f"{SERVICE} OR (user_id = {ME} AND {_owns_all('action_events')})" if checked
             else f"user_id = {ME} OR {SERVICE}")
    return f"CREATE POLICY action_events_insert ON action_events FOR INSERT WITH CHECK ({check})"


_PLAN_ROW_VISIBLE = f"EXISTS (SELECT 1 FROM daily_plans p WHERE p.id = daily_plan_id AND p.user_id = {ME})"


def _daily_plan_actions_policy(*, checked: bool) -> str:
    if checked:
        check = f"""EXISTS (SELECT 1 FROM daily_plans p JOIN actions a ON a.user_id = p.user_id
                       WHERE p.id = daily_plan_actions.daily_plan_id AND a.id = daily_plan_actions.action_id
                         AND ({SERVICE} OR p.user_id = {ME}))"""
    else:
        check = f"""{SERVICE} OR (
          {_PLAN_ROW_VISIBLE}
          AND EXISTS (SELECT 1 FROM actions a WHERE a.id = action_id AND a.user_id = {ME}))"""
    return f"""CREATE POLICY daily_plan_actions_owner ON daily_plan_actions FOR ALL
        USING ({SERVICE} OR {_PLAN_ROW_VISIBLE})
        WITH CHECK ({check})"""


#: Policies replaced: name, table, statement after, statement before (as 0002 and 0010 made them).
POLICIES = [
    *[(f"{table}_owner", table, _owner_policy(table, checked=True), _owner_policy(table, checked=False))
      for table in ("actions", "logged_calls", "content_prompts", "calendar_event_calls")],
    ("action_events_insert", "action_events", _action_events_insert(checked=True),
     _action_events_insert(checked=False)),
    ("daily_plan_actions_owner", "daily_plan_actions", _daily_plan_actions_policy(checked=True),
     _daily_plan_actions_policy(checked=False)),
]


def upgrade() -> None:
    bind = op.get_bind()
    version = int(bind.scalar(sa.text("SHOW server_version_num")) or 0)
    if version < MINIMUM_SERVER_VERSION:
        raise RuntimeError(
            f"migration 0012 needs PostgreSQL 15 or later (this server is {version}): it binds references "
            "with ON DELETE SET NULL (column). Upgrade the database server (Heroku: pg:upgrade), then migrate."
        )
    # Row-level security is forced: read every user's rows as the service, then put the context back
    # (a migration may run inside a caller's transaction, as the test suite's does).
    before = bind.scalar(sa.text("SELECT current_setting('app.service', true)")) or ""
    bind.execute(sa.text("SELECT set_config('app.service', 'on', true)"))
    problems = _rows_pointing_at_another_user(bind)
    if problems:
        raise RuntimeError(
            "migration 0012 binds every reference to its own user, and these rows point at another user's "
            "row. Nothing was changed. Decide for each row whether to clear the reference or delete the "
            "row (README, 'Data and privacy'), then migrate again.\n" + "\n".join(problems)
        )
    for table in TARGETS:
        op.create_unique_constraint(f"{table}_id_user_id_key", table, ["id", "user_id"])
    for ref in REFERENCES:
        on_delete = f"SET NULL ({ref.column})" if ref.on_delete == "SET NULL" else ref.on_delete
        op.drop_constraint(ref.constraint, ref.table, type_="foreignkey")
        op.execute(f"ALTER TABLE {ref.table} ADD CONSTRAINT {ref.constraint} FOREIGN KEY ({ref.column}, user_id) "
                   f"REFERENCES {ref.target} (id, user_id) ON DELETE {on_delete}")
    op.execute(OWNS)
    for name, table, after, _before in POLICIES:
        op.execute(f"DROP POLICY {name} ON {table}")
        op.execute(after)
    bind.execute(sa.text("SELECT set_config('app.service', :before, true)"), {"before": before})


def downgrade() -> None:
    for name, table, _after, before in POLICIES:
        op.execute(f"DROP POLICY {name} ON {table}")
        op.execute(before)
    op.execute("DROP FUNCTION app.owns(regclass, uuid)")
    for ref in REFERENCES:
        op.drop_constraint(ref.constraint, ref.table, type_="foreignkey")
        op.create_foreign_key(ref.constraint, ref.table, ref.target, [ref.column], ["id"], ondelete=ref.on_delete)
    for table in TARGETS:
        op.drop_constraint(f"{table}_id_user_id_key", table, type_="unique")


def finding_query(ref: Reference) -> str:
    """The rows of ``ref.table`` whose ``ref.column`` names a row of another user (run as the service)."""
    return (f"SELECT r.id, r.user_id, r.{ref.column} AS ref_id, t.user_id AS ref_user_id "
            f"FROM {ref.table} r JOIN {ref.target} t ON t.id = r.{ref.column} WHERE t.user_id <> r.user_id")


#: Plan rows whose plan and action belong to different users.
PLAN_ROWS_QUERY = (
    "SELECT r.id, p.user_id, r.action_id AS ref_id, a.user_id AS ref_user_id "
    "FROM daily_plan_actions r JOIN daily_plans p ON p.id = r.daily_plan_id JOIN actions a ON a.id = r.action_id "
    "WHERE a.user_id <> p.user_id"
)


def _rows_pointing_at_another_user(bind: sa.Connection) -> list[str]:
    """One paragraph per reference with offending rows: the count, a few examples, the finding query."""
    checks = [(f"{ref.table}.{ref.column} -> {ref.target}", finding_query(ref)) for ref in REFERENCES]
    checks.append(("daily_plan_actions: plan and action of different users", PLAN_ROWS_QUERY))
    problems = []
    for label, query in checks:
        count = bind.scalar(sa.text(f"SELECT count(*) FROM ({query}) AS bad")) or 0
        if not count:
            continue
        rows = bind.execute(sa.text(f"{query} ORDER BY r.id LIMIT {EXAMPLES}")).all()
        examples = "; ".join(f"row {row.id} (user {row.user_id}) -> {row.ref_id} (user {row.ref_user_id})"
                             for row in rows)
        problems.append(f"- {label}: {count} row(s), e.g. {examples}\n  find them all: {query}")
    return problems
