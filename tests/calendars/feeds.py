"""A calendar server on 127.0.0.1 for the tests: real iCal files from ``data/`` and the failures a
calendar server can answer with. tests/conftest.py registers its fixtures for the whole suite."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from core.calendars.feed import MAX_BYTES

DATA = Path(__file__).parent / "data"
#: A piece of every served address that stands for the secret: it must never appear in an error or a log.
SECRET = "private-5e3c7e7a9b1d4f20"
#: Feeds a test writes and changes while the server runs, served at ``/live/<name>``.
LIVE: dict[str, bytes] = {}
#: The path of every request the server was sent, in order (a test that must send none looks here).
REQUESTED: list[str] = []


class FeedHandler(BaseHTTPRequestHandler):
    """Serves data/*.ics and the failures a calendar server can answer with; see ``do_GET``."""

    protocol_version = "HTTP/1.0"  # the connection closes after each answer: a body without a length ends there

    def log_message(self, format: str, *args: object) -> None:  # keep pytest's output clean
        pass

    def do_GET(self) -> None:
        REQUESTED.append(self.path)
        path = urlsplit(self.path).path.removeprefix(f"/{SECRET}")
        name = path.rsplit("/", 1)[-1]
        if path.startswith("/cal/"):
            self._send(200, (DATA / name).read_bytes())
        elif path.startswith("/live/"):
            body = LIVE.get(name)
            if body is None:
                self._send(503, b"down for a moment", "text/plain")
            else:
                self._send(200, body)
        elif path.endswith("/basic.ics"):  # Google's private address form
            self._send(200, (DATA / "declined.ics").read_bytes())
        elif path.startswith("/status/"):
            self._send(int(name), b"<html><body>nope</body></html>", "text/html")
        elif path.startswith("/redirect/"):
            self._redirect(f"/{SECRET}/cal/{name}")
        elif path == "/redirect-ftp":
            self._redirect("ftp://127.0.0.1/cal/day.ics")
        elif path == "/redirect-loop":
            self._redirect(f"/{SECRET}/redirect-loop")
        elif path == "/away":  # to another server: the address in ?to=
            self._redirect(parse_qs(urlsplit(self.path).query)["to"][0])
        elif path == "/big":  # announced as one byte over the 5 MB cap
            self._send(200, b"BEGIN:VCALENDAR\r\n" + b"X" * (MAX_BYTES + 1 - 17))
        elif path == "/big-unannounced":  # no Content-Length: only reading finds out
            self._send(200, b"BEGIN:VCALENDAR\r\n" + b"X-FILLER:" + b"x" * 3000 + b"\r\n", length=False)
        elif path == "/html":
            self._send(200, b"<!DOCTYPE html><html><head><title>Sign in</title></head></html>", "text/html")
        elif path == "/text":
            self._send(200, b"Calendar not found.\n", "text/plain")
        elif path == "/empty":
            self._send(200, b"")
        elif path == "/broken":
            self._send(200, b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nthis is not a content line\r\nEND:VCALENDAR\r\n")
        elif path == "/gzip":
            self._send(200, b"\x1f\x8b\x08\x00", headers={"Content-Encoding": "gzip"})
        elif path == "/drip":
            self._drip()
        else:  # pragma: no cover - a test asked for a route that does not exist
            self._send(599, b"")

    def _send(self, status: int, body: bytes, content_type: str = "text/calendar; charset=utf-8", *,
              length: bool = True, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            if length:
                self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the reader gave up early, as it should
            pass

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _drip(self) -> None:
        """A server that answers at once, then sends the body one byte every 50 ms (for at most 3 s)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/calendar")
        self.end_headers()
        pause = threading.Event()
        try:
            for byte in b"BEGIN:VCALENDAR\r\n" * 4:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                pause.wait(0.05)
        except (BrokenPipeError, ConnectionResetError):
            pass


@contextmanager
def serving_feeds(handler: type[FeedHandler] = FeedHandler, host: str = "127.0.0.1") -> Iterator[str]:
    """The base URL of a calendar server on ``host`` answering with ``handler``, in a thread while the
    block runs."""
    httpd = ThreadingHTTPServer((host, 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{httpd.server_address[1]}/{SECRET}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The base URL of a calendar server on 127.0.0.1, in a thread for this module."""
    with serving_feeds() as base:
        yield base


@pytest.fixture()
def live_feed(server: str) -> Iterator[tuple[str, dict[str, bytes]]]:
    """A feed the test writes (``feeds["name"] = ics bytes``) at the address returned; a name not
    written answers 503."""
    LIVE.clear()
    try:
        yield f"{server}/live", LIVE
    finally:
        LIVE.clear()


@pytest.fixture()
def silent_server() -> Iterator[str]:
    """A socket that accepts connections and never answers a byte."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)  # so that the accepting thread notices the end of the test
    held: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        while not done.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/{SECRET}/basic.ics"
    finally:
        done.set()
        thread.join(5)
        listener.close()
        for connection in held:
            connection.close()
