"""Fixtures of the Google and Outlook tests: settings with both providers, a pinned clock, no network.

Every HTTP request is answered by ``responses`` (requests: google-auth, requests-oauthlib, msal's
default client, Graph) or by googleapiclient's ``HttpMockSequence`` (httplib2). As a guard, a name
other than the local database's cannot even be resolved during these tests.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
import responses
import time_machine

from core.calendars import microsoft_metadata
from core.config import Settings, load_settings

if TYPE_CHECKING:
    from tests.calendars_oauth.microsoft import Microsoft

NOW = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    resolve = socket.getaddrinfo

    def local_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and str(host) not in LOCAL_HOSTS:
            raise OSError(f"network access attempted in a test: {host}")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", local_only)


@pytest.fixture(autouse=True)
def fresh_metadata() -> Iterator[None]:
    """No test reads Microsoft's metadata as another test's fake served it (the process keeps it a day)."""
    microsoft_metadata.KEPT.clear()
    yield
    microsoft_metadata.KEPT.clear()


@pytest.fixture()
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture()
def settings() -> Settings:
    return load_settings({
        "NBM_ENV": "test",
        "BASE_URL": "https://nbm.example",
        "GOOGLE_CLIENT_ID": "google-client.apps.googleusercontent.com",
        "GOOGLE_CLIENT_SECRET": "google-client-secret",
        "MICROSOFT_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
        "MICROSOFT_CLIENT_SECRET": "microsoft-client-secret",
    })


@pytest.fixture()
def mocked() -> Iterator[responses.RequestsMock]:
    """Answers for ``requests``; a request nobody registered fails with ConnectionError."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture()
def microsoft(mocked: responses.RequestsMock, settings: Settings) -> Microsoft:
    """Microsoft's identity platform answering through ``mocked`` (tests/calendars_oauth/microsoft.py)."""
    from tests.calendars_oauth.microsoft import Microsoft  # it reads NOW from here

    return Microsoft(mocked, settings)
