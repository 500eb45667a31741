"""Fetching a private iCal address: the checks on the address, and one bounded read of it.

The address is a secret (anyone holding it reads the whole calendar): it is never logged and never
put in an error; errors name the host only (:func:`display_name`).

**Addresses** (:func:`validate_address`): an absolute ``http://`` or ``https://`` URL with a host.
``webcal://`` (and ``webcals://``) is accepted and read as ``https://``: webcal is not a transport
but the scheme calendar applications register so that a click means "subscribe"; the servers that
hand it out (iCloud, Google, Outlook) serve the same path over HTTPS, and HTTPS rather than plain
HTTP keeps the secret address encrypted on the wire. Refused: other schemes, a missing host, a user
name or password in the address, spaces and control characters, more than 2048 characters.

**Fetching** (:func:`fetch`): one GET, answered within ``timeout`` seconds in all (connecting,
headers and body share one deadline, so a server that trickles bytes cannot stretch the read; name
resolution is the one step the operating system bounds itself). At most :data:`MAX_REDIRECTS`
redirects, to http(s) only, never from https down to http. The body is capped at :data:`MAX_BYTES`
(5 MB): a longer body, announced or not, is refused. The answer decides what happens next:

* 404 or 410: :class:`CalendarExpired`, the address was reset or removed (PRODUCT.md: reconnect);
* 401 or 403: :class:`CalendarExpired`, the address is no longer shared or needs a sign-in;
* 429, 5xx, any other status, a timeout, a refused or reset connection, a TLS failure:
  :class:`CalendarUnavailable` (temporary; the service retries, then falls back to ``default``);
* a body that is not an iCal calendar (an HTML sign-in page, an empty body, anything that does not
  begin with ``BEGIN:VCALENDAR``, or that icalendar cannot parse): :class:`CalendarUnavailable`
  with the reason.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from http.client import HTTPConnection, HTTPException, HTTPResponse, HTTPSConnection
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from core.calendars.providers import CalendarExpired, CalendarUnavailable
from core.errors import ValidationError
from core.outbound import client_context

#: The largest feed read, in bytes. A personal calendar with years of history is well under 1 MB.
MAX_BYTES = 5 * 1024 * 1024
#: Redirects followed (iCloud moves a calendar between its pNN-caldav hosts with one).
MAX_REDIRECTS = 5
#: The longest address accepted.
MAX_ADDRESS_LENGTH = 2048

ACCEPTED = ("an http:// or https:// address (webcal:// is read as https://), like "
            "https://calendar.google.com/calendar/ical/…/basic.ics")

_SCHEMES = {"http": "http", "https": "https", "webcal": "https", "webcals": "https"}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
_HEADERS = {"User-Agent": "NextBestMove calendar reader", "Accept": "text/calendar, */*;q=0.5",
            "Accept-Encoding": "identity"}


def validate_address(url: str) -> str:
    """``url`` as the address to store: http(s), with a host; ``webcal://`` becomes ``https://``.

    Raises ValidationError saying what is accepted; the message never repeats the address.
    """
    text = url.strip()
    if not text:
        raise ValidationError(f"the iCal address is empty; give {ACCEPTED}")
    if len(text) > MAX_ADDRESS_LENGTH:
        raise ValidationError(f"that iCal address is longer than {MAX_ADDRESS_LENGTH} characters; give {ACCEPTED}")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise ValidationError(f"that iCal address contains spaces or control characters; give {ACCEPTED}")
    try:
        parts = urlsplit(text)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ValidationError(f"that iCal address is not a valid web address; give {ACCEPTED}") from None
    scheme = _SCHEMES.get(parts.scheme.lower())
    if scheme is None or not parts.netloc:
        shown = parts.scheme if parts.scheme.isalnum() and len(parts.scheme) <= 10 and parts.netloc else ""
        refused = f"{shown}:// addresses are not accepted" if shown else "that is not a web address"
        raise ValidationError(f"{refused}; give {ACCEPTED}")
    if not host:
        raise ValidationError(f"that iCal address has no host name; give {ACCEPTED}")
    if parts.username is not None or parts.password is not None:
        raise ValidationError(f"an iCal address with a user name or password in it is not accepted; give {ACCEPTED}")
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError(f"that iCal address has an invalid host name; give {ACCEPTED}") from None
    netloc = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
    if port is not None:
        netloc += f":{port}"
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    query = quote(parts.query, safe="/?%:@!$&'()*+,;=-._~")
    return urlunsplit((scheme, netloc, path, query, ""))


def display_name(url: str) -> str:
    """The host of ``url`` ("calendar.google.com"): all of the address that may be shown or logged."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        host = None
    return host or "the iCal address"


def fetch(url: str, *, timeout: float, max_bytes: int = MAX_BYTES, max_redirects: int = MAX_REDIRECTS) -> bytes:
    """The body of ``url`` (validated), within ``timeout`` seconds and ``max_bytes``; see the module rules."""
    deadline = time.monotonic() + timeout
    for _ in range(max_redirects + 1):
        status, location, body = _get(url, deadline=deadline, timeout=timeout, max_bytes=max_bytes)
        host = display_name(url)
        if status in _REDIRECTS:
            url = _redirect_target(url, location)
            continue
        if 200 <= status < 300:
            return body
        if status in (404, 410):
            raise CalendarExpired(f"{host} answered {status}: the address was reset or removed; "
                                  "copy the new private address from your calendar's settings")
        if status in (401, 403):
            raise CalendarExpired(f"{host} answered {status}: the address is no longer shared or needs a sign-in; "
                                  "copy the private address again from your calendar's settings")
        if status == 429:
            raise CalendarUnavailable(f"{host} answered 429: too many requests for now")
        if status >= 500:
            raise CalendarUnavailable(f"{host} answered {status}: a temporary server error")
        raise CalendarUnavailable(f"{host} answered HTTP {status}")
    raise CalendarUnavailable(f"{display_name(url)} redirected more than {max_redirects} times")


def _get(url: str, *, deadline: float, timeout: float, max_bytes: int) -> tuple[int, str | None, bytes]:
    """One GET of ``url``: (status, Location, body); the body is read only for a 2xx answer."""
    parts = urlsplit(url)
    host = display_name(url)
    target = urlunsplit(("", "", parts.path or "/", parts.query, ""))

    def remaining() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left

    connection: HTTPConnection
    try:
        if parts.scheme == "https":
            connection = HTTPSConnection(parts.hostname or "", parts.port, timeout=remaining(),
                                         context=client_context())
        else:
            connection = HTTPConnection(parts.hostname or "", parts.port, timeout=remaining())
        try:
            connection.request("GET", target, headers=_HEADERS)
            sock = connection.sock  # kept: http.client drops it when the answer closes the connection
            sock.settimeout(remaining())
            response = connection.getresponse()
            if response.status in _REDIRECTS:
                return response.status, response.getheader("Location"), b""
            if not 200 <= response.status < 300:
                return response.status, None, b""
            return response.status, None, _read_body(response, sock, host=host, remaining=remaining,
                                                     max_bytes=max_bytes)
        finally:
            connection.close()
    except TimeoutError:
        raise CalendarUnavailable(f"{host} did not answer within {timeout:g} seconds") from None
    except ssl.SSLCertVerificationError:
        raise CalendarUnavailable(f"{host} did not present a valid certificate") from None
    except socket.gaierror:
        raise CalendarUnavailable(f"{host} could not be found (DNS)") from None
    except (OSError, HTTPException, UnicodeError, ValueError) as error:
        raise CalendarUnavailable(f"could not read from {host} ({type(error).__name__})") from None


def _read_body(response: HTTPResponse, sock: socket.socket, *, host: str, remaining: Callable[[], float],
               max_bytes: int) -> bytes:
    size_cap = f"{max_bytes / (1024 * 1024):g} MB" if max_bytes >= 1024 * 1024 else f"{max_bytes} bytes"
    too_big = CalendarUnavailable(f"{host} answered with more than {size_cap}, more than a calendar is allowed")
    length = response.getheader("Content-Length", "")
    if length.strip().isdigit() and int(length) > max_bytes:
        raise too_big
    encoding = response.getheader("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise CalendarUnavailable(f"{host} answered with a {encoding}-compressed body although none was asked for")
    chunks: list[bytes] = []
    size = 0
    while True:
        sock.settimeout(remaining())
        chunk = response.read1(min(_CHUNK, max_bytes + 1 - size))
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise too_big
        chunks.append(chunk)


def _redirect_target(url: str, location: str | None) -> str:
    host = display_name(url)
    if not location:
        raise CalendarUnavailable(f"{host} answered with a redirect that has no address")
    try:
        target = validate_address(urljoin(url, location.strip()))
    except ValidationError:
        raise CalendarUnavailable(f"{host} redirected to an address that is not http(s)") from None
    if urlsplit(url).scheme == "https" and urlsplit(target).scheme != "https":
        raise CalendarUnavailable(f"{host} redirected from https to plain http; the address would travel unencrypted")
    return target
