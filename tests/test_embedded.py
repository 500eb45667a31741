"""The embedded default (core.embedded) after a rough stop: the next command still starts."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]


def test_a_handle_file_cut_by_a_killed_process_does_not_stop_the_next_command(tmp_path: Path) -> None:
    """Ctrl-C pressed again while ``nbm dev`` stopped left pgserver's list of processes empty; every
    command on the embedded default then failed with a JSON traceback."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env["NBM_DATA_DIR"] = str(tmp_path)

    def nbm_db_upgrade() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    made = nbm_db_upgrade()
    assert made.returncode == 0, made.stderr  # the embedded database made, migrated, stopped
    (tmp_path / "postgres" / ".handle_pids.json").write_text("")  # as a killed process left it

    done = nbm_db_upgrade()

    assert done.returncode == 0, done.stderr
    assert "schema at revision" in done.stdout and "Traceback" not in done.stderr
    assert (tmp_path / "postgres" / ".handle_pids.json").read_text() == "[]"  # the server was stopped on exit


def test_nbm_dev_signalled_again_while_it_stops_still_stops_its_engines(tmp_path: Path) -> None:
    """A second SIGTERM (or Ctrl-C) during ``nbm dev``'s shutdown cut it short: the embedded Redis was
    left running, or pgserver's list of processes half written."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env["NBM_DATA_DIR"] = str(tmp_path / "data")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dev = subprocess.Popen([sys.executable, "-m", "bot.cli", "dev", "--port", str(port)], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = Log(dev.stdout)
    try:
        log.until("Listening on", within=90)  # its worker has started
        dev.send_signal(signal.SIGTERM)
        log.until("shutting down", within=30)  # its worker is stopping: nbm dev waits for it
        dev.send_signal(signal.SIGTERM)  # stopped again meanwhile
        dev.wait(timeout=60)
    finally:
        if dev.poll() is None:
            dev.kill()

    left = running_in(tmp_path)
    for pid in left:  # leave nothing behind, whatever the outcome
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert left == {}, log.text
    assert (tmp_path / "data" / "postgres" / ".handle_pids.json").read_text() == "[]"


class Log:
    """What a process and its children write to ``stream``, read as it comes (so they never block on
    a full pipe); :meth:`until` waits for a line."""

    def __init__(self, stream: IO[str] | None) -> None:
        assert stream is not None
        self.text = ""
        self._grown = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._grown:
                self.text += line
                self._grown.notify_all()

    def until(self, words: str, *, within: float) -> None:
        with self._grown:
            assert self._grown.wait_for(lambda: words in self.text, timeout=within), self.text


def running_in(folder: Path) -> dict[int, str]:
    """The processes whose command line names ``folder`` or who work in it: pid -> command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if str(folder) in command or cwd.startswith(str(folder)):
            found[int(entry.name)] = command
    return found

