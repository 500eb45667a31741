"""Acting on each Slack event once, though Slack may deliver it again.

Slack resends an event it believes was not acknowledged in time (``X-Slack-Retry-Num``) and Bolt
does not de-duplicate. Each event is claimed by inserting (team, event id) under a unique key
before it is handled; a second arrival finds the claim and is acknowledged without acting. If
handling fails, the claim is released so Slack's retry can do the work. Claims are only needed
while Slack may retry (it gives up within the hour), so claims older than a day are purged as new
ones arrive: the table stays small without a job.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert

from core.clock import utcnow
from core.db import unit_of_work
from core.models import SlackEvent

KEEP = timedelta(days=1)


def claim(*, team_id: str, event_id: str, event_type: str) -> bool:
    """True the first time this event is seen, False for every later delivery of it."""
    with unit_of_work(service=True) as session:
        now = utcnow()
        session.execute(delete(SlackEvent).where(SlackEvent.created_at < now - KEEP))
        claimed = session.scalar(
            insert(SlackEvent).values(team_id=team_id, event_id=event_id, event_type=event_type, created_at=now)
            .on_conflict_do_nothing(index_elements=["team_id", "event_id"]).returning(SlackEvent.id)
        )
        return claimed is not None


def release(*, team_id: str, event_id: str) -> None:
    with unit_of_work(service=True) as session:
        session.execute(delete(SlackEvent).where(SlackEvent.team_id == team_id, SlackEvent.event_id == event_id))


@contextmanager
def once(body: dict[str, Any]) -> Iterator[bool]:
    """``with once(body) as first:`` — act only when ``first``; a failure releases the claim."""
    team_id = body.get("team_id") or (body.get("authorizations") or [{}])[0].get("enterprise_id") or ""
    event_id = body.get("event_id")
    if not event_id:  # not an Events API envelope: nothing to de-duplicate on
        yield True
        return
    first = claim(team_id=team_id, event_id=event_id, event_type=(body.get("event") or {}).get("type", ""))
    try:
        yield first
    except BaseException:
        if first:
            release(team_id=team_id, event_id=event_id)
        raise
