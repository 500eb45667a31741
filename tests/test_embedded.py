"""The embedded default (core.embedded) after a rough stop: the next command still starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_handle_file_cut_by_a_killed_process_does_not_stop_the_next_command(tmp_path: Path) -> None:
    """Ctrl-C pressed again while ``nbm dev`` stopped left pgserver's list of processes empty; every
    command on the embedded default then failed with a JSON traceback."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env["NBM_DATA_DIR"] = str(tmp_path)

    def nbm_db_upgrade() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    assert nbm_db_upgrade().returncode == 0  # the embedded database made, migrated, stopped
    (tmp_path / "postgres" / ".handle_pids.json").write_text("")  # as a killed process left it

    done = nbm_db_upgrade()

    assert done.returncode == 0, done.stderr
    assert "schema at revision" in done.stdout and "Traceback" not in done.stderr
    assert (tmp_path / "postgres" / ".handle_pids.json").read_text() == "[]"  # the server was stopped on exit
