"""The `nbm` command's database and key commands, run the way an operator runs them."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from bot.cli import main
from core import db, migrate
from tests.servers import free_port


def test_db_check_reports_a_current_schema(engine: Engine) -> None:
    result = CliRunner().invoke(main, ["db", "check"])
    assert result.exit_code == 0, result.output
    assert f"schema at revision {migrate.heads()[0]} (current)" in result.output
    assert "schema matches the models" in result.output


def test_db_upgrade_on_a_current_database_changes_nothing(engine: Engine) -> None:
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"revision {migrate.heads()[0]} (current)" in result.output


def test_keys_generate_prints_a_usable_entry() -> None:
    from core.crypto import Keyring

    result = CliRunner().invoke(main, ["keys", "generate", "k2"])
    assert result.exit_code == 0
    assert Keyring.parse(result.output.strip()).primary == "k2"


def test_keys_generate_refuses_a_bad_key_id() -> None:
    result = CliRunner().invoke(main, ["keys", "generate", "k-2"])
    assert result.exit_code == 2
    assert "letters and digits only" in result.output


def test_db_upgrade_says_in_one_line_that_the_database_is_unreachable(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setattr(db, "_engine", db.make_engine(f"postgresql+psycopg://nbm@127.0.0.1:{port}/nbm"))
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith("database unreachable: ") and f"port {port} failed: Connection refused" in line
    assert "Traceback" not in result.output


def test_db_check_says_a_superuser_escapes_row_level_security_fine_in_development(as_superuser: None) -> None:
    result = CliRunner().invoke(main, ["db", "check"])
    assert result.exit_code == 0, result.output
    assert ("DATABASE_URL connects as a role that escapes row-level security (the role 'postgres' is a superuser), "
            "so every user's data is open to every query: connect as a role that is neither a superuser nor has "
            "BYPASSRLS; fine in development (the embedded database connects as postgres), refused in production"
            ) in result.stdout
    assert "schema matches the models" in result.stdout


def test_db_check_says_nothing_of_the_role_when_row_level_security_holds(engine: Engine) -> None:
    result = CliRunner().invoke(main, ["db", "check"])
    assert "row-level security" not in result.output
