"""Connections to other services (core/outbound.py): the requests sessions the calendar providers
use (Google's token refresh, Microsoft Graph and msal) and googleapiclient's calls (Google's reads)
share the process's kept-alive connections and its one TLS context, and still verify the server.

Before, each read made a session (or an ``httplib2.Http``) of its own: a new connection, and its
certificate bundle loaded into it (about 18 ms of CPU a call, measured against a loopback server).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import requests
from googleapiclient.errors import HttpError  # type: ignore[import-untyped]
from googleapiclient.http import HttpRequest  # type: ignore[import-untyped]
from googleapiclient.model import JsonModel  # type: ignore[import-untyped]

from bot.chaos.loopback_tls import TlsHTTPServer, loopback_certificate
from core import outbound
from core.outbound import Httplib2Over
from tests.factories import machine_now


@dataclass
class TokenServer:
    """A token endpoint over TLS on loopback: every POST answered with a token (``status``: 200)."""

    url: str
    posts: list[bytes] = field(default_factory=list)
    connections: int = 0
    status: int = 200


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
            self.send_response(state[0].status)
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


def google_call(server: TokenServer, n: int) -> HttpRequest:
    """A call as googleapiclient makes it, through the transport the Google provider uses."""
    return HttpRequest(Httplib2Over(5), JsonModel(False).response, server.url, method="POST", body=f"n={n}",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})


def test_google_api_calls_share_one_kept_connection(token_server: TokenServer, contexts_made: list[str]) -> None:
    answers = [google_call(token_server, n).execute() for n in range(3)]

    assert answers == [{"access_token": "t", "expires_in": 3600}] * 3
    assert token_server.posts == [b"n=0", b"n=1", b"n=2"]
    assert token_server.connections == 1
    assert contexts_made == ["made"]


def test_a_google_api_refusal_is_an_http_error_with_its_status(token_server: TokenServer) -> None:
    token_server.status = 403
    with pytest.raises(HttpError) as refused:
        google_call(token_server, 1).execute()
    assert refused.value.status_code == 403
