"""The fast clock: the real scheduler, ticked at simulated instants, as fast as the workers keep up.

Each tick is ``core.jobs.tick.tick(at=...)``, the very function ``nbm cron`` calls every minute,
run in this process at the next simulated instant (``step`` simulated minutes later). The jobs it
enqueues carry that instant and the period they are for, so the workers, on real time, build and
send exactly what they would have on the day.

How fast it goes is what decides how much of one tick's work is still in flight at the next. In
production a minute passes between two ticks, and the work of a minute is usually done within it;
a big morning, a slow mail server or a lost worker is when it is not. So before each tick the clock
waits, polling the queue: while more than ``backlog`` jobs wait (without that, days would go by in a
backlog), and then up to ``patience`` real seconds for the previous tick's work to be done
(``idle``). A quiet tick is done in well under that, and the next one finds nothing in flight, as in
production; a heavy one (the catch-up of the first tick, a morning of many users, a fault) is still
running when the next tick comes, as a big morning is at the next minute.

A tick that fails (PostgreSQL cut, Redis down) is recorded and the clock goes on with the next one,
as ``nbm cron`` does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from rq import Queue

from core.jobs.tick import tick

log = logging.getLogger("nbm.chaos.clock")

#: Longest the clock waits for the backlog to go down before ticking anyway (real seconds).
BACKLOG_PATIENCE = 30.0
#: Real seconds between two looks at the queue.
POLL = 0.05


@dataclass(frozen=True)
class TickRecord:
    sim: datetime
    real: float  # time.monotonic() when the tick started
    due: int | None  # deliveries the tick found due; None when it failed
    error: str | None = None


class FastClock:
    def __init__(self, *, start: datetime, end: datetime, step: timedelta, backlog: int, patience: float,
                 queue: Callable[[], Queue], idle: Callable[[], bool]) -> None:
        self.start, self.end, self.step, self.backlog, self.patience = start, end, step, backlog, patience
        self._queue, self._idle = queue, idle
        self.ticks: list[TickRecord] = []
        #: Real seconds spent ticking, and waiting for the backlog and for the previous tick's work.
        self.ticking = self.waiting_backlog = self.waiting_idle = 0.0

    def tick(self, at: datetime) -> TickRecord:
        started = time.monotonic()
        try:
            report = tick(at=at, queue=self._queue())
            record = TickRecord(at, started, report.due)
        except Exception as error:  # as nbm cron: logged, and the next tick runs as usual
            record = TickRecord(at, started, None, f"{type(error).__name__}: {str(error).splitlines()[0][:200]}")
            log.debug("the tick at %s failed: %s", at.isoformat(), record.error)
        self.ticks.append(record)
        self.ticking += time.monotonic() - started
        return record

    def _wait(self, ready: Callable[[], bool], seconds: float) -> float:
        """Poll ``ready`` for up to ``seconds``; how long that took."""
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            try:
                if ready():
                    break
            except Exception:  # Redis is down: nothing to wait for, the tick will fail and say so
                break
            time.sleep(POLL)
        return time.monotonic() - started

    def wait_for_workers(self) -> None:
        """Wait for the backlog to be at most ``backlog`` jobs, then up to ``patience`` for ``idle``."""
        self.waiting_backlog += self._wait(lambda: self._queue().count <= self.backlog, BACKLOG_PATIENCE)
        if self.patience > 0:
            self.waiting_idle += self._wait(self._idle, self.patience)

    def run(self, between: Callable[[datetime], None]) -> None:
        """Tick from ``start`` to ``end``; ``between(sim)`` runs after each tick (the faults' turn)."""
        at = self.start
        while at <= self.end:
            self.wait_for_workers()
            self.tick(at)
            between(at)
            at += self.step

    @property
    def failed(self) -> list[TickRecord]:
        return [t for t in self.ticks if t.due is None]
