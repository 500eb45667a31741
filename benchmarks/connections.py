"""What one call to another service costs the caller: each library as it comes, beside ours.

Slack, Google and Microsoft are reached over TLS. A client left to itself opens a connection for
each call (a TCP and a TLS handshake) and reads its certificate store into a new TLS context for it
(about 16 ms of CPU with OpenSSL 3, several times a whole button press). Ours
(:mod:`core.outbound`) keeps connections open and verifies with one context per process.

Each row makes ``--calls`` calls one after the other to a loopback server that speaks TLS with a
certificate of the run's own, which the clients trust through the system's store with it added
(``SSL_CERT_FILE``, ``REQUESTS_CA_BUNDLE``, httplib2's ``ca_certs``), so that reading the store
costs what it costs in production:

* **Slack Web API** (``chat.update``): slack_sdk's ``WebClient`` as it comes / ``web_client``.
* **requests** (Google's token refresh, Microsoft Graph and msal): a ``requests.Session`` per call,
  as the providers made one per read / ``core.outbound.http_session()`` per call.
* **googleapiclient** (Google's reads): an ``httplib2.Http`` per call / ``Httplib2Over``.

**CPU per call** is the calling thread's (``time.thread_time``): the server's share is not the
client's. **New connections** are those the server accepted during the measured calls, each client
having made one call before (ours opens its connection, and makes its context, there). Run:
``nbm bench connections [--calls 200]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.harness import verdict
from bot.chaos.loopback_tls import JsonService, loopback_certificate

BLOCKS = [{"type": "section", "block_id": f"b{n}", "text": {"type": "mrkdwn", "text": "*Bea Stone* follow up"}}
          for n in range(12)]


def measure(service: JsonService, call: Callable[[], Any], calls: int) -> tuple[float, float, int]:
    """CPU and wall milliseconds per call, and the connections opened, over ``calls`` calls."""
    call()  # anything made once (ours: the context and the pool) is made before the measuring
    opened = service.connections
    cpu, wall = time.thread_time(), time.perf_counter()
    for _ in range(calls):
        call()
    return ((time.thread_time() - cpu) * 1000 / calls, (time.perf_counter() - wall) * 1000 / calls,
            service.connections - opened)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nbm bench connections", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per client (default: 200)")
    args = parser.parse_args(argv)
    if args.calls < 1:
        parser.error("--calls takes a whole number of 1 or more")
    folder = Path(tempfile.mkdtemp(prefix="nbm-bench-connections-"))
    try:
        certificate = loopback_certificate(folder, now=datetime.now(UTC))
        bundle = str(certificate.bundle(folder / "bundle.pem"))
        os.environ["SSL_CERT_FILE"] = os.environ["REQUESTS_CA_BUNDLE"] = bundle
        service = JsonService(certificate, {"ok": True, "channel": "D1", "ts": "1.1"})
        try:
            return report(service, bundle, args.calls)
        finally:
            service.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def report(service: JsonService, bundle: str, calls: int) -> int:
    import httplib2  # type: ignore[import-untyped]
    import requests
    from slack_sdk import WebClient

    from bot.slack.client import web_client
    from core.config import load_settings
    from core.outbound import Httplib2Over, http_session

    api = f"{service.url}/api/"
    slack_as_it_comes = WebClient(token="xoxb-bench", base_url=api)
    slack_ours = web_client(load_settings({"SLACK_API_URL": api}), token="xoxb-bench")

    def request_with(session: Callable[[], requests.Session]) -> Callable[[], Any]:
        def call() -> Any:
            with session() as http:
                return http.post(f"{service.url}/token", data={"grant_type": "refresh_token"}, timeout=10).json()
        return call

    rows = {
        "Slack Web API (chat.update)": (
            lambda: slack_as_it_comes.chat_update(channel="D1", ts="1.1", text="Plan", blocks=BLOCKS),
            lambda: slack_ours.chat_update(channel="D1", ts="1.1", text="Plan", blocks=BLOCKS)),
        "requests (token refresh, Graph, msal)": (request_with(requests.Session), request_with(http_session)),
        "googleapiclient (Google reads)": (
            lambda: httplib2.Http(timeout=10, ca_certs=bundle).request(f"{service.url}/freeBusy", "POST", "{}"),
            lambda: Httplib2Over(10).request(f"{service.url}/freeBusy", "POST", "{}")),
    }
    print(f"{calls} calls per client, one after the other, to a loopback server over TLS\n")
    print(f"{'':38}  {'as it comes: CPU / wall per call':>34}  {'new connections':>15}  "
          f"{'ours: CPU / wall per call':>27}  {'new connections':>15}")
    lines = []
    for name, (as_it_comes, ours) in rows.items():
        theirs_cpu, theirs_wall, theirs_opened = measure(service, as_it_comes, calls)
        ours_cpu, ours_wall, ours_opened = measure(service, ours, calls)
        print(f"{name:38}  {f'{theirs_cpu:.2f} / {theirs_wall:.2f} ms':>34}  {theirs_opened:>15}  "
              f"{f'{ours_cpu:.2f} / {ours_wall:.2f} ms':>27}  {ours_opened:>15}")
        lines.append(verdict(ours_opened <= 1, f"{name}: ours opened {ours_opened} new connection(s) for {calls} "
                                               f"calls (target: the first call's is kept, at most 1)"))
        lines.append(verdict(ours_cpu <= theirs_cpu / 2,
                             f"{name}: ours {ours_cpu:.2f} ms of CPU a call, {theirs_cpu / ours_cpu:.1f}x less than "
                             f"as it comes (target: at most half)"))
    print("\n" + "\n".join(lines))
    return 0 if all(line.startswith("PASS") for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
