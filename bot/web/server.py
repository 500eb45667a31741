"""Serving the web app under waitress: in this process, or in several forked from one listening socket.

The socket is opened here, before anything else, so an address already taken is one clear error
(:class:`AddressTaken`), whatever the number of processes.

One waitress process computes on one core at a time (Python's GIL), however many request threads
it has: a Slack press is CPU work (signature, Bolt, the change, ``chat.update``), so on a machine
with several cores one process leaves the rest idle. With ``WEB_CONCURRENCY`` above 1 this process
opens the socket, forks that many processes that each build the app and serve the same socket
with waitress (the kernel hands each connection to one of them), and supervises them:

* a process that exits while serving (a crash, the out-of-memory killer) is replaced at once, and
  the others go on serving meanwhile;
* one that exits by itself within :data:`START_SECONDS` of being started means something is wrong
  with the app or its settings, not with that process: the others are stopped and ``nbm web``
  exits 1, instead of forking a new process every moment (one killed by a signal is replaced);
* SIGTERM or SIGINT (Ctrl-C) to this process stops them all (SIGTERM each) and exits 0.

**Stopping drains.** Heroku sends SIGTERM on every deploy and restart, and SIGKILL 30 s later. On
SIGTERM (or Ctrl-C) a serving process stops accepting connections at once, closes its idle ones,
and keeps serving those with a request in progress (being received, computed or sent) until each
has its answer or :data:`DRAIN_SECONDS` have passed, then exits 0: a Slack press, a Stripe webhook
or an email confirmation already arrived gets its answer. The supervisor closes its copy of the
listening socket too, so that new connections are refused (and go to another dyno) rather than
left waiting in a queue nobody reads.

The app is built in each process after the fork, never before it: database connections, Redis
clients and Bolt's threads are each process's own.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import FrameType
from typing import Any

from core.text import plural

log = logging.getLogger("nbm.web")

#: A process that exits by itself sooner than this after its start failed to start (see the module docstring).
START_SECONDS = 5.0
#: Connections waiting to be accepted (waitress's own default backlog).
BACKLOG = 1024
#: How long a stopping process keeps serving the requests in progress: well within the 30 s Heroku
#: leaves between SIGTERM and SIGKILL, with time to spare for exiting.
DRAIN_SECONDS = 20.0
#: How often the serving loop wakes while draining, to close connections whose answer has gone.
_DRAIN_TICK_SECONDS = 0.05


class AddressTaken(Exception):
    """The address to listen on is in use (another ``nbm web``?) or not this machine's."""


def listen(host: str, port: int) -> socket.socket:
    """The socket ``nbm web`` serves on, bound and listening, or :class:`AddressTaken` saying why not."""
    try:
        return socket.create_server((host, port), backlog=BACKLOG)
    except OSError as exc:
        hint = (" (is another nbm web running there? --port, or PORT, chooses another)"
                if exc.errno == errno.EADDRINUSE else "")
        raise AddressTaken(f"cannot listen on {host}:{port}: {os.strerror(exc.errno or 0)}{hint}") from None


def serve_app(make_app: Callable[[], Any], listener: socket.socket, *, processes: int, **waitress: Any) -> int:
    """Serve ``make_app()`` on ``listener`` in ``processes`` processes (1: this one) until stopped;
    ``waitress`` holds the server's other settings. Returns the exit code."""

    def work() -> None:
        serve_until_stopped(make_app(), listener, **waitress)

    if processes == 1:
        work()
        return 0
    return _Supervisor(work, processes, listener).run()


def serve_until_stopped(app: Any, listener: socket.socket, **waitress: Any) -> None:
    """Serve ``app`` with waitress on ``listener`` until SIGTERM or SIGINT, then drain (module docstring).

    Waitress's own ``serve`` has no graceful stop: a signal either kills the process or stops its
    loop, and with the loop goes the sending of every answer still in hand. So this process runs
    waitress's loop itself, over a socket map of its own."""
    from waitress import wasyncore
    from waitress.server import BaseWSGIServer, create_server

    connections: dict[int, Any] = {}
    server = create_server(app, map=connections, sockets=[listener], **waitress)
    assert isinstance(server, BaseWSGIServer)  # one socket, one server (several would get a MultiSocketServer)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()  # seen when the loop next wakes: at once if busy, else within its timeout (1 s)

    previous = {signum: signal.signal(signum, request_stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.print_listen("Serving on http://{}:{}")
        while not stop.is_set():
            wasyncore.loop(timeout=server.adj.asyncore_loop_timeout, map=connections,
                           use_poll=server.adj.asyncore_use_poll, count=1)
        server.del_channel()  # accept nothing more: the listening socket leaves the loop...
        listener.close()  # ...and this process's copy of it is closed
        deadline = time.monotonic() + DRAIN_SECONDS
        while _close_idle(connections) and time.monotonic() < deadline:
            wasyncore.loop(timeout=_DRAIN_TICK_SECONDS, map=connections, use_poll=server.adj.asyncore_use_poll,
                           count=1)
        left = _close_idle(connections)
        if left:
            log.warning("stopping with %s still unanswered after %.0f s", plural(left, "request"), DRAIN_SECONDS)
        server.task_dispatcher.shutdown(timeout=1)  # idle request threads end at once
        wasyncore.close_all(connections)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _close_idle(connections: dict[int, Any]) -> int:
    """Mark for closing every connection with nothing in progress (no request being received,
    waiting, computed, or an answer being sent), as waitress's own idle-connection maintenance does;
    the number of connections still busy."""
    from waitress.channel import HTTPChannel

    busy = 0
    for channel in list(connections.values()):
        if not isinstance(channel, HTTPChannel) or channel.will_close:
            continue
        if channel.requests or channel.request is not None or channel.total_outbufs_len:
            busy += 1
        else:
            channel.will_close = True  # waitress closes it on the loop's next turn
    return busy


class _Supervisor:
    """Forks ``count`` processes running ``work`` and keeps that many running until told to stop."""

    def __init__(self, work: Callable[[], None], count: int, listener: socket.socket) -> None:
        self.work = work
        self.count = count
        self.listener = listener
        self.started: dict[int, float] = {}  # pid -> monotonic time it was forked
        self.stopping = False

    def run(self) -> int:
        """Supervise until every process has exited; the exit code for ``nbm web``."""
        previous = {signum: signal.signal(signum, self._stop) for signum in (signal.SIGTERM, signal.SIGINT)}
        try:
            return self._supervise()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _supervise(self) -> int:
        for _ in range(self.count):
            self._fork()
        code = 0
        while self.started:
            pid, status = os.wait()
            began = self.started.pop(pid, None)
            if began is None or self.stopping:
                continue
            how = _how_it_ended(status)
            if os.WIFEXITED(status) and time.monotonic() - began < START_SECONDS:
                log.error("a web process (pid %d) %s right after it started: stopping nbm web", pid, how)
                self._stop()
                code = 1
            else:
                log.error("a web process (pid %d) %s; starting another", pid, how)
                self._fork()
        return code

    def _fork(self) -> None:
        pid = os.fork()
        if pid:
            self.started[pid] = time.monotonic()
            if self.stopping:  # told to stop between the fork and the line above: it missed the SIGTERM
                os.kill(pid, signal.SIGTERM)
            return
        # The child: the supervisor's handlers are not its own. Ctrl-C reaches the whole process
        # group; the supervisor answers it, with a SIGTERM to each process. Once serving, the child
        # drains on either signal (serve_until_stopped).
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        code = 0
        try:
            self.work()
        except BaseException:  # whatever ends a process is reported before it exits
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)  # never return into the supervisor's code

    def _stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        self.stopping = True
        self.listener.close()  # once the processes close theirs too, new connections are refused
        for pid in list(self.started):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass  # it has exited already; os.wait() collects it


def _how_it_ended(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with code {os.waitstatus_to_exitcode(status)}"
