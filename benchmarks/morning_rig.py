"""The rig of ``benchmarks.morning``: the SMTP sink its emails go to, and its meters and checks."""

from __future__ import annotations

import multiprocessing
import os
import socket
import threading
import time
from collections.abc import Callable
from multiprocessing.sharedctypes import Synchronized
from typing import Any

from redis import Redis
from rq import Worker
from sqlalchemy import Engine, event

from core import config
from core.queue import QUEUE_NAMES, get_queue

# The SMTP sink ------------------------------------------------------------------------------------

class SmtpSink:
    """aiosmtpd on 127.0.0.1 in a process of its own, accepting every message; counts what it received."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")
        self.received: Synchronized = context.Value("q", 0)
        ready = context.Event()
        port = context.Value("i", 0)
        self._process = context.Process(target=self._serve, args=(self.received, port, ready), name="smtp-sink",
                                        daemon=True)
        self._process.start()
        if not ready.wait(30):
            raise SystemExit("the SMTP sink did not start")
        self.port = port.value

    @staticmethod
    def _serve(received: Synchronized, port: Any, ready: Any) -> None:
        from aiosmtpd.controller import Controller

        class Accept:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                with received.get_lock():
                    received.value += 1
                return "250 2.0.0 OK"

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port.value = probe.getsockname()[1]
        Controller(Accept(), hostname="127.0.0.1", port=port.value).start()
        ready.set()
        threading.Event().wait()

    def stop(self) -> None:
        self._process.kill()
        self._process.join(5)


def point_email_at(port: int) -> None:
    os.environ.update({"EMAIL_BACKEND": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
                       "SMTP_SECURITY": "none", "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING")})
    os.environ.pop("SMTP_USERNAME", None)
    config.get_settings.cache_clear()


# Meters and checks --------------------------------------------------------------------------------

def count_statements_of_children(engine: Engine) -> Synchronized:
    """A counter of the statements every process forked from here sends (not this process's own)."""
    counter: Synchronized = multiprocessing.get_context("fork").Value("q", 0)
    parent = os.getpid()

    def seen(*_: Any) -> None:
        if os.getpid() != parent:
            with counter.get_lock():
                counter.value += 1

    event.listen(Engine, "before_cursor_execute", seen)

    def own_seen(*_: Any) -> None:
        if os.getpid() == parent:
            OWN_STATEMENTS[0] += 1

    event.listen(engine, "before_cursor_execute", own_seen)
    return counter


#: Statements this process sent (the tick's are counted here).
OWN_STATEMENTS = [0]


def own_statements(engine: Engine) -> int:
    return OWN_STATEMENTS[0]


def status_bytes(pid: int, field: str) -> int:
    """A memory figure of a process from /proc (``VmHWM``: its peak resident memory; ``VmRSS``: now), in
    bytes; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def refuse_a_busy_queue(redis: Redis) -> None:
    """Other workers or waiting jobs on this Redis would take part in (and skew) the measurement."""
    if Worker.count(connection=redis):
        raise SystemExit(f"{Worker.count(connection=redis)} RQ worker(s) already listen on this Redis: stop them, "
                         "or point REDIS_URL at a database of the benchmark's own")
    waiting = sum(get_queue(name).count for name in QUEUE_NAMES)
    if waiting:
        raise SystemExit(f"{waiting} job(s) wait in the queue on this Redis: point REDIS_URL at a database of the "
                         "benchmark's own")


def wait_for(condition: Callable[[], bool], *, what: str, limit: float) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what} after {limit:.0f} s")
        time.sleep(0.2)
