"""What a chaos run is asked to do: its size, its seed, and how hard to break things.

The faults that hit processes and servers are planned from the seed in *simulated* time (so many per
simulated day, at least one of each kind), so that a seed breaks the same things at the same
simulated moments however fast the machine is; the sinks refuse a share of what they are sent. The
last ``calm_fraction`` of the simulated window runs with no faults at all, so that what is owed at
the end can be delivered and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

#: The PostgreSQL server a run creates its throwaway database and role on, unless told otherwise.
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class FaultRates:
    """How often each fault happens. A rate of 0 turns that fault off."""

    #: SIGKILLs of one worker process (chosen among those running a job) per simulated day.
    kill_worker_per_day: float = 6.0
    #: SIGKILLs of a whole ``nbm worker`` (supervisor and its processes) per simulated day; a new
    #: ``nbm worker`` is started in its place.
    kill_supervisor_per_day: float = 2.0
    #: Restarts of Redis (which keeps nothing: the queue is lost) per simulated day.
    restart_redis_per_day: float = 3.0
    #: Terminations of every PostgreSQL connection to the run's database per simulated day.
    cut_postgres_per_day: float = 8.0
    #: Real seconds Redis stays down on a restart: drawn between these bounds.
    redis_downtime: tuple[float, float] = (0.5, 3.0)
    #: Share of SMTP transactions refused with a 4xx (try again later) and a 5xx (never) at DATA.
    smtp_4xx: float = 0.05
    smtp_5xx: float = 0.01
    #: Share of Slack Web API calls answered 429 (with Retry-After: 1) and 5xx.
    slack_429: float = 0.04
    slack_5xx: float = 0.04
    #: Share of chat.postMessage calls that post the message and then answer 5xx anyway (Slack's
    #: gateway failing after the fact: the case a retry must not turn into a second message).
    slack_5xx_after_post: float = 0.02
    #: The last part of the simulated window, with no faults.
    calm_fraction: float = 0.15

    def off(self) -> FaultRates:
        """No faults at all (a baseline run)."""
        return replace(self, kill_worker_per_day=0, kill_supervisor_per_day=0, restart_redis_per_day=0,
                       cut_postgres_per_day=0, smtp_4xx=0, smtp_5xx=0, slack_429=0, slack_5xx=0,
                       slack_5xx_after_post=0)


@dataclass(frozen=True)
class ChaosOptions:
    days: int
    users: int
    seed: int
    #: ``nbm worker`` processes (supervisors), each running ``processes`` worker processes.
    workers: int = 3
    processes: int = 1
    #: Simulated minutes between two ticks of the scheduler.
    step_minutes: int = 10
    #: The clock waits (polling the queue) while more jobs than this are ready and not started:
    #: a fast clock must not outrun the workers, or a day would pass in a backlog.
    backlog: int = 40
    #: Real seconds the clock waits, before each tick, for the previous tick's work to be done
    #: (``bot.chaos.clock``): what stands for the minute between two ticks of ``nbm cron``.
    patience: float = 2.0
    #: Share of the Slack plan messages on which someone presses a button.
    press_share: float = 0.3
    admin_url: str = DEFAULT_ADMIN_URL
    #: Real seconds the end of the run may wait for what is owed to be delivered and the queue to drain.
    drain_timeout: float = 600.0
    #: Keep the database and the run's folder afterwards, for a look.
    keep: bool = False
    faults: FaultRates = field(default_factory=FaultRates)
