"""The product's own processes, run as the README runs them: ``nbm worker`` and ``nbm web``.

Each is started in a process group of its own (``start_new_session``), so that killing an
``nbm worker`` takes its worker processes with it, and so that the run can tell its own processes
from everyone else's on a shared machine: a pid is the run's only if its process group is one the
run started. Nothing is ever signalled by name. Output goes to a log file per process in the run's
folder, kept when the run fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

#: Seconds a process is given to stop on SIGTERM before it is killed.
STOP_TIMEOUT = 20.0


class ProductProcess:
    """One ``nbm`` command, started with the run's environment."""

    def __init__(self, name: str, args: list[str], *, env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.env = dict(env)
        self.log_path = log_dir / f"{name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen([sys.executable, "-m", "bot.cli", *self.args], env=self.env,
                                             stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                             start_new_session=True)

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def exit_code(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def signal_group(self, signum: int) -> None:
        """Signal the process and every process it started (its group, which the run created)."""
        if self._process is None:
            return
        try:
            os.killpg(self._process.pid, signum)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        self.signal_group(signal.SIGKILL)
        if self._process is not None:
            self._process.wait()

    def terminate(self) -> None:
        """SIGTERM to the process alone: ``nbm worker``'s supervisor passes a warm shutdown on to its
        worker processes (one signal each: a second one would be RQ's cold shutdown, mid-job)."""
        if self.alive():
            assert self._process is not None
            self._process.terminate()

    def wait_or_kill(self, timeout: float = STOP_TIMEOUT) -> None:
        """Wait for the process to stop, then SIGKILL whatever is left of its group."""
        if self._process is None:
            return
        try:
            self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        self.kill()

    def stop(self) -> None:
        self.terminate()
        self.wait_or_kill()


class WorkerFleet:
    """``count`` ``nbm worker`` supervisors of ``processes`` worker processes each."""

    def __init__(self, *, count: int, processes: int, env: Mapping[str, str], log_dir: Path) -> None:
        self._env, self._log_dir, self._processes = env, log_dir, processes
        self._started = 0
        self.supervisors = [self._new() for _ in range(count)]
        #: ``nbm worker`` processes that exited without being killed by the run (each was replaced).
        self.unexpected_exits: list[str] = []

    def _new(self) -> ProductProcess:
        self._started += 1
        return ProductProcess(f"worker-{self._started}", ["worker", "--processes", str(self._processes)],
                              env=self._env, log_dir=self._log_dir)

    def start(self) -> None:
        for supervisor in self.supervisors:
            supervisor.start()

    def groups(self) -> set[int]:
        return {s.pid for s in self.supervisors if s.alive()}

    def owns(self, pid: int) -> bool:
        """Whether ``pid`` is one of the run's worker processes (its group is one of our supervisors')."""
        try:
            return os.getpgid(pid) in self.groups()
        except ProcessLookupError:
            return False

    def supervisor_of(self, pid: int) -> ProductProcess | None:
        try:
            group = os.getpgid(pid)
        except ProcessLookupError:
            return None
        return next((s for s in self.supervisors if s.alive() and s.pid == group), None)

    def replace(self, supervisor: ProductProcess) -> ProductProcess:
        """Kill ``supervisor`` (if still alive) and start a new ``nbm worker`` in its place."""
        supervisor.kill()
        fresh = self._new()
        self.supervisors[self.supervisors.index(supervisor)] = fresh
        fresh.start()
        return fresh

    def ensure_running(self) -> None:
        """Start a new ``nbm worker`` for any that exited by itself, as a process manager would (and
        remember it: an ``nbm worker`` is not supposed to exit on its own)."""
        for supervisor in list(self.supervisors):
            if not supervisor.alive():
                self.unexpected_exits.append(f"{supervisor.name} exited with {supervisor.exit_code()} "
                                             f"(see {supervisor.log_path})")
                self.replace(supervisor)

    def stop(self) -> None:
        for supervisor in self.supervisors:
            supervisor.terminate()
        for supervisor in self.supervisors:
            supervisor.wait_or_kill()


class WebProcess(ProductProcess):
    """``nbm web`` on a port of the run's own."""

    def __init__(self, *, port: int, env: Mapping[str, str], log_dir: Path) -> None:
        super().__init__("web", ["web", "--host", "127.0.0.1", "--port", str(port)], env=env, log_dir=log_dir)
        self.port = port
        self.unexpected_exits: list[str] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Poll ``/healthz`` until it answers 200 (the database answers and its schema is current)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"nbm web exited with {self.exit_code()}; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"nbm web did not become healthy within {timeout:.0f} s; see {self.log_path}")

    def ensure_running(self) -> None:
        if not self.alive():
            self.unexpected_exits.append(f"web exited with {self.exit_code()} (see {self.log_path})")
            self.start()
