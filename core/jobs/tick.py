"""One tick of the schedule: find what is due now and enqueue it. ``nbm cron`` ticks every minute;
``nbm morning`` ticks once by hand. Ticking twice, or from two schedulers at once, is harmless: both
read the same due work, and a job id the other has taken means "already enqueued", never an error
(:func:`core.jobs.tasks.enqueue_once`).

**Housekeeping runs only as of the present.** A tick by hand of an earlier instant (``nbm morning
--now``) enqueues that instant's deliveries still owed now, and no housekeeping: housekeeping as of a
past instant would take that instant for everyone's "today", store the streaks as they stood then
(``users.streak_count`` set back) and date the NURTUREs of leads gone cold then. Nothing is lost by
it: each step takes what is due *by* its instant, so the present's housekeeping (this hour's, from
``nbm cron`` or ``nbm morning`` without ``--now``) does all an earlier one would have, dated today."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from rq import Queue

from core.clock import utcnow
from core.db import unit_of_work
from core.jobs.channels import registered_channels
from core.jobs.schedule import ByHand, due_by_hand, due_deliveries
from core.jobs.tasks import enqueue_due, enqueue_once, housekeeping
from core.queue import get_queue


@dataclass(frozen=True)
class TickReport:
    at: datetime
    due: int
    batches_enqueued: int
    housekeeping_enqueued: bool
    #: Due at ``at`` but no longer owed at ``still_owed_at``, so not enqueued (a tick by hand).
    skipped: int = 0


def tick(*, at: datetime | None = None, user_id: uuid.UUID | None = None, queue: Queue | None = None,
         still_owed_at: datetime | None = None) -> TickReport:
    """Enqueue every delivery due at ``at`` (default now) and, for everyone, this hour's housekeeping.

    ``still_owed_at``, the present, makes it a tick by hand of an earlier ``at`` (``nbm morning
    --now``): only what is still owed then is enqueued (core.jobs.schedule.due_by_hand), and no
    housekeeping (module docstring)."""
    at = at or utcnow()
    queue = queue or get_queue()
    channels = registered_channels()
    with unit_of_work(service=True) as session:
        found = (ByHand(due_deliveries(session, at=at, channels=channels, user_id=user_id), skipped=[])
                 if still_owed_at is None
                 else due_by_hand(session, at=at, now=still_owed_at, channels=channels, user_id=user_id))
    batches = enqueue_due(found.due, at=at, queue=queue)
    for_everyone_now = user_id is None and still_owed_at is None
    cleaned = for_everyone_now and enqueue_once(queue, f"housekeeping-{at:%Y%m%d%H}", housekeeping, at.isoformat())
    return TickReport(at=at, due=len(found.due), batches_enqueued=batches, housekeeping_enqueued=cleaned,
                      skipped=len(found.skipped))
