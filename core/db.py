"""The database engine, the unit of work, and the user context that row-level security reads.

* **One transaction per unit of work.** An entry point (a Slack request, an HTTP request, a job, a
  CLI command) opens :func:`unit_of_work`; services take its session, ``flush()`` but never
  ``commit()``; the unit commits once at the end, or rolls back on any error. Work that must only
  happen once the data is safely stored (a Slack message, an email, an enqueue) is registered with
  :func:`after_commit` and runs after the commit succeeds.
* **Context inside the transaction.** Every unit states whose data it touches: a user
  (``app.user_id``) or, for system jobs, the explicit service context (``app.service``). Both are
  set with ``set_config(..., true)``, local to the transaction, so a pooled connection never
  carries one user's context into another's request. With neither set, RLS shows nothing.
* **One clock.** The unit also hands the database ``core.clock``'s instant (``app.now``), which
  every ``created_at`` / ``updated_at`` default and trigger reads (``app.now()``, migration 0005).
  So what the product stamps and what it decides (a local "today", a due date) come from the same
  clock, and a test that pins it pins both, whatever the database server's clock says.
* **Safe across fork.** RQ forks a work horse per job; a child must not reuse the parent's
  sockets. The engine is created lazily per process and forgotten (without closing the parent's
  connections) in a forked child.
* **Time is UTC.** Every connection runs with ``timezone=UTC``; columns are ``timestamptz``.
* **Connecting gives up.** A server that accepts the connection but never answers (a hung host, a
  proxy in front of a dead one) made psycopg wait about two minutes, holding a web thread (Slack
  wants its answer within 3 s), ``/healthz`` and the clock's tick: every connection attempt gives
  up after :data:`CONNECT_TIMEOUT_SECONDS`. No statement timeout is set on the engine: the morning's
  batches and a large import legitimately run long, and a request's statements are short.
* **A vanished server is noticed.** A statement sent, the connection waits for the answer; when the
  server's host vanished meanwhile (lost, cut off by the network, failed over elsewhere), neither an
  answer nor an error ever came, and the thread waiting (a web request, a job, the clock's tick) hung
  without bound. TCP keepalives (:data:`KEEPALIVES`) probe a connection silent for 30 s, and the
  operating system closes it when three probes go unanswered, so the wait ends in an error within a
  minute; a connection idle in the pool is closed the same way, and its next checkout (pre-ping)
  connects afresh. Keepalives probe only a silent connection: a statement sent just as the host
  vanished sits unacknowledged, and TCP retransmits it for about 15 minutes before giving up, so
  ``tcp_user_timeout`` closes a connection whose sent data stays unacknowledged for a minute too.
  A server that is only busy (a long statement) acknowledges and answers the probes from its
  kernel: slow statements are not cut short.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Engine,
    Executable,
    Text,
    TextClause,
    cast,
    create_engine,
    func,
    text,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from core.clock import utcnow
from core.config import get_settings
from core.embedded import database_url

#: Seconds a connection attempt waits for the server (libpq's ``connect_timeout``). A fixed value,
#: not a setting: PostgreSQL on the same network answers in milliseconds, Heroku's with TLS in well
#: under one second, so 5 s only ever ends a wait that would not have succeeded.
CONNECT_TIMEOUT_SECONDS = 5
#: libpq's TCP keepalives: after 30 s of silence, a probe every 10 s; three unanswered and the
#: connection is closed, so a vanished server is noticed within 30 + 3 * 10 = 60 s. Data sent and
#: never acknowledged (a statement sent to a host that just vanished) closes it after 60 s too
#: (``tcp_user_timeout``, in milliseconds).
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3,
              "tcp_user_timeout": 60_000}
_engine: Engine | None = None
_engine_pid: int | None = None
_AFTER_COMMIT = "nbm_after_commit"


def make_engine(url: str) -> Engine:
    """An engine with the project's connection settings (UTC, pre-ping, connect timeout, keepalives, no
    parameters in logs)."""
    return create_engine(
        url,
        # A web process runs up to 8 Bolt listeners and 8 request threads at once: with SQLAlchemy's
        # default of 5 kept connections, every burst closed and reopened the rest (38 new connections
        # in 2,000 presses, nbm bench press). A pool opens connections only as they are needed, and
        # keeps them. DB_POOL_SIZE is also the most it opens (no overflow): each process's share of
        # the server's connection limit (README, Deploying to Heroku); a thread beyond it waits.
        pool_size=get_settings().db_pool_size,
        max_overflow=0,
        pool_pre_ping=True,
        hide_parameters=True,
        connect_args={"options": "-c timezone=UTC", "connect_timeout": CONNECT_TIMEOUT_SECONDS, **KEEPALIVES},
    )


def get_engine() -> Engine:
    """This process's engine, created on first use."""
    global _engine, _engine_pid
    if _engine is None or _engine_pid != os.getpid():
        _engine = make_engine(database_url(get_settings()))
        _engine_pid = os.getpid()
    return _engine


def _forget_engine_in_child() -> None:
    """After fork: drop the parent's pool without closing the sockets the parent still uses."""
    global _engine, _engine_pid
    if _engine is not None:
        _engine.dispose(close=False)
    _engine, _engine_pid = None, None


os.register_at_fork(after_in_child=_forget_engine_in_child)


_factory: tuple[Engine, sessionmaker[Session]] | None = None


def _session_factory() -> sessionmaker[Session]:
    """The session factory of this process's engine, made once: a ``sessionmaker`` makes a Session
    class of its own, whose events SQLAlchemy then sets up at its first session, so one made per unit
    of work cost about 0.25 ms of CPU each. The test suite replaces it to bind sessions to a
    rolled-back transaction."""
    global _factory
    engine = get_engine()
    if _factory is None or _factory[0] is not engine:
        _factory = (engine, sessionmaker(bind=engine, expire_on_commit=False))
    return _factory[1]


#: The first statement of every unit of work (built once).
_SET_CONTEXT = text("SELECT set_config('app.user_id', :uid, true), set_config('app.service', :svc, true), "
                    "set_config('app.now', :now, true)")


def set_context(session: Session, *, user_id: UUID | None = None, service: bool = False) -> None:
    """Set whose data this transaction may touch (exactly one of ``user_id`` and ``service``) and its clock."""
    if (user_id is None) == (not service):
        raise ValueError("a unit of work acts either for one user or as the service, not both or neither")
    session.execute(
        _SET_CONTEXT,
        {"uid": str(user_id) if user_id else "", "svc": "on" if service else "", "now": utcnow().isoformat()},
    )


def narrowing_to_user(user_id: ColumnElement[UUID] | InstrumentedAttribute[UUID]) -> ColumnElement[str]:
    """A column that narrows the transaction from the service context to the user ``user_id`` holds
    as a statement returns its row (as :func:`set_context` would, without a round trip of its own).

    Row-level security filtered the rows as they were read, in the context then in force; only the
    statements after this one see the user's. Select it where the statement returns one row at most."""
    return func.set_config("app.user_id", cast(user_id, Text), True).concat(func.set_config("app.service", "", True))


def rows_affected(session: Session, statement: Executable, params: Mapping[str, Any] | None = None) -> int:
    """Run a set-based write in the session's transaction (its context included); how many rows it touched."""
    return run_set(session, statement, params).rowcount


def run_set(session: Session, statement: Executable, params: Mapping[str, Any] | None = None) -> CursorResult[Any]:
    """Run a set-based write in the session's transaction (its context included); its cursor's result.

    Pending ORM changes are flushed first, as ``session.execute`` would; the statement then runs on
    the session's connection, whose result is a cursor's and so knows its row count.
    """
    session.flush()
    return session.connection().execute(statement, params)


@dataclass(frozen=True)
class ForUsers:
    """A set-based write for every user or only for some, from one SQL text whose ``{only}`` is where
    the filter ``AND <column> = ANY(:users)`` goes: both statements are built once, at import, and
    the one for some users keeps their filter in the text (its plan is never the every-user one).

    A text that locks rows may put ``{skip_locked}`` after its locking clause: ``SKIP LOCKED`` for
    every user, nothing for some. The every-user write is a background sweep (the hourly
    housekeeping) holding rows of many users at once; were it to wait for a row a user's request
    holds, that request could be waiting for one of the sweep's, and PostgreSQL would abort one of
    them. So it passes over what someone holds, for its next run or for the holder (who writes for
    its own users, and must wait: what it passed over would be missing from what it does next).
    """

    everyone: TextClause
    some: TextClause

    @classmethod
    def of(cls, sql: str, *, column: str) -> ForUsers:
        return cls(text(sql.format(only="", skip_locked="SKIP LOCKED")),
                   text(sql.format(only=f"AND {column} = ANY(CAST(:users AS uuid[]))", skip_locked="")))

    def run(self, session: Session, params: Mapping[str, Any], *, user_ids: Sequence[UUID] | None) -> CursorResult[Any]:
        """:func:`run_set` for every user (``user_ids`` None) or for ``user_ids``."""
        if user_ids is None:
            return run_set(session, self.everyone, params)
        return run_set(session, self.some, {**params, "users": list(user_ids)})


def hold_lock(session: Session, key: str) -> None:
    """Wait for, then hold until ``session``'s transaction ends, the lock named ``key``: writers that
    must take turns on something no row stands for yet (a Stripe object not mirrored, a user's plan
    DM about to be posted) each take it first. A PostgreSQL advisory lock of the transaction, so a
    crash or a rollback lets go of it; keys are hashed to 64 bits, so name them by kind
    (``billing:…``, ``plan-dm:…``) to keep kinds apart."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the unit of work that owns ``session`` has committed."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


@contextmanager
def unit_of_work(*, user_id: UUID | None = None, service: bool = False) -> Iterator[Session]:
    """One transaction for one user (``user_id``) or for the system (``service=True``)."""
    session = _session_factory()()
    try:
        with session.begin():
            set_context(session, user_id=user_id, service=service)
            yield session
        for callback in session.info.pop(_AFTER_COMMIT, []):
            callback()
    finally:
        session.close()
