"""TLS for loopback fakes: a certificate for 127.0.0.1, an HTTP server that speaks TLS with it, and
a JSON service on that server.

The services the fakes stand for (Slack's Web API, an SMTP relay, Redis) are reached over TLS in
production, and what a client pays for it is part of what a call costs: the handshake, and reading
its certificate store into a context, which a client that makes a context per connection pays on
every call. A fake on plain HTTP hides both. The certificate is its own authority; a process trusts
it through ``SSL_CERT_FILE``, best pointed at :meth:`LoopbackCertificate.bundle` (the system's store
with it added) so that loading the store costs what it costs in production.
"""

from __future__ import annotations

import ipaddress
import json
import ssl
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LoopbackCertificate:
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def bundle(self, path: Path) -> Path:
        """The system's certificate store with this certificate added, written to ``path``."""
        system = Path(ssl.get_default_verify_paths().cafile or "")
        path.write_bytes((system.read_bytes() if system.is_file() else b"") + self.cert_file.read_bytes())
        return path


def loopback_certificate(folder: Path, *, now: datetime) -> LoopbackCertificate:
    """A self-signed certificate for 127.0.0.1 and localhost, valid around ``now`` (OpenSSL checks it
    against the machine's clock, so pass that one, not a pinned one), written to ``folder``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "loopback.crt", folder / "loopback.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return LoopbackCertificate(cert_file, key_file)


class TlsHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server on 127.0.0.1 that speaks TLS with ``certificate``: each connection's
    handshake happens in that connection's own thread, so a slow client holds up no other."""

    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler], certificate: LoopbackCertificate) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.socket = certificate.server_context().wrap_socket(self.socket, server_side=True,
                                                               do_handshake_on_connect=False)

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError):
            return  # a client that does not trust the certificate hangs up: its own error says why
        super().finish_request(request, client_address)


class JsonService:
    """A service over TLS on 127.0.0.1 (a token endpoint, an API) that answers every POST with
    ``answer`` as JSON and ``status``, and notes each request's body and every connection opened to
    it. ``close`` stops it."""

    def __init__(self, certificate: LoopbackCertificate, answer: dict[str, Any], status: int = 200) -> None:
        self.answer, self.status = answer, status
        self.posts: list[bytes] = []
        self.connections = 0
        lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # connections stay open between calls, as real services' do
            disable_nagle_algorithm = True  # each answer leaves at once

            def log_message(self, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with lock:
                    service.connections += 1

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    service.posts.append(body)
                payload = json.dumps(service.answer).encode()
                self.send_response(service.status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = TlsHTTPServer(Handler, certificate)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
