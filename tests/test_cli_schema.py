"""A command run before the database has its tables (a fresh embedded database, a new server)
says what to do, instead of printing a SQL traceback."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import Connection

from bot.cli import main
from core import migrate


def test_a_command_on_a_database_without_its_tables_says_to_run_nbm_db_upgrade(connection: Connection) -> None:
    migrate.downgrade(connection, "base")  # inside the test's transaction: rolled back afterwards
    result = CliRunner().invoke(main, ["users", "add", "ann@example.com", "--name", "Ann", "--tz", "UTC"])
    assert result.exit_code == 1, result.output
    assert "the database has no NextBestMove tables yet (or lacks some): run `nbm db upgrade`" in result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
