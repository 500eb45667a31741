"""A request body larger than anything Slack sends is refused with 413 before it is read by the server
in front of the app (the app's own cap is tested in tests/slack/test_requests.py), so 400 MB cost the
server neither memory nor a line in its log.

The test runs the real ``nbm web`` (waitress) in a process of its own and streams the body to
it in 64 KB chunks, never holding more than one chunk: the process's peak resident memory (VmHWM)
is read before and after.
"""

from __future__ import annotations

import http.client
import os
import select
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import DEADLINE_SECONDS, free_port, wait_until_listening
from tests.slack.conftest import SIGNING_SECRET

BODY_BYTES = 400 * 1024 * 1024
CHUNK = b"x" * (64 * 1024)
#: Peak memory may grow this much while a 400 MB body is refused (a buffer or two, not the body).
GROWTH_ALLOWED_KB = 50 * 1024

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from Linux's /proc")


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def peak_memory_kb(self) -> int:
        """The process's high-water mark of resident memory (VmHWM), in kB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM in /proc status")


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``nbm web`` on a free loopback port, Slack on (so /slack/events reads requests), its log in a file."""
    folder = tmp_path_factory.mktemp("nbm-web")
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "NBM_DATA_DIR": str(folder), "NBM_ENV": "test",
           "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_BOT_TOKEN": "xoxb-not-used", "WEB_THREADS": "2"}
    log = folder / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen([str(Path(sys.executable).with_name("nbm")), "web", "--port", str(port)],
                                   env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until_listening(process, port, log)
        yield Server(process, port, log)
    finally:
        process.terminate()
        process.wait(timeout=DEADLINE_SECONDS)


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_the_server_refuses_400_mb_with_413_and_its_memory_stays_flat(server: Server, framing: str) -> None:
    _post(server, b"{}", framing="content-length")  # warm: the route has run once before measuring
    before = server.peak_memory_kb()
    status = _post(server, _stream(), framing=framing)
    grown = server.peak_memory_kb() - before
    assert grown < GROWTH_ALLOWED_KB, f"peak memory grew by {grown // 1024} MB (answered {status})"
    assert status == 413
    assert server.process.poll() is None
    assert CHUNK[:1000] not in server.log.read_bytes()


def _post(server: Server, body: bytes | Iterator[bytes], *, framing: str) -> int:
    """POST ``body`` unsigned to /slack/events and return the status. A streamed body stops as soon as
    the server has answered: a server that refuses early need not be sent the rest."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=DEADLINE_SECONDS)
    connection.connect()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if framing == "content-length":
        headers["Content-Length"] = str(len(body) if isinstance(body, bytes) else BODY_BYTES)
    sock = connection.sock
    chunks = body if isinstance(body, bytes) else _until_answered(body, sock)
    try:
        connection.request("POST", "/slack/events", body=chunks, headers=headers)  # chunked without a length
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and closed while we were still sending: the answer is read below
    try:
        return connection.getresponse().status
    finally:
        connection.close()


def _stream() -> Iterator[bytes]:
    for _ in range(BODY_BYTES // len(CHUNK)):
        yield CHUNK


def _until_answered(chunks: Iterator[bytes], sock: socket.socket) -> Iterator[bytes]:
    for chunk in chunks:
        readable, _, _ = select.select([sock], [], [], 0)
        if readable:
            return
        yield chunk
