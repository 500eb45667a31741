"""Fetching a private iCal address: the checks on the address, and one bounded read of it.

The address is a secret (anyone holding it reads the whole calendar): it is never logged and never
put in an error; errors name the host only (:func:`display_name`).

**Addresses** (:func:`validate_address`): an absolute ``http://`` or ``https://`` URL with a host.
``webcal://`` (and ``webcals://``) is accepted and read as ``https://``: webcal is not a transport
but the scheme calendar applications register so that a click means "subscribe"; the servers that
hand it out (iCloud, Google, Outlook) serve the same path over HTTPS, and HTTPS rather than plain
HTTP keeps the secret address encrypted on the wire. Refused: other schemes, a missing host, a user
name or password in the address, spaces and control characters, more than 2048 characters.

**Where it may lead** (:func:`_connected`): an address is typed by a user, and the server reads it,
so without a check anyone who can connect a calendar could make the server read what only it can
reach (a cloud's metadata service at 169.254.169.254, Redis on 127.0.0.1, the office network) and
learn from the answers what is there. So the host's addresses are resolved first and all must be on
the public internet: none loopback, private, link-local, shared (100.64.0.0/10), reserved or
multicast, nor an IPv6 address that leads to such an IPv4 one (:func:`is_internal`). The
connection then goes to an address that was checked, never through a second lookup whose answer
could differ, and every redirect is checked the same way. A self-hoster whose calendar server is on
their own network sets ``ICAL_ALLOW_PRIVATE_NETWORK``.

**Fetching** (:func:`fetch`): one GET, answered within ``timeout`` seconds in all (connecting,
headers and body share one deadline, so a server that trickles bytes cannot stretch the read; name
resolution is the one step the operating system bounds itself). At most :data:`MAX_REDIRECTS`
redirects, to http(s) only, never from https down to http. The body is capped at :data:`MAX_BYTES`
(5 MB): a longer body, announced or not, is refused. The answer decides what happens next:

* 404 or 410: :class:`CalendarExpired`, the address was reset or removed (PRODUCT.md: reconnect);
* 401 or 403: :class:`CalendarExpired`, the address is no longer shared or needs a sign-in;
* 429, 5xx, any other status, a timeout, a refused or reset connection, a TLS failure, a host on an
  internal network: :class:`CalendarUnavailable` (temporary; the service retries, then falls back
  to ``default``; a host's address can change back);
* a body that is not an iCal calendar (an HTML sign-in page, an empty body, anything that does not
  begin with ``BEGIN:VCALENDAR``, or that icalendar cannot parse): :class:`CalendarUnavailable`
  with the reason.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from http.client import HTTPConnection, HTTPException, HTTPResponse, HTTPSConnection
from urllib.parse import SplitResult, quote, urljoin, urlsplit, urlunsplit

from core.calendars.providers import CalendarExpired, CalendarUnavailable
from core.config import get_settings
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

    try:
        connection = _connected(parts, timeout=remaining())
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


def _connected(parts: SplitResult, *, timeout: float) -> HTTPConnection:
    """A connection to the host of ``parts``, opened on an address checked to be public (module
    docstring), or left for http.client to open when ``ICAL_ALLOW_PRIVATE_NETWORK`` is set.

    http.client uses a socket it is given as it would its own, so the Host header and, for https, the
    certificate are still checked against the host name."""
    host, https = parts.hostname or "", parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    connection = (HTTPSConnection(host, port, timeout=timeout, context=client_context()) if https
                  else HTTPConnection(host, port, timeout=timeout))
    if get_settings().ical_allow_private_network:
        return connection
    sock = _public_socket(host, port, timeout=timeout)
    try:
        connection.sock = client_context().wrap_socket(sock, server_hostname=host) if https else sock
    except BaseException:
        sock.close()
        raise
    return connection


def _public_socket(host: str, port: int, *, timeout: float) -> socket.socket:
    """A TCP connection to one of ``host``'s addresses, in the resolver's order, once all of them
    are found public; CalendarUnavailable when one is not (a host answering with both is refused)."""
    found = [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
    if any(is_internal(address) for address in found):
        raise CalendarUnavailable(f"{host} is on an internal network, not the public internet, and this server "
                                  "refuses such addresses (its operator can allow them with "
                                  "ICAL_ALLOW_PRIVATE_NETWORK=true)")
    for address in found[:-1]:  # the next address when one cannot be reached, as http.client would
        try:
            return socket.create_connection((address, port), timeout=timeout)
        except OSError:
            continue
    return socket.create_connection((found[-1], port), timeout=timeout)


#: NAT64's well-known prefix (RFC 6052): a gateway on the server's network turns 64:ff9b::a.b.c.d
#: into a connection to the IPv4 address a.b.c.d, whichever network that is on.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
#: NAT64's local-use prefix (RFC 8215): a network's own translation, never public.
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")


def is_internal(address: str) -> bool:
    """Whether the IP ``address`` is off the public internet: loopback, private, link-local, shared,
    reserved, unspecified or multicast.

    An IPv6 address that carries an IPv4 one to connect to (IPv4-mapped, NAT64, 6to4) is judged by
    that IPv4 address, because that is where the connection ends up: through a NAT64 gateway,
    64:ff9b::a9fe:a9fe is the cloud's metadata service at 169.254.169.254."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 scope ("fe80::1%eth0") is not part of it
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL:
            return True
        carried = ip.ipv4_mapped or ip.sixtofour
        if ip in _NAT64:
            carried = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if carried is not None:
            ip = carried
    return not ip.is_global or ip.is_multicast


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
