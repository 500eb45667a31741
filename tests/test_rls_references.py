"""References between users' rows: each one names a row of the same user (migration 0012).

Run as the application's role (a non-superuser owner under FORCEd row-level security). In user A's
context, a row that points at user B's row is refused exactly as one pointing at an id that exists
nowhere: same error class, same SQLSTATE, same message once the id A gave is masked, so A learns
nothing about B's ids. The service context is bound too (composite foreign keys), and pg_constraint
is read to make sure no foreign key between users' rows escapes the rule.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, NamedTuple

import pytest
import sqlalchemy.exc
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from core import db, migrate
from core.actions.service import change_state, list_waiting
from core.models import ActionEvent, ActionState, Base, Channel
from tests.factories import make_action, make_everything, make_lead, make_system_rows, make_user


class Ref(NamedTuple):
    table: str
    column: str
    target: str
    on_delete: str


#: Every reference bound by a composite foreign key (ref_id, user_id) -> target (id, user_id).
REFERENCES = [
    Ref("actions", "person_id", "leads", "SET NULL"),
    Ref("actions", "source_action_id", "actions", "SET NULL"),
    Ref("actions", "logged_call_id", "logged_calls", "CASCADE"),
    Ref("action_events", "action_id", "actions", "CASCADE"),
    Ref("action_events", "undoes_event_id", "action_events", "CASCADE"),
    Ref("logged_calls", "lead_id", "leads", "CASCADE"),
    Ref("content_prompts", "weekly_summary_id", "weekly_summaries", "SET NULL"),
    Ref("calendar_event_calls", "calendar_connection_id", "calendar_connections", "CASCADE"),
    Ref("calendar_event_calls", "logged_call_id", "logged_calls", "CASCADE"),
]
IDS = [f"{ref.table}.{ref.column}" for ref in REFERENCES]

#: References from tables with no user_id of their own, bound by their policies instead (each tested below).
POLICY_BOUND = {
    ("daily_plan_actions", "daily_plan_id"): "the plan's owner must own the action too",
    ("daily_plan_actions", "action_id"): "the plan's owner must own the action too",
    ("calendar_sync_logs", "calendar_connection_id"): "one parent: the user's connection",
    ("billing_subscriptions", "billing_customer_id"): "written by the service only",
}

FOREIGN_KEYS = """
SELECT c.conrelid::regclass::text AS tbl, c.confrelid::regclass::text AS target, c.confdeltype,
       array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i) AS cols,
       array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i) AS target_cols,
       array(SELECT a.attname::text FROM unnest(coalesce(c.confdelsetcols, '{}')) AS k(n)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n) AS set_cols
FROM pg_constraint c
WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
"""


def _has_user_id(table: str) -> bool:
    return "user_id" in Base.metadata.tables[table].columns


def test_every_foreign_key_between_users_rows_is_bound_to_its_user(connection: Connection) -> None:
    """A foreign key is the owner's own (``user_id -> users``), binds ``user_id`` to the target's
    ``user_id``, or is a listed reference of a table with no user_id. Anything else is a reference
    one user could point at another user's row with."""
    bound, unbound = {}, []
    for fk in connection.execute(text(FOREIGN_KEYS)).mappings():
        cols, target_cols = list(fk["cols"]), list(fk["target_cols"])
        if cols == ["user_id"] and (fk["target"], target_cols) == ("users", ["id"]):
            continue
        pairs = dict(zip(cols, target_cols, strict=True))
        if len(cols) == 2 and pairs.get("user_id") == "user_id" and _has_user_id(fk["tbl"]):
            (column,) = set(cols) - {"user_id"}
            assert pairs[column] == "id"
            bound[(fk["tbl"], column)] = fk
        elif len(cols) == 1 and (fk["tbl"], cols[0]) in POLICY_BOUND and not _has_user_id(fk["tbl"]):
            continue
        else:
            unbound.append(f"{fk['tbl']}({', '.join(cols)}) -> {fk['target']}({', '.join(target_cols)})")
    assert unbound == []
    assert sorted(bound) == sorted((ref.table, ref.column) for ref in REFERENCES)
    for ref in REFERENCES:
        fk = bound[(ref.table, ref.column)]
        assert fk["target"] == ref.target
        if ref.on_delete == "SET NULL":  # only the reference is cleared, never user_id
            assert (fk["confdeltype"], list(fk["set_cols"])) == ("n", [ref.column])
        else:
            assert fk["confdeltype"] == "c"


# --- arranging -------------------------------------------------------------------------------------


@pytest.fixture()
def users(service: Session) -> tuple[dict[str, Any], dict[str, Any]]:
    """Alice and Bob with a row in every table; Bob also has a row using each reference, among them
    the ones a unique index would collide with (a SENT action on his lead, an undone event)."""
    alice = make_everything(service, make_user(service))
    bob = make_everything(service, make_user(service))
    make_system_rows(service)
    bobs_action = bob["actions"]
    bobs_action.state = ActionState.SENT
    make_action(service, bob["users"], None, source_action_id=bobs_action.id, logged_call_id=bob["logged_calls"].id)
    bob["undo"] = ActionEvent(user_id=bob["users"].id, action_id=bobs_action.id, from_state=ActionState.NEW,
                              to_state=ActionState.SENT, channel=Channel.CLI, undoes_event_id=bob["action_events"].id)
    service.add(bob["undo"])
    service.flush()
    return alice, bob


def _row(service: Session, table: str, row_id: uuid.UUID) -> dict[str, Any]:
    db.set_context(service, service=True)
    return dict(service.execute(text(f"SELECT * FROM {table} WHERE id = :id"), {"id": row_id}).mappings().one())


def _template(service: Session, ref: Ref, owner: dict[str, Any]) -> dict[str, Any]:
    """One of ``owner``'s rows of ``ref.table`` that uses ``ref.column`` (read as the service)."""
    db.set_context(service, service=True)
    row = service.execute(
        text(f"SELECT * FROM {ref.table} WHERE user_id = :u AND {ref.column} IS NOT NULL ORDER BY created_at LIMIT 1"),
        {"u": owner["users"].id},
    ).mappings().one()
    return dict(row)


def _copy_of_bobs_row(service: Session, ref: Ref, alice: dict[str, Any], bob: dict[str, Any]) -> dict[str, Any]:
    """Bob's row made Alice's: her user_id, her values for the other references. Whatever a unique index
    compares (the state, the date, the event key, the type) is still Bob's, so where Bob's row counts
    towards a unique index, so would this one."""
    row = _template(service, ref, bob)
    mine = alice[ref.table]
    for other in REFERENCES:
        if other.table == ref.table and other.column != ref.column:
            row[other.column] = getattr(mine, other.column)
    row.update(id=uuid.uuid4(), user_id=alice["users"].id)
    return row


def _insert(table: str, row: dict[str, Any]) -> str:
    return f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(':' + c for c in row)})"


class Refusal(NamedTuple):
    error: type
    sqlstate: str | None
    message: str
    detail: str | None


def _refusal(session: Session, statement: str, params: dict[str, Any], masked: uuid.UUID) -> Refusal:
    """The error ``statement`` fails with, the id ``masked`` written as <id> wherever it appears."""
    with pytest.raises(sqlalchemy.exc.DBAPIError) as caught:
        with session.begin_nested():
            session.execute(text(statement), params)
    orig: Any = caught.value.orig
    detail = orig.diag.message_detail
    return Refusal(type(orig), orig.sqlstate, orig.diag.message_primary.replace(str(masked), "<id>"),
                   detail.replace(str(masked), "<id>") if detail else None)


def _count(service: Session, table: str, where: str, params: dict[str, Any]) -> int:
    db.set_context(service, service=True)
    return int(service.execute(text(f"SELECT count(*) FROM {table} WHERE {where}"), params).scalar_one())


def _refused_alike(session: Session, statement: str, params: dict[str, Any], key: str, theirs: uuid.UUID) -> Refusal:
    """``statement`` fails alike with ``theirs`` and with a random id in ``key``; the refusal."""
    nowhere = uuid.uuid4()
    for_theirs = _refusal(session, statement, {**params, key: theirs}, theirs)
    for_nothing = _refusal(session, statement, {**params, key: nowhere}, nowhere)
    assert for_theirs == for_nothing
    return for_theirs


# --- each reference, in a user's context -----------------------------------------------------------


@pytest.mark.parametrize("ref", REFERENCES, ids=IDS)
def test_a_new_row_pointing_at_another_users_row_is_refused_as_if_it_did_not_exist(
    service: Session, users: Any, ref: Ref
) -> None:
    alice, bob = users
    row = _copy_of_bobs_row(service, ref, alice, bob)
    theirs = row[ref.column]
    db.set_context(service, user_id=alice["users"].id)
    refusal = _refused_alike(service, _insert(ref.table, row), row, ref.column, theirs)
    assert (refusal.sqlstate, refusal.message) == (
        "42501", f'new row violates row-level security policy for table "{ref.table}"')
    assert _count(service, ref.table, "id = :id", {"id": row["id"]}) == 0


@pytest.mark.parametrize("ref", [r for r in REFERENCES if r.table != "action_events"],
                         ids=[i for i in IDS if not i.startswith("action_events")])
def test_pointing_a_row_at_another_users_row_is_refused_as_if_it_did_not_exist(
    service: Session, users: Any, ref: Ref
) -> None:
    """(action_events is append-only: no update reaches its references.)"""
    alice, bob = users
    mine, theirs = alice[ref.table].id, _template(service, ref, bob)[ref.column]
    before = _row(service, ref.table, mine)
    statement = f"UPDATE {ref.table} SET {ref.column} = :ref WHERE id = :mine"
    db.set_context(service, user_id=alice["users"].id)
    refusal = _refused_alike(service, statement, {"mine": mine}, "ref", theirs)
    assert (refusal.sqlstate, refusal.message) == (
        "42501", f'new row violates row-level security policy for table "{ref.table}"')
    own = service.begin_nested()  # while a row of her own is accepted
    assert db.rows_affected(service, text(statement), {"mine": mine, "ref": alice[ref.target].id}) == 1
    own.rollback()
    assert _row(service, ref.table, mine) == before


@pytest.mark.parametrize("ref", REFERENCES, ids=IDS)
def test_the_service_context_cannot_mix_two_users_either(service: Session, users: Any, ref: Ref) -> None:
    alice, bob = users
    row = {**_row(service, ref.table, alice[ref.table].id), "id": uuid.uuid4()}
    row[ref.column] = (bob["undo"] if ref.column == "undoes_event_id" else bob[ref.target]).id  # not undone yet
    for column, value in {"event_key": "another-event", "call_date": date(2001, 1, 1), "type": "INSIGHT_POST",
                          "undoes_event_id": None}.items():  # nothing but the reference may stand in the way
        if column in row and column != ref.column:
            row[column] = value
    db.set_context(service, service=True)
    with pytest.raises(sqlalchemy.exc.IntegrityError, match=f"violates foreign key constraint \"{ref.table}_"
                                                            f"{ref.column}_fkey\""):
        with service.begin_nested():
            service.execute(text(_insert(ref.table, row)), row)


# --- the tables with no user_id, bound by policy ---------------------------------------------------


def test_a_plan_row_cannot_join_one_users_plan_and_another_users_action(service: Session, users: Any) -> None:
    alice, bob = users
    statement = ("INSERT INTO daily_plan_actions (daily_plan_id, action_id, position, number) "
                 "VALUES (:plan, :action, 9, 10)")
    db.set_context(service, user_id=alice["users"].id)
    assert _refused_alike(service, statement, {"plan": alice["daily_plans"].id}, "action",
                          bob["actions"].id).sqlstate == "42501"
    assert _refused_alike(service, statement, {"action": alice["actions"].id}, "plan",
                          bob["daily_plans"].id).sqlstate == "42501"
    mine = alice["daily_plan_actions"].id
    _refused_alike(service, "UPDATE daily_plan_actions SET action_id = :action WHERE id = :mine", {"mine": mine},
                   "action", bob["actions"].id)
    db.set_context(service, service=True)  # the service too: a plan is one user's
    with pytest.raises(sqlalchemy.exc.ProgrammingError, match="row-level security"):
        with service.begin_nested():
            service.execute(text(statement), {"plan": alice["daily_plans"].id, "action": bob["actions"].id})
    another = make_action(service, alice["users"], None)
    with service.begin_nested():
        service.execute(text(statement), {"plan": alice["daily_plans"].id, "action": another.id})


def test_a_sync_log_cannot_name_another_users_connection(service: Session, users: Any) -> None:
    alice, bob = users
    db.set_context(service, user_id=alice["users"].id)
    _refused_alike(service, "INSERT INTO calendar_sync_logs (calendar_connection_id, operation, status) "
                   "VALUES (:conn, 'sync', 'success')", {}, "conn", bob["calendar_connections"].id)
    _refused_alike(service, "UPDATE calendar_sync_logs SET calendar_connection_id = :conn WHERE id = :mine",
                   {"mine": alice["calendar_sync_logs"].id}, "conn", bob["calendar_connections"].id)


def test_a_user_writes_no_subscription_whoever_the_customer_is(service: Session, users: Any) -> None:
    alice, bob = users
    statement = ("INSERT INTO billing_subscriptions (billing_customer_id, stripe_subscription_id, stripe_price_id, "
                 "current_period_end) VALUES (:customer, 'sub_x', 'price_1', now())")
    db.set_context(service, user_id=alice["users"].id)
    refusal = _refused_alike(service, statement, {}, "customer", bob["billing_customers"].id)
    assert refusal == _refusal(service, statement, {"customer": alice["billing_customers"].id},
                               alice["billing_customers"].id)


# --- what it was for ---------------------------------------------------------------------------------


def test_another_users_sent_action_on_my_lead_cannot_exist_so_my_mark_sent_works(service: Session) -> None:
    alice, bob = make_user(service), make_user(service)
    bobs_lead = make_lead(service, bob)
    bobs_action = make_action(service, bob, bobs_lead)
    squat = {"id": uuid.uuid4(), "user_id": alice.id, "person_id": bobs_lead.id, "action_type": "FOLLOW_UP",
             "state": "SENT", "due_date": date.today()}
    db.set_context(service, user_id=alice.id)
    with pytest.raises(sqlalchemy.exc.ProgrammingError, match="row-level security"):
        with service.begin_nested():
            service.execute(text(_insert("actions", squat)), squat)
    db.set_context(service, service=True)
    with pytest.raises(sqlalchemy.exc.IntegrityError, match='foreign key constraint "actions_person_id_fkey"'):
        with service.begin_nested():
            service.execute(text(_insert("actions", squat)), squat)

    db.set_context(service, user_id=bob.id)
    result = change_state(service, user=bob, action_id=bobs_action.id, to=ActionState.SENT, channel=Channel.SLACK)
    assert result.action.state == ActionState.SENT
    assert [a.id for a in list_waiting(service, user=bob)] == [bobs_action.id]


def test_deleting_a_referenced_row_clears_only_the_reference(service: Session, users: Any) -> None:
    """ON DELETE SET NULL (column): the referencing row stays its owner's; CASCADE still cascades."""
    _alice, bob = users
    owner = bob["users"].id
    follow_up = _template(service, REFERENCES[1], bob)["id"]
    on_the_lead = make_action(service, bob["users"], bob["leads"]).id
    service.execute(text("DELETE FROM actions WHERE id = :id"), {"id": bob["actions"].id})
    service.execute(text("DELETE FROM weekly_summaries WHERE id = :id"), {"id": bob["weekly_summaries"].id})
    assert _row(service, "actions", follow_up)["source_action_id"] is None
    assert _row(service, "actions", follow_up)["user_id"] == owner
    prompt = _row(service, "content_prompts", bob["content_prompts"].id)
    assert (prompt["weekly_summary_id"], prompt["user_id"]) == (None, owner)
    service.execute(text("DELETE FROM leads WHERE id = :id"), {"id": bob["leads"].id})
    assert (_row(service, "actions", on_the_lead)["person_id"], _row(service, "actions", on_the_lead)["user_id"]) == (
        None, owner)
    assert _count(service, "actions", "id = :id", {"id": follow_up}) == 0  # it was made for the lead's call


# --- the migration over existing rows ----------------------------------------------------------------


def test_the_migration_refuses_rows_that_already_point_at_another_user(
    connection: Connection, service: Session, users: Any
) -> None:
    alice, bob = users
    migrate.downgrade(connection, "0011")
    connection.execute(text("SELECT set_config('app.service', 'on', true)"))
    connection.execute(text("UPDATE actions SET person_id = :lead WHERE id = :a"),
                       {"lead": bob["leads"].id, "a": alice["actions"].id})
    connection.execute(text("UPDATE daily_plan_actions SET action_id = :a WHERE id = :row"),
                       {"a": bob["actions"].id, "row": alice["daily_plan_actions"].id})
    with pytest.raises(RuntimeError) as refused:
        migrate.upgrade(connection)
    message = str(refused.value)
    assert "Nothing was changed" in message
    assert f"- actions.person_id -> leads: 1 row(s), e.g. row {alice['actions'].id} (user {alice['users'].id}) " \
           f"-> {bob['leads'].id} (user {bob['users'].id})" in message
    assert "- daily_plan_actions: plan and action of different users: 1 row(s)" in message
    assert "logged_calls" not in message
    assert migrate.current_revision(connection) == "0011"

    connection.execute(text("SELECT set_config('app.service', 'on', true)"))
    connection.execute(text("UPDATE actions SET person_id = NULL WHERE id = :a"), {"a": alice["actions"].id})
    connection.execute(text("DELETE FROM daily_plan_actions WHERE id = :row"), {"row": alice["daily_plan_actions"].id})
    migrate.upgrade(connection)
    assert migrate.current_revision(connection) == migrate.heads()[0]
    assert migrate.schema_differences(connection) == []
