"""Free TCP ports on loopback for the run's own servers (Redis, SMTP, fake Slack, web)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nobody listens on right now (the kernel's choice; taken by the caller at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
