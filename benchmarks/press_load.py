"""The load generator of ``benchmarks.press``, in a second process: presses signed with Slack's v0
signature, sent over keep-alive connections on loopback in a closed loop (each connection sends its
next press as soon as the last one is answered).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from benchmarks.press_rig import ROOT, SIGNING_SECRET, FakeSlack, Server


def generate(spec_path: str, out_path: str) -> int:
    """Send the presses of ``spec_path`` (warm-up, then measured) over keep-alive connections."""
    spec = json.loads(Path(spec_path).read_text())
    timestamp = str(int(time.time()))

    def signed(body: str) -> bytes:
        form = urlencode({"payload": body.replace("{fake}", spec["fake"])})
        signature = "v0=" + hmac.new(SIGNING_SECRET.encode(), f"v0:{timestamp}:{form}".encode(),
                                     hashlib.sha256).hexdigest()
        return (f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1:{spec['port']}\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(form.encode())}\r\n"
                f"X-Slack-Request-Timestamp: {timestamp}\r\nX-Slack-Signature: {signature}\r\n"
                "User-Agent: Slackbot 1.0 (+https://api.slack.com/robots)\r\n\r\n").encode() + form.encode()

    warmup = [signed(body) for body in spec["warmup"]]
    measured = [signed(body) for body in spec["measured"]]

    async def send_all(requests: list[bytes]) -> list[tuple[float, float, int]]:
        results: list[tuple[float, float, int]] = [(0.0, 0.0, 0)] * len(requests)
        pending = iter(range(len(requests)))

        async def connection() -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", spec["port"])
            try:
                for n in pending:
                    sent = time.monotonic()
                    writer.write(requests[n])
                    await writer.drain()
                    head = await reader.readuntil(b"\r\n\r\n")
                    status = int(head.split(b" ", 2)[1])
                    length = re.search(rb"(?i)content-length:\s*(\d+)", head)
                    await reader.readexactly(int(length.group(1)) if length else 0)
                    results[n] = (sent, time.monotonic(), status)
                    if re.search(rb"(?i)connection:\s*close", head):
                        writer.close()
                        reader, writer = await asyncio.open_connection("127.0.0.1", spec["port"])
            finally:
                writer.close()

        await asyncio.gather(*(connection() for _ in range(spec["connections"])))
        return results

    asyncio.run(send_all(warmup))
    time.sleep(spec["pause"])
    if spec["align"]:  # start just after a whole second of the wall clock
        time.sleep(1.02 - time.time() % 1)
    results = asyncio.run(send_all(measured))
    Path(out_path).write_text(json.dumps(results))
    return 0


def load(server: Server, fake: FakeSlack, *, warmup: list[str], measured: list[str], connections: int,
         pause: float, align: bool = False) -> list[tuple[float, float, int]]:
    with tempfile.TemporaryDirectory() as folder:
        spec, out = Path(folder) / "spec.json", Path(folder) / "out.json"
        spec.write_text(json.dumps({"port": server.port, "fake": fake.url, "connections": connections,
                                    "warmup": warmup, "measured": measured, "pause": pause, "align": align}))
        subprocess.run([sys.executable, "-m", "benchmarks.press", "_load", str(spec), str(out)], check=True, cwd=ROOT)
        return [(float(sent), float(done), int(status)) for sent, done, status in json.loads(out.read_text())]
