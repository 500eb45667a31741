"""Calendars are read from the public internet only (core/calendars/feed.py): which addresses are
internal, and how a public one is read, over the address that was checked.

The refusals themselves, through the CLI and Slack, are in test_calendar_service.py and
tests/slack/test_calendar_connect.py.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.chaos.loopback_tls import TlsHTTPServer, loopback_certificate
from core.calendars import feed
from core.calendars.feed import is_internal
from core.calendars.freetime import working_window
from core.calendars.providers import CalendarUnavailable
from tests.calendars.feeds import SECRET, FeedHandler
from tests.calendars.test_ics import read
from tests.factories import machine_now


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.10", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "224.0.0.251", "240.0.0.1", "::", "::1", "fe80::1%eth0", "fd00::1", "ff02::1", "::ffff:10.0.0.1",
    # NAT64 to the metadata service and to a private address, NAT64 for local use, 6to4 to loopback.
    "64:ff9b::a9fe:a9fe", "64:ff9b::10.0.0.1", "64:ff9b:1::a00:1", "2002:7f00:1::",
])
def test_addresses_off_the_public_internet_are_internal(address: str) -> None:
    assert is_internal(address)


@pytest.mark.parametrize("address", [
    "8.8.8.8", "142.250.180.14", "2001:4860:4860::8888", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "2002:808:808::1",
])
def test_public_addresses_are_not_internal(address: str) -> None:
    assert not is_internal(address)


@pytest.fixture()
def https_calendar(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A calendar server over TLS on 127.0.0.1 (certificate for localhost and 127.0.0.1): its port
    and its certificate file."""
    certificate = loopback_certificate(tmp_path, now=machine_now())
    server = TlsHTTPServer(FeedHandler, certificate)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield str(server.server_address[1]), certificate.cert_file
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture()
def loopback_is_public(public_only: Callable[[], None], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Production's checks on, with this machine standing in for the internet (its loopback taken
    for public: the classification is tested above); returns every name resolved from then on."""
    public_only()
    monkeypatch.setattr(feed, "is_internal", lambda address: False)
    resolved: list[str] = []
    real = socket.getaddrinfo

    def resolving(host: Any, *args: Any, **kwargs: Any) -> Any:
        resolved.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolving)
    return resolved


def test_a_public_https_address_is_read_over_the_address_checked_with_its_certificate_verified(
    https_calendar: tuple[str, Path], loopback_is_public: list[str], trust_certificate: Callable[[Path], None],
    server: str
) -> None:
    port, cert_file = https_calendar
    trust_certificate(cert_file)
    window = working_window(date(2026, 10, 14), "Europe/London")

    busy = read(f"https://localhost:{port}/{SECRET}/cal/day.ics", window.start, window.end)

    # The name once, by the check; then the address checked, a literal: nothing was looked up again.
    assert loopback_is_public == ["localhost", "127.0.0.1"]
    assert busy and busy == read(f"{server}/cal/day.ics", window.start, window.end)  # the same file over http


def test_a_public_https_address_whose_certificate_is_not_trusted_is_refused(
    https_calendar: tuple[str, Path], loopback_is_public: list[str], trust_certificate: Callable[[Path], None],
    tmp_path: Path
) -> None:
    port, _ = https_calendar
    other = tmp_path / "other"
    other.mkdir()
    trust_certificate(loopback_certificate(other, now=machine_now()).cert_file)  # not the server's
    window = working_window(date(2026, 10, 14), "Europe/London")

    with pytest.raises(CalendarUnavailable, match="localhost did not present a valid certificate"):
        read(f"https://localhost:{port}/{SECRET}/cal/day.ics", window.start, window.end)
