"""Composing the morning digest: ours beside Jinja2 + css-inline alone, on the same plans.

**Ours**: everything between a plan as the user sees it (a ``PlanView``) and the bytes that go on the
wire: ``render_digest`` (every action's signed links, the HTML template with its CSS inlined, the
plain-text template) and ``write_message`` (headers, both parts, MIME). That is what the morning's
delivery does for each user once the plan is read.

**The floor**: the digest's HTML template rendered by Jinja2 with the very same context (its links
signed beforehand, off the clock), then css-inline over the result: what any HTML digest costs at
least, with nothing of ours around it.

Target: ours composes at least half as many digests per second as the floor.

Each user gets a realistic book (``benchmarks.plan_batch``), a plan built by the morning's batch
planner and a week of actions waiting for a reply; the ``PlanView`` of every user is read once, off
the clock, inside a transaction that is rolled back. The two sides then compose every digest in
turn, ``--repeat`` times each, alternating, and the best pass of each is kept. Composing is pure
computation in one thread, so it is timed in CPU time (``time.process_time``), which the rest of a
busy machine inflates far less than wall time; wall time is shown beside it. Peak Python memory is
measured by ``tracemalloc`` in one more pass of each.

Run: ``python -m benchmarks.digest [--users 200] [--repeat 9]``.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable, Sequence

from benchmarks.harness import (
    StatementCounter,
    arguments,
    check_arguments,
    environment,
    mib,
    open_database,
    print_table,
    rolled_back,
    throwaway_users,
    verdict,
)
from benchmarks.plan_batch import FREE_MINUTES, seed
from bot.email.links import EmailLinks
from bot.email.messages import message_id_for, write_message
from bot.email.render import _inliner, _template, compile_templates, digest_context, render_digest
from core.clock import utcnow
from core.config import get_settings
from core.models import User
from core.planner.batch import plan_users
from core.planner.view import PlanView, plan_view_building_if_missing

FLOOR_SHARE = 0.5


def ours(views: Sequence[tuple[User, PlanView]], links: EmailLinks) -> int:
    """Every digest, from its view to its wire bytes; returns the bytes written (so nothing is optimised away)."""
    email_from = get_settings().email_from
    written = 0
    for user, view in views:
        rendered = render_digest(view, links=links)
        message = write_message(rendered, to_name=user.name, to_address=user.email, email_from=email_from,
                                unsubscribe_url=links.unsubscribe_url(user_id=user.id),
                                message_id=message_id_for(uuid.uuid4(), email_from=email_from))
        written += len(message.data)
    return written


def floor(contexts: Sequence[dict[str, object]]) -> int:
    """Every digest's HTML: Jinja2, then css-inline, with contexts made beforehand."""
    template = _template("digest.html")
    written = 0
    for context in contexts:
        written += len(_inliner.inline(template.render(context)))
    return written


def best_of(repeat: int, runs: Sequence[Callable[[], int]]) -> list[tuple[float, float]]:
    """The best (CPU time, wall time) of each of ``runs`` over ``repeat`` rounds, the runs alternating."""
    best = [(float("inf"), float("inf"))] * len(runs)
    for _ in range(repeat):
        for i, run in enumerate(runs):
            cpu, wall = time.process_time(), time.perf_counter()
            run()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            best[i] = (min(best[i][0], cpu), min(best[i][1], wall))
    return best


def peak_memory(run: Callable[[], int]) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = arguments("Measure composing the digest beside Jinja2 + css-inline alone.", users=(200,), repeat=9)
    args = parser.parse_args(argv)
    check_arguments(parser, args)
    count = max(args.users)
    at = args.at or utcnow()
    engine = open_database()
    print("\n".join(environment(engine)))
    compile_templates()
    links = EmailLinks.from_settings()
    with throwaway_users() as bench:
        users = seed(bench, count=count, at=at)
        ids = [user_id for user_id, _ in users]
        with rolled_back(engine) as session:
            plan_users(session, user_ids=ids, at=at,
                       free_minutes={user_id: FREE_MINUTES[n % len(FREE_MINUTES)] for n, user_id in enumerate(ids)})
            people = [session.get_one(User, user_id) for user_id in ids]
            views = [(user, plan_view_building_if_missing(session, user=user)) for user in people]
            session.expunge_all()
    contexts = [digest_context(view, links=links) for _, view in views]
    items = sum(len(view.items) for _, view in views) / len(views)
    waiting = sum(len(view.waiting) for _, view in views) / len(views)
    print(f"\n{len(views)} digests: {items:.1f} actions and {waiting:.1f} people waiting each on average; "
          f"best of {args.repeat} passes, alternating\n")

    with StatementCounter(engine) as counter:
        (ours_cpu, ours_wall), (floor_cpu, floor_wall) = best_of(
            args.repeat, [lambda: ours(views, links), lambda: floor(contexts)])
    ours_peak, floor_peak = peak_memory(lambda: ours(views, links)), peak_memory(lambda: floor(contexts))
    ours_rate, floor_rate = len(views) / ours_cpu, len(views) / floor_cpu
    share = ours_rate / floor_rate

    def each(seconds: float) -> str:
        return f"{seconds / len(views) * 1000:.2f} ms"

    print_table(("", "digests/s (CPU)", "CPU per digest", "wall per digest", "peak memory", "statements"), [
        ("ours (links, HTML, inline, text, MIME)", f"{ours_rate:.0f}", each(ours_cpu), each(ours_wall),
         mib(ours_peak), counter.count),
        ("floor (Jinja2 + css-inline)", f"{floor_rate:.0f}", each(floor_cpu), each(floor_wall), mib(floor_peak), 0),
    ])
    print(f"\nours / floor: {share:.2f} of the floor's digests per second\n")
    met = share >= FLOOR_SHARE
    print(verdict(met, f"ours {ours_rate:.0f} digests/s, {share:.2f} of Jinja2 + css-inline's {floor_rate:.0f} "
                       f"(target: at least {FLOOR_SHARE})"))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
