"""What the tests that run a server of their own share: a free port, and waiting for it to listen."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

#: Every wait for a server ends by then, passing or failing.
DEADLINE_SECONDS = 60


def free_port() -> int:
    """A loopback port nothing listens on (the kernel's choice, released at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Poll the port until it accepts; each refusal waits a moment on the process, so a server that
    dies is reported at once, with its log."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            try:
                process.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            raise AssertionError(f"the server exited with {process.returncode}:\n{log.read_text()}") from None
    raise AssertionError(f"the server did not listen on port {port} within {DEADLINE_SECONDS} s:\n{log.read_text()}")
