"""What a chaos run prints: the counts, the faults, and each duplicate, miss or press gone wrong."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bot.chaos.accounting import Outcomes, PressOutcomes
from bot.chaos.options import ChaosOptions
from core.text import plural


@dataclass
class RunReport:
    options: ChaosOptions
    start: datetime
    end: datetime
    timings: dict[str, float] = field(default_factory=dict)
    deliveries: Outcomes = field(default_factory=Outcomes)
    presses: PressOutcomes = field(default_factory=PressOutcomes)
    faults: str = ""
    sink_faults: str = ""
    ticks: int = 0
    failed_ticks: int = 0
    clock_split: str = ""
    unexpected_exits: list[str] = field(default_factory=list)
    scheduler_gaps: int = 0
    scheduler_moved: int = 0
    drained: bool = False
    run_dir: Path | None = None

    @property
    def ok(self) -> bool:
        d, p = self.deliveries, self.presses
        return not (d.duplicates or d.missed or d.unexpected or d.strays or p.twice or p.lost)

    def lines(self) -> list[str]:
        d, p, o = self.deliveries, self.presses, self.options
        failed = sum(d.failed.values())
        superseded = sum(d.superseded.values())
        lines = [
            f"chaos: {plural(o.users, 'user')}, {plural(o.days, 'day')} simulated ({self.start:%Y-%m-%d %H:%M} → "
            f"{self.end:%Y-%m-%d %H:%M} UTC, a tick every {o.step_minutes} min), seed {o.seed}, "
            f"{o.workers} nbm worker x {plural(o.processes, 'process', 'processes')}",
            "time: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in self.timings.items()),
            f"ticks: {self.ticks} ({self.failed_ticks} failed and were followed by the next; {self.clock_split})",
            "RQ scheduler: held by no worker while jobs were due in "
            f"{plural(self.scheduler_gaps, 'maintenance round')}; "
            f"{plural(self.scheduler_moved, 'scheduled job')} moved to the queue by the run in its place",
            f"faults: {self.faults or 'none'}",
            f"sink faults: {self.sink_faults or 'none'}",
            f"deliveries owed: {d.owed} ({d.owed_at_end} still owed at the end of the window); "
            f"sent {d.sent} ({d.messages} messages); failed for good {failed}; superseded in an outage {superseded}",
        ]
        lines += [f"  failed for good: {count}x {reason}" for reason, count in d.failed.most_common(5)]
        lines += [f"  superseded: {count}x {reason}" for reason, count in d.superseded.most_common()]
        lines += [
            f"duplicates: {len(d.duplicates)} ({sum('no fault hit' in x for x in d.duplicates)} with no fault on "
            f"their jobs: two senders at once)",
            f"missed: {len(d.missed)}",
            f"unexpected (not owed): {len(d.unexpected)}; not in the ledger or misaddressed: {len(d.strays)}",
            f"presses: {p.pressed} pressed with {p.requests} requests ({p.repeated} sent twice or more at once, "
            f"{p.tries_again} pressed again after an apology or silence: {p.answered} answered, {p.silent} silent, "
            f"{p.http_failures} requests refused or unanswered)",
            f"  applied once {p.once}, twice or more {len(p.twice)}, never {len(p.lost)}",
        ]
        if not self.drained:
            lines.append("drain: NOT finished within the drain timeout (see missed)")
        lines += [f"  process: {e}" for e in self.unexpected_exits]
        for title, items in (("DUPLICATE", d.duplicates), ("MISSED", d.missed), ("UNEXPECTED", d.unexpected),
                             ("STRAY", d.strays), ("PRESS APPLIED TWICE", p.twice), ("PRESS LOST", p.lost)):
            lines += [f"  {title}: {item}" for item in items[:10]]
            if len(items) > 10:
                lines.append(f"  {title}: … and {len(items) - 10} more")
        if self.run_dir:
            lines.append(f"logs: {self.run_dir} (each process's log, and faults.log: when each fault happened)")
        return lines
