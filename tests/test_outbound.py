"""Connections to other services (core/outbound.py): the requests sessions the calendar providers
use (Google's token refresh, Microsoft Graph and msal) and googleapiclient's calls (Google's reads)
share the process's kept-alive connections and its one TLS context, and still verify the server.

Before, each read made a session (or an ``httplib2.Http``) of its own: a new connection, and its
certificate bundle loaded into it (about 18 ms of CPU a call, measured against a loopback server).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from googleapiclient.errors import HttpError  # type: ignore[import-untyped]
from googleapiclient.http import HttpRequest  # type: ignore[import-untyped]
from googleapiclient.model import JsonModel  # type: ignore[import-untyped]

from bot.chaos.loopback_tls import JsonService, loopback_certificate
from core import outbound
from core.outbound import Httplib2Over
from tests.factories import machine_now


@pytest.fixture()
def token_server(tmp_path: Path, trust_certificate: Callable[[Path], None]) -> Iterator[JsonService]:
    """A token endpoint over TLS on loopback, with a certificate this process trusts."""
    certificate = loopback_certificate(tmp_path, now=machine_now())
    trust_certificate(certificate.cert_file)
    service = JsonService(certificate, {"access_token": "t", "expires_in": 3600})
    yield service
    service.close()


def test_sessions_share_one_kept_connection_and_never_read_the_certificate_store_again(
        token_server: JsonService, contexts_made: list[str]) -> None:
    for n in range(3):
        with outbound.http_session() as http:  # a read's session, closed when the read is over
            assert http.post(f"{token_server.url}/token", data={"n": n}, timeout=5).json()["access_token"] == "t"

    assert token_server.posts == [b"n=0", b"n=1", b"n=2"]
    assert token_server.connections == 1, "three sessions, one connection kept open for all of them"
    assert contexts_made == ["made"], "the process's one context, made once"


def test_a_server_whose_certificate_is_not_trusted_is_refused(
        token_server: JsonService, tmp_path: Path, trust_certificate: Callable[[Path], None]) -> None:
    other = tmp_path / "other"
    other.mkdir()
    trust_certificate(loopback_certificate(other, now=machine_now()).cert_file)  # not the server's

    with outbound.http_session() as http, pytest.raises(requests.exceptions.SSLError):
        http.post(f"{token_server.url}/token", data={"n": 1}, timeout=5)
    assert token_server.posts == []


def google_call(server: JsonService, n: int) -> HttpRequest:
    """A call as googleapiclient makes it, through the transport the Google provider uses."""
    return HttpRequest(Httplib2Over(5), JsonModel(False).response, f"{server.url}/token", method="POST", body=f"n={n}",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})


def test_google_api_calls_share_one_kept_connection(token_server: JsonService, contexts_made: list[str]) -> None:
    answers = [google_call(token_server, n).execute() for n in range(3)]

    assert answers == [{"access_token": "t", "expires_in": 3600}] * 3
    assert token_server.posts == [b"n=0", b"n=1", b"n=2"]
    assert token_server.connections == 1
    assert contexts_made == ["made"]


def test_a_google_api_refusal_is_an_http_error_with_its_status(token_server: JsonService) -> None:
    token_server.status = 403
    with pytest.raises(HttpError) as refused:
        google_call(token_server, 1).execute()
    assert refused.value.status_code == 403
