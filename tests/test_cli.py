"""The `nbm` command's database and key commands, run the way an operator runs them."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import Engine

from bot.cli import main
from core import migrate


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
