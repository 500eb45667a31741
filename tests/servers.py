"""What the tests that run a server of their own share: a free port, waiting for it to listen, a
server that never answers, and a redis-server of a test's own (plain or TLS), started and stopped."""

from __future__ import annotations

import os
import selectors
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from redis import Redis

from bot.chaos.loopback_tls import loopback_certificate
from tests.factories import machine_now

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


#: How long :func:`silent_server` holds a connection before hanging up: longer than any timeout the
#: code under test should give up by, short enough that a test of code without one fails, not hangs.
SILENT_SECONDS = 20


@contextmanager
def silent_server(on_connect: Callable[[], None] = lambda: None) -> Iterator[int]:
    """The port of a server that accepts a connection and never answers (a hung database host),
    calling ``on_connect`` once it has; it hangs up after :data:`SILENT_SECONDS`, or when the block ends."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(SILENT_SECONDS)
    done = threading.Event()

    def hold() -> None:
        with listener:
            try:
                connection, _ = listener.accept()
            except OSError:  # nobody came: timed out, or woken by the shutdown below
                return
            with connection:
                on_connect()
                done.wait(SILENT_SECONDS)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        done.set()
        with suppress(OSError):  # wakes an accept still waiting (and fails once it has returned)
            listener.shutdown(socket.SHUT_RDWR)
        holder.join()


def wait_until_redis_ready(server: subprocess.Popen[bytes], within: float = 15.0) -> None:
    """Read the server's log until it accepts connections: waits on its output, for a bounded time, never sleeps."""
    assert server.stdout is not None
    out, log = server.stdout.fileno(), b""
    deadline = time.monotonic() + within
    with selectors.DefaultSelector() as selector:
        selector.register(out, selectors.EVENT_READ)
        while b"Ready to accept connections" not in log:
            left = deadline - time.monotonic()
            chunk = os.read(out, 65536) if left > 0 and selector.select(timeout=left) else b""
            if not chunk:  # it exited, or said nothing in time: its log says why
                pytest.fail(f"redis-server did not start in {within:.0f} s:\n{log.decode(errors='replace')}")
            log += chunk


def without_libfaketime() -> dict[str, str]:
    """This environment minus libfaketime: CI runs the suite under it, and redis-server hangs there (its
    allocator's clock_gettime recursion). The server's clock plays no part in these tests."""
    return {name: value for name, value in os.environ.items() if name != "LD_PRELOAD" and "FAKETIME" not in name}


def wait_for(condition: str, check: Callable[[], bool], process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll ``check`` until it holds, waiting a moment on ``process`` each time, so its death shows at
    once; ``log`` (its output) says why when it died or the condition did not hold in time."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {DEADLINE_SECONDS} s: {condition}\n{log.read_text()}")
        try:
            process.wait(timeout=0.05)
            raise AssertionError(f"{' '.join(map(str, process.args))} exited with {process.returncode}:\n"
                                 f"{log.read_text()}")
        except subprocess.TimeoutExpired:
            pass


class RedisServer:
    """A redis-server on a port of its own, without persistence, that the test stops and starts again.
    With ``tls``, it speaks only TLS (``rediss://``, its plain port off), with a self-signed certificate,
    as Heroku's Redis does: its clients skip the certificate check (``REDIS_TLS_VERIFY=false``)."""

    def __init__(self, folder: Path, *, tls: bool = False) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            missing = "needs Debian's redis-server (apt-get install redis-server)"
            if os.environ.get("CI"):  # CI runs a redis-server: missing there is a failure, not a skip
                pytest.fail(missing)
            pytest.skip(missing)
        self.port, self.tls = free_port(), tls
        listen = ["--port", str(self.port)]
        if tls:
            certificate = loopback_certificate(folder, now=machine_now())  # only the missing authority is wrong
            listen = ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(certificate.cert_file),
                      "--tls-key-file", str(certificate.key_file), "--tls-ca-cert-file", str(certificate.cert_file),
                      "--tls-auth-clients", "no"]
        self.command = [binary, *listen, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                        "--dir", str(folder)]
        self.url = f"{'rediss' if tls else 'redis'}://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def client(self) -> Redis:
        """A connection of the test's own to this server."""
        return Redis.from_url(self.url, ssl_cert_reqs=None) if self.tls else Redis.from_url(self.url)

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        env=without_libfaketime())
        wait_until_redis_ready(self.process)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=DEADLINE_SECONDS)
            assert self.process.stdout is not None
            self.process.stdout.close()
            self.process = None
