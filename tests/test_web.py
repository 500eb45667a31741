"""The web app's health check reports the database's real state: ``ok`` or ``unavailable`` to anyone,
the reason (which names hosts, ports, databases and roles) to the server log only."""

from __future__ import annotations

import logging
import socket
import time

import pytest
from sqlalchemy import Engine, make_url

from bot.web import create_app
from core import db
from tests.servers import silent_server


def test_healthz_reports_a_reachable_current_database(engine: Engine) -> None:
    response = create_app().test_client().get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok"})


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("fault", ["refused port", "unknown database", "unknown role"])
def test_healthz_answers_503_unavailable_and_logs_why_without_telling_the_caller(
    database_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    fault: str
) -> None:
    port = _closed_port()
    url, names = {
        "refused port": (make_url(f"postgresql+psycopg://nbm_health_role@127.0.0.1:{port}/nbm_health_db"),
                         ("127.0.0.1", str(port))),
        "unknown database": (make_url(database_url).set(database="nbm_health_no_such_db"), ("nbm_health_no_such_db",)),
        "unknown role": (make_url(database_url).set(username="nbm_health_no_such_role"), ("nbm_health_no_such_role",)),
    }[fault]
    monkeypatch.setattr(db, "_engine", db.make_engine(url.render_as_string(hide_password=False)))
    response = create_app().test_client().get("/healthz")
    assert (response.status_code, response.json) == (503, {"status": "unavailable"})
    (logged,) = [record for record in caplog.records if record.name == "nbm.web"]
    assert logged.levelno == logging.WARNING and "database unreachable" in logged.getMessage()
    for name in names:
        assert name not in response.text
        assert name in logged.getMessage()


def test_healthz_answers_503_within_seconds_when_the_database_accepts_but_never_answers(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with silent_server() as port:
        monkeypatch.setattr(db, "_engine", db.make_engine(f"postgresql+psycopg://nbm_health_role@127.0.0.1:{port}/x"))
        started = time.monotonic()
        response = create_app().test_client().get("/healthz")
        waited = time.monotonic() - started
    assert (response.status_code, response.json) == (503, {"status": "unavailable"})
    assert waited < db.CONNECT_TIMEOUT_SECONDS + 1
    (logged,) = [record for record in caplog.records if record.name == "nbm.web"]
    assert "database unreachable: connection timeout expired" in logged.getMessage()
