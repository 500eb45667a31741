"""Running the ``nbm`` command line in a test, as a person types it: one helper for every test that
does, so each says only what it runs and what it expects."""

from __future__ import annotations

from click.testing import CliRunner, Result

from bot.cli import main


def nbm(*args: str) -> Result:
    """``nbm ARGS``: what it printed and its exit code. An exception the command did not turn into
    a message is raised, not kept in the result: a test that meets one fails saying where."""
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def nbm_ok(*args: str) -> Result:
    """``nbm ARGS``, which must succeed (exit code 0; else the test fails showing what it printed)."""
    result = nbm(*args)
    assert result.exit_code == 0, result.output
    return result
