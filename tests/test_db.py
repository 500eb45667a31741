"""The unit of work: one transaction, the context set inside it, callbacks after commit, fork-safe."""

from __future__ import annotations

import os

import psycopg
import pytest
from sqlalchemy import Connection, Engine, text

from core import db
from tests.factories import make_user


def test_a_unit_of_work_requires_exactly_one_context(connection: Connection) -> None:
    with pytest.raises(ValueError, match="either for one user or as the service"):
        with db.unit_of_work():
            pass


def test_the_user_context_is_set_inside_the_transaction(connection: Connection) -> None:
    with db.unit_of_work(service=True) as session:
        user = make_user(session)
    with db.unit_of_work(user_id=user.id) as session:
        assert session.execute(text("SELECT app.current_user_id(), app.is_service()")).one() == (user.id, False)


def test_after_commit_callbacks_run_only_when_the_unit_commits(connection: Connection) -> None:
    ran: list[str] = []
    with db.unit_of_work(service=True) as session:
        db.after_commit(session, lambda: ran.append("sent"))
        assert ran == []
    assert ran == ["sent"]
    with pytest.raises(RuntimeError):
        with db.unit_of_work(service=True) as session:
            db.after_commit(session, lambda: ran.append("never"))
            raise RuntimeError("boom")
    assert ran == ["sent"]


def test_an_error_rolls_the_whole_unit_back(connection: Connection) -> None:
    with pytest.raises(RuntimeError):
        with db.unit_of_work(service=True) as session:
            make_user(session, email="rolled@back.io")
            raise RuntimeError("boom")
    with db.unit_of_work(service=True) as session:
        assert session.execute(text("SELECT count(*) FROM users WHERE email = 'rolled@back.io'")).scalar() == 0


def test_timestamps_come_back_timezone_aware_in_utc(connection: Connection) -> None:
    with db.unit_of_work(service=True) as session:
        user = make_user(session)
    assert user.created_at.utcoffset() is not None and user.created_at.utcoffset().total_seconds() == 0


def test_a_forked_child_gets_its_own_engine_and_the_parent_keeps_working(engine: Engine) -> None:
    parent_engine = db.get_engine()
    with parent_engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: must not reuse the parent's pooled socket
        try:
            child_engine = db.get_engine()
            with child_engine.connect() as conn:
                ok = conn.execute(text("SELECT 1")).scalar() == 1 and child_engine is not parent_engine
            os.write(write, b"ok" if ok else b"no")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 2) == b"ok"
    with parent_engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1


def test_every_connection_of_the_engine_gives_up_on_a_vanished_server_within_a_minute(engine: Engine) -> None:
    """A connection whose server's host vanished while it waited for an answer hung its thread without
    bound: libpq's TCP keepalives (a silent connection) and its TCP user timeout (a statement sent and
    never acknowledged), read back from the connection itself, end such a wait within a minute."""
    with db.get_engine().connect() as conn:
        dbapi = conn.connection.dbapi_connection
        assert isinstance(dbapi, psycopg.Connection)
        parameters = dbapi.info.get_parameters()
    names = ("keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout")
    # Unset, the system's defaults: 2 hours of silence before a probe; about 15 minutes of retransmits.
    assert set(names) <= set(parameters), parameters
    on, idle, interval, count, unacknowledged_ms = (int(parameters[name]) for name in names)
    assert on == 1 and count > 0 and idle + interval * count <= 60, parameters
    assert 0 < unacknowledged_ms <= 60_000, parameters
