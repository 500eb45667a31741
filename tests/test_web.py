"""The web app's health check reports the database's real state."""

from __future__ import annotations

from sqlalchemy import Engine

from bot.web import create_app
from core import db, migrate


def test_healthz_reports_a_reachable_current_database(engine: Engine) -> None:
    response = create_app().test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert response.json["database"]["revision"] == response.json["database"]["expected_revision"] == migrate.heads()[0]


def test_healthz_answers_503_when_the_database_is_down(engine: Engine, monkeypatch) -> None:
    monkeypatch.setattr(db, "_engine", db.make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    response = create_app().test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert "unreachable" in response.json["database"]["detail"]
