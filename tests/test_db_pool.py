"""DB_POOL_SIZE caps each process's PostgreSQL connections, and the Heroku button's deploy fits its
database's connection limit (README, Deploying to Heroku)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from core import config, db

ROOT = Path(__file__).resolve().parent.parent
#: Connections each Heroku Postgres plan accepts in all (Heroku's published limits).
PLAN_CONNECTIONS = {"heroku-postgresql:essential-0": 20}
#: WEB_CONCURRENCY Heroku's Python buildpack sets on a dyno of each size (512 MB: two processes).
BUILDPACK_WEB_CONCURRENCY = {"basic": 2}


@pytest.fixture()
def pool_size(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DB_POOL_SIZE", "2")
    config.get_settings.cache_clear()
    yield
    monkeypatch.undo()
    config.get_settings.cache_clear()


def test_an_engine_opens_at_most_db_pool_size_connections(engine: Engine, pool_size: None) -> None:
    capped = db.make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with capped.connect(), capped.connect():
            assert (capped.pool.size(), capped.pool.checkedout()) == (2, 2)  # type: ignore[attr-defined]
        # No overflow: a third would wait for one of these rather than open beyond the cap.
        assert capped.pool._max_overflow == 0  # type: ignore[attr-defined]
    finally:
        capped.dispose()


def test_the_heroku_button_deploy_fits_its_databases_connection_limit() -> None:
    """Each process's most at once: ``nbm web``'s parent keeps the connection of its start check, and each
    of its processes DB_POOL_SIZE; so do ``nbm worker``'s supervisor and workers; the clock ticks one unit
    of work at a time; the release phase migrates on one connection while the old release still runs.
    What is left is for ``heroku run nbm …`` commands, one connection each."""
    app = json.loads((ROOT / "app.json").read_text())
    formation, pool = app["formation"], int(app["env"]["DB_POOL_SIZE"]["value"])
    (plan,) = [addon["plan"] for addon in app["addons"] if addon["plan"].startswith("heroku-postgresql:")]
    worker_line = re.search(r"^worker: (.*)$", (ROOT / "Procfile").read_text(), re.MULTILINE)
    assert worker_line is not None
    processes = re.search(r"--processes[ =](\d+)", worker_line[1])
    web = formation["web"]["quantity"] * (1 + BUILDPACK_WEB_CONCURRENCY[formation["web"]["size"]] * pool)
    worker = formation["worker"]["quantity"] * (1 + (int(processes[1]) if processes else 1) * pool)
    clock, release = formation["clock"]["quantity"], 1
    assert web + worker + clock + release <= PLAN_CONNECTIONS[plan] - 2, "room for two one-off commands"
