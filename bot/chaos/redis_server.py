"""A redis-server of the run's own, on a port of its own, so that restarting it is part of the chaos
without disturbing anyone else's Redis.

It persists nothing (``--save ""``, ``--appendonly no``): a restart loses every queued, scheduled
and running job, as a Redis without persistence does when it is replaced. What must survive
that is in PostgreSQL (the deliveries ledger), and the scheduler's next tick finds it again.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

#: Seconds a starting redis-server may take to answer PING.
START_TIMEOUT = 15.0


class RedisServer:
    def __init__(self, *, port: int, directory: Path) -> None:
        self.port = port
        self.directory = directory
        self._process: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory), "--logfile", str(self.directory / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        probe = Redis.from_url(self.url, socket_timeout=1)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                probe.ping()
                break
            except RedisError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on port {self.port} (see {self.directory})"
                                       ) from None
                time.sleep(0.05)
        probe.close()

    def kill(self) -> None:
        """SIGKILL: no shutdown, no save, every client's connection dropped."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._process = None

    def restart(self, downtime: float) -> None:
        """Kill, stay down ``downtime`` seconds (the outage itself), start empty."""
        self.kill()
        time.sleep(downtime)
        self.start()
        self.restarts += 1
