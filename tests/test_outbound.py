"""Connections to other services (core/outbound.py): the requests sessions the calendar providers
use (Google's token refresh, Microsoft Graph and msal) share the process's kept-alive connections
and its one TLS context, and still verify the server's certificate.

Before, each read made a session of its own: a new connection, and requests loading its certificate
bundle into it (about 18 ms of CPU a read, measured against a loopback server).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import requests

from bot.chaos.loopback_tls import TlsHTTPServer, loopback_certificate
from core import outbound
from tests.factories import machine_now


@dataclass
class TokenServer:
    """A token endpoint over TLS on loopback: every POST answered with a token."""

    url: str
    posts: list[bytes] = field(default_factory=list)
    connections: int = 0


@pytest.fixture()
def token_server(tmp_path: Path, trust_certificate: Callable[[Path], None]) -> Iterator[TokenServer]:
    certificate = loopback_certificate(tmp_path, now=machine_now())
    trust_certificate(certificate.cert_file)
    lock = threading.Lock()
    state: list[TokenServer] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args: object) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            with lock:
                state[0].connections += 1

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                state[0].posts.append(body)
            answer = b'{"access_token": "t", "expires_in": 3600}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    server = TlsHTTPServer(Handler, certificate)
    state.append(TokenServer(f"https://127.0.0.1:{server.server_address[1]}/token"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state[0]
    server.shutdown()


def test_sessions_share_one_kept_connection_and_never_read_the_certificate_store_again(
        token_server: TokenServer, contexts_made: list[str]) -> None:
    for n in range(3):
        with outbound.http_session() as http:  # a read's session, closed when the read is over
            assert http.post(token_server.url, data={"n": n}, timeout=5).json()["access_token"] == "t"

    assert token_server.posts == [b"n=0", b"n=1", b"n=2"]
    assert token_server.connections == 1, "three sessions, one connection kept open for all of them"
    assert contexts_made == ["made"], "the process's one context, made once"


def test_a_server_whose_certificate_is_not_trusted_is_refused(
        token_server: TokenServer, tmp_path: Path, trust_certificate: Callable[[Path], None]) -> None:
    other = tmp_path / "other"
    other.mkdir()
    trust_certificate(loopback_certificate(other, now=machine_now()).cert_file)  # not the server's

    with outbound.http_session() as http, pytest.raises(requests.exceptions.SSLError):
        http.post(token_server.url, data={"n": 1}, timeout=5)
    assert token_server.posts == []
