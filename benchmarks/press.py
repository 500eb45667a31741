"""A Slack button press through the web app under its production server, beside the floor.

**Ours** is the real thing: ``nbm web`` itself (the same command, so the same server, threads and
body cap as production; the only addition is a ``/bench/stats`` route that reads this process's
meters), in multi-workspace (OAuth) mode, its installation and users in the database. **The floor**
is what any Bolt app must pay for a press: a bare Bolt app (Bolt's defaults) whose listener acks
and runs one ``UPDATE`` of the pressed action, served by that same ``nbm web`` command. **The raw
press**, beside them, is what a press doing what ours does costs at the least, whoever writes it: a
bare Bolt app making the round trips ours makes (the same statements in one transaction, in
plain SQL: seven, six once the user has completed something today; ``chat.update`` of the
pressed message; one Redis round trip for the redraw) with no code of ours around them
(``benchmarks.press_rig.raw_press``). It shows how much of the distance
from ours to the floor is our code's, and how much the work's. **The one-trip press** makes the
raw press's statements in one round trip, inside a PL/pgSQL function the run creates and drops
(``benchmarks.press_one_trip``): it shows how much of the work's cost is its round trips, and how
close to the floor a press doing what ours does can come. All four see the same presses, on the
same seeded data, from the same load generator, in one run.

Presses are Done (or Sent, ``--button sent``) on a plan DM: Slack's ``block_actions`` payload with
the message pressed (its blocks as the app drew them), signed with Slack's v0 signature
(``v0:{timestamp}:{body}``, HMAC-SHA256 with the signing secret). Each press is on a different
action, round-robin over the users, and on a row of the message it carries, so every one is a
real change, never a repeat. A load generator in a second process sends them over several
keep-alive connections on loopback, each connection sending its next press as soon as the last
one is answered (a closed loop), first a warm-up, then the measured presses.

Slack's Web API is a small fake on 127.0.0.1 in this process, over TLS as Slack is (a certificate
of the run's own, which the servers trust): it answers every call ``ok`` and notes the time each
pressed message was updated. Nothing leaves the machine. The fake and the four
servers are in ``benchmarks.press_rig``, the load generator in ``benchmarks.press_load``.

What the figures mean:

* **Throughput**: measured presses applied per second, from the first one sent to the last one
  applied. *Applied*, for ours, is the moment the pressed message's update reaches Slack (so after
  the commit), and so for the raw and the one-trip press; for the floor, the moment its ``UPDATE``
  committed.
* **ack p50/p99**: the HTTP round trip the generator sees, which is what Slack waits for.
  **applied p50/p99**: from the press being sent to it being applied (above).
* **Statements / transactions per press**: counted in the server process by SQLAlchemy events on
  every engine (``before_cursor_execute``, ``begin``), over the measured presses (the one-trip
  press sends one, whose function makes seven, or six); so are the
  database connections the pool opened.
* **Slack connections opened**: the TLS connections the fake Slack accepted over the measured
  presses (each one a TCP and a TLS handshake for the server).
* **CPU per press**: the server's user + system time over the measured presses (with
  ``--processes`` above 1, its processes' added up: ``nbm web`` and the ones it forked).
* **Peak memory**: the server's peak resident set (``VmHWM``), the whole run included (its
  processes' added up, the pages they share counted in each).
* **Redraws**: the redraw jobs ours scheduled under the load are counted, not run (each draws App
  Home whole; in production the worker runs them, on another machine). Then one more user presses
  ten times at once, just after a whole second, and the real worker (``nbm worker --burst``) runs
  that user's redraws: the fake counts the App Home publishes, which must be one.

Every server runs in ``--processes`` processes (default 1), the ``WEB_CONCURRENCY`` of ``nbm web``:
the floor, the raw press, the one-trip press and ours always in as many.

Run: ``nbm bench press [--presses 2000] [--warmup 300] [--connections 16] [--users 50]
[--processes 1] [--button done|sent]`` from the repository root, with ``DATABASE_URL`` and ``REDIS_URL`` set. The
run's users, installation and redraw jobs are removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import press_seeding as seeding
from benchmarks.harness import environment, open_database, throwaway_users, verdict
from benchmarks.press_load import generate, load
from benchmarks.press_one_trip import installed
from benchmarks.press_rig import (
    ROOT,
    SIGNING_SECRET,
    TS_PREFIX,
    FakeSlack,
    Server,
    running,
    serve,
)
from bot.chaos.loopback_tls import loopback_certificate
from core.config import get_settings
from core.embedded import database_url, redis_url

#: Presses of one user in under a second, at the end: they must redraw App Home once.
BURST = 10

# -- one measured run --------------------------------------------------------------------------------


@dataclass
class Run:
    kind: str
    presses: int
    throughput: float
    ack_p50: float
    ack_p99: float
    applied_p50: float
    applied_p99: float
    statements: float
    transactions: float
    connections: int
    slack_connections: int
    cpu_ms: float
    peak_rss: int
    errors: int
    missing: int
    #: From the first press of the burst sent to its last applied (ours only).
    burst_ms: float | None = None


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def measure_one(kind: str, env: dict[str, str], fake: FakeSlack, *, warmup: list[str], measured: list[str],
                connections: int, timeout: float, burst: list[str] | None = None) -> Run:
    """One app under the load; then, if given, the ``burst`` presses of one user, all at once, sent
    just after a whole second (a redraw window begins there)."""
    with running(kind, env, len(warmup) + len(measured) + len(burst or [])) as server:
        fake.reset()
        # The warm-up's work must be over before the meters are read.
        results = load(server, fake, warmup=warmup, measured=[], connections=connections, pause=0)
        wait_applied(server, fake, [f"{TS_PREFIX}{n:06d}" for n in range(len(warmup))], timeout=timeout)
        before, cpu_before, slack_before = server.stats(), server.cpu_seconds(), fake.connections
        first_measured = len(warmup)
        keys = [f"{TS_PREFIX}{n:06d}" for n in range(first_measured, first_measured + len(measured))]
        results = load(server, fake, warmup=[], measured=measured, connections=connections, pause=0)
        applied = wait_applied(server, fake, keys, timeout=timeout)
        after, cpu_after, slack_after = server.stats(), server.cpu_seconds(), fake.connections
        burst_ms = None
        if burst:
            first_burst = first_measured + len(measured)
            sent_burst = load(server, fake, warmup=[], measured=burst, connections=len(burst), pause=0, align=True)
            burst_keys = [f"{TS_PREFIX}{n:06d}" for n in range(first_burst, first_burst + len(burst))]
            burst_applied = wait_applied(server, fake, burst_keys, timeout=timeout)
            burst_ms = (max(burst_applied.get(key, float("inf")) for key in burst_keys)
                        - min(row[0] for row in sent_burst)) * 1000
        peak = server.peak_rss()
    sent = [row[0] for row in results]
    acks = [(row[1] - row[0]) * 1000 for row in results]
    done = [applied[key] for key in keys if key in applied]
    applied_ms = [(applied[key] - row[0]) * 1000 for key, row in zip(keys, results, strict=True) if key in applied]
    span = (max(done) if done else max(row[1] for row in results)) - min(sent)
    n = len(measured)
    return Run(
        kind=kind, presses=n, throughput=len(done) / span if span > 0 else 0.0,
        ack_p50=percentile(acks, 0.50), ack_p99=percentile(acks, 0.99),
        applied_p50=percentile(applied_ms, 0.50), applied_p99=percentile(applied_ms, 0.99),
        statements=(after["statements"] - before["statements"]) / n,
        transactions=(after["transactions"] - before["transactions"]) / n,
        connections=after["connections"] - before["connections"], slack_connections=slack_after - slack_before,
        cpu_ms=(cpu_after - cpu_before) * 1000 / n, peak_rss=peak,
        errors=sum(1 for row in results if row[2] != 200), missing=n - len(done), burst_ms=burst_ms,
    )


def ratios(run: Run, base: Run) -> tuple[float, float, float]:
    """``run`` beside ``base``: throughput as a share of base's, applied and ack p99 as multiples of base's."""
    return (run.throughput / base.throughput if base.throughput else 0.0,
            run.applied_p99 / base.applied_p99 if base.applied_p99 else float("inf"),
            run.ack_p99 / base.ack_p99 if base.ack_p99 else float("inf"))


def wait_applied(server: Server, fake: FakeSlack, keys: list[str], *, timeout: float) -> dict[str, float]:
    """When each press was applied (see the module docstring), waiting up to ``timeout`` s for them all."""
    deadline = time.monotonic() + timeout
    while True:
        if server.kind == "floor":
            applied = {k: float(v) for k, v in server.stats()["applied"].items()}
        else:
            with fake.lock:
                applied = dict(fake.updated)
        if all(key in applied for key in keys) or time.monotonic() > deadline:
            return applied
        time.sleep(0.1)


def redraw_jobs(connection: Any, user_ids: Sequence[uuid.UUID], *, remove: bool) -> int:
    """How many redraw jobs the presses of ``user_ids`` made (run or not); with ``remove``, they go."""
    from bot.slack.redraws import pressed_key

    count = 0
    for user_id in user_ids:
        keys = list(connection.scan_iter(match=f"rq:job:slack-redraw-{user_id}-*", count=1000))
        count += len(keys)
        if remove and keys:
            ids = [key.decode().removeprefix("rq:job:") for key in keys]
            connection.zrem("rq:scheduled:default", *ids)
            connection.delete(*keys, pressed_key(user_id))
    return count


def run_redraws(env: dict[str, str], *, window: float) -> float:
    """The real worker in bursts until no redraw job is due (a burst's scheduler moves at most 1,000
    due jobs to the queue: RQ's batch); seconds taken."""
    from redis import Redis

    time.sleep(window + 1.5)  # the last window's job comes due at its end
    connection = Redis.from_url(env["REDIS_URL"])
    started = time.monotonic()
    for _ in range(100):
        subprocess.run([sys.executable, "-m", "bot.cli", "worker", "--burst"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not connection.zcount("rq:scheduled:default", 0, time.time()):
            break
    return time.monotonic() - started


# -- the report --------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_serve"]:
        return serve(argv[1], int(argv[2]), int(argv[3]))
    if argv[:1] == ["_load"]:
        return generate(argv[1], argv[2])
    parser = argparse.ArgumentParser(prog="nbm bench press", description=__doc__.split("\n\n")[0])
    parser.add_argument("--presses", type=int, default=2000, help="measured presses per app (default: 2000)")
    parser.add_argument("--warmup", type=int, default=300, help="presses before measuring (default: 300)")
    parser.add_argument("--connections", type=int, default=16, help="generator connections (default: 16)")
    parser.add_argument("--users", type=int, default=50, help="users pressing, round-robin (default: 50)")
    parser.add_argument("--button", choices=("done", "sent"), default="done",
                        help="what is pressed: Done redraws its row from what the change holds, Sent reads "
                             "the plan to redraw the whole message (default: done)")
    parser.add_argument("--processes", type=int, default=1,
                        help="processes each server runs in, its WEB_CONCURRENCY (default: 1)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for presses to apply")
    args = parser.parse_args(argv)
    if min(args.presses, args.connections, args.users, args.processes) < 1 or args.warmup < 0:
        parser.error("--presses, --connections, --users and --processes take whole numbers of 1 or more")

    engine = open_database()
    settings = get_settings()
    print("\n".join(environment(engine)))
    print(f"Redis {redis_url(settings)}; load from a second process on loopback, {args.connections} connections; "
          f"pressing {args.button.title()}; each server in {args.processes} process(es) (WEB_CONCURRENCY)")
    total = args.warmup + args.presses
    folder = Path(tempfile.mkdtemp(prefix="nbm-bench-press-"))
    certificate = loopback_certificate(folder, now=datetime.now(UTC))
    fake = FakeSlack(certificate)
    runs: list[Run] = []
    with throwaway_users() as bench:
        started = time.perf_counter()
        # One user more, who presses BURST times in under a second at the end (the coalescing).
        seeded = seeding.seed(bench, users=args.users + 1, actions_each=max(-(-total // args.users), BURST))
        print(f"seeded {args.users + 1} users, {total + BURST} presses to make, "
              f"in {time.perf_counter() - started:.1f} s\n")
        try:
            env = {**os.environ, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_CLIENT_ID": "1.2",
                   "SLACK_CLIENT_SECRET": "bench-client-secret", "SLACK_API_URL": f"{fake.url}/api/",
                   "SSL_CERT_FILE": str(certificate.bundle(folder / "bundle.pem")),
                   "DATABASE_URL": database_url(settings), "REDIS_URL": redis_url(settings),
                   "LOG_LEVEL": os.environ.get("LOG_LEVEL", "ERROR"), "PYTHONPATH": str(ROOT),
                   "WEB_CONCURRENCY": str(args.processes)}
            env.pop("SLACK_BOT_TOKEN", None)
            bodies = seeding.press_bodies(seeded, seeding.round_robin(args.users, total), button=args.button)
            warmup, measured = bodies[:args.warmup], bodies[args.warmup:]
            burst = seeding.press_bodies(seeded, [(args.users, k) for k in range(BURST)], first=total)
            with installed(engine):
                for kind in ("floor", "one-trip", "raw", "ours"):
                    seeding.reset_actions(seeded)
                    # A bare Bolt app is a single-workspace one: Bolt would read the OAuth settings
                    # from the environment.
                    server_env = env if kind == "ours" else {
                        key: value for key, value in env.items() if not key.startswith("SLACK_CLIENT")}
                    runs.append(measure_one(kind, server_env, fake, warmup=warmup, measured=measured,
                                            connections=args.connections, timeout=args.timeout,
                                            burst=burst if kind == "ours" else None))
            from redis import Redis

            connection = Redis.from_url(env["REDIS_URL"])
            # The load's redraws are counted, not run: hundreds of jobs, each drawing App Home whole,
            # would keep the worker busy for minutes and measure nothing more than one of them does.
            jobs = redraw_jobs(connection, seeded.user_ids[:args.users], remove=True)
            with fake.lock:
                fake.homes.clear()
            redraw_seconds = run_redraws(env, window=1.0)
            with fake.lock:
                homes = fake.homes.get(seeded.slack_users[args.users], 0)
            burst_jobs = redraw_jobs(connection, seeded.user_ids[args.users:], remove=True)
        finally:
            seeding.forget_installation(seeded)
            fake.close()
            shutil.rmtree(folder, ignore_errors=True)
    return report(runs, warmup=args.warmup, jobs=jobs, burst_jobs=burst_jobs, homes=homes,
                  redraw_seconds=redraw_seconds)


def report(runs: list[Run], *, warmup: int, jobs: int, burst_jobs: int, homes: int, redraw_seconds: float) -> int:
    floor, one_trip, raw, ours = runs
    figures = {
        "presses measured": lambda run: f"{run.presses}",
        "throughput (presses/s)": lambda run: f"{run.throughput:.0f}",
        "ack p50 / p99 (ms)": lambda run: f"{run.ack_p50:.1f} / {run.ack_p99:.1f}",
        "applied p50 / p99 (ms)": lambda run: f"{run.applied_p50:.1f} / {run.applied_p99:.1f}",
        "statements per press": lambda run: f"{run.statements:.1f}",
        "transactions per press": lambda run: f"{run.transactions:.2f}",
        "database connections opened": lambda run: f"{run.connections}",
        "Slack connections opened (TLS)": lambda run: f"{run.slack_connections}",
        "server CPU per press (ms)": lambda run: f"{run.cpu_ms:.2f}",
        "server peak memory (MiB)": lambda run: f"{run.peak_rss / 2**20:.0f}",
        "errors / not applied": lambda run: f"{run.errors} / {run.missing}",
    }
    width = max(map(len, figures))
    print(f"{'':{width}}  {'floor (Bolt + 1 UPDATE)':>24}  {'one-trip press':>16}  {'raw press':>16}  "
          f"{'ours (nbm web)':>16}")
    for name, figure in figures.items():
        print(f"{name:{width}}  {figure(floor):>24}  {figure(one_trip):>16}  {figure(raw):>16}  {figure(ours):>16}")
    throughput_ratio, p99_ratio, ack_ratio = ratios(ours, floor)
    print(f"\nratio ours/floor: throughput {throughput_ratio:.2f}x, applied p99 {p99_ratio:.2f}x, "
          f"ack p99 {ack_ratio:.2f}x")
    print("ratio one-trip press/floor: throughput {:.2f}x, applied p99 {:.2f}x, ack p99 {:.2f}x "
          "(the work ours does, its statements in one round trip)".format(*ratios(one_trip, floor)))
    print("ratio raw press/floor: throughput {:.2f}x, applied p99 {:.2f}x, ack p99 {:.2f}x "
          "(the work ours does, in the round trips ours makes)".format(*ratios(raw, floor)))
    print("ratio ours/raw press: throughput {:.2f}x, applied p99 {:.2f}x, ack p99 {:.2f}x "
          "(what our code around that work costs)".format(*ratios(ours, raw)))
    print(f"redraws under the load: {jobs} redraw jobs for {ours.presses + warmup} presses, warm-up included "
          "(counted, not run)")
    print(f"redraws of a burst: {BURST} presses by one user at once, all applied {ours.burst_ms or 0:.0f} ms after "
          f"the first was sent -> {burst_jobs} redraw job(s), {homes} App Home publish(es) "
          f"(nbm worker --burst, {redraw_seconds:.1f} s)\n")
    lines = [
        verdict(throughput_ratio >= 0.5, f"throughput at least half the floor's ({throughput_ratio:.2f}x)"),
        verdict(p99_ratio <= 2.0 and ack_ratio <= 2.0,
                f"p99 within 2x the floor's (applied {p99_ratio:.2f}x, ack {ack_ratio:.2f}x)"),
        verdict(abs(ours.transactions - 1.0) < 0.05, f"one unit of work per press ({ours.transactions:.2f})"),
        verdict(homes == 1, f"{BURST} presses in a second redraw App Home once ({homes})"
                + ("" if (ours.burst_ms or 0) < 1000 else " (they took over a second: rerun on a quieter machine)")),
        verdict(all(run.errors == run.missing == 0 for run in runs),
                "every press answered 200 and applied"),
    ]
    print("\n".join(lines))
    return 0 if all(line.startswith("PASS") for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
