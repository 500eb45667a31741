"""Daily housekeeping, for every user on their own local date, in a handful of set-based statements.

Each step is idempotent, so the schedule may run it as often as it likes (the jobs run it every
hour: whichever user's midnight has just passed is served within the hour):

* archive DONE actions 90 days after completion (``auto_archive_old_actions()``);
* bring back what wakes on the user's date (:func:`wake_due`): unsnooze leads and actions whose
  snooze date has come (events: system), and give cold leads a NURTURE (21 days without a touch);
* purge calendar sync logs older than 90 days, and calendar OAuth flows expired over a day ago (used
  or not: each holds an encrypted PKCE verifier or msal flow that no callback can use any more);
* recompute streaks (a missed work day ends a streak even when nothing is written that day).

**What wakes is planned the day it wakes.** The hour can leave a user's first minutes of a day
unserved, and a plan is never rebuilt by the morning once it exists: so every build of a plan (on
demand, the morning's batch, a refresh) first runs :func:`wake_due` for its own users, in its own
unit of work (:func:`core.planner.batch.gather`). A plan built at 00:05 holds what woke at 00:00.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.actions.followups import create_cold_lead_nurtures
from core.db import ForUsers, rows_affected
from core.models import Action, Lead
from core.streaks import refresh_streaks

SYNC_LOG_RETENTION = timedelta(days=90)
#: How long a calendar OAuth flow is kept once it has expired (a used one expires 10 minutes after it began).
FLOW_STATE_RETENTION = timedelta(days=1)

#: Each statement that wakes rows first locks them in the order of their ids (``due``, a locking
#: SELECT ... ORDER BY id, then the UPDATE of those rows), whoever runs it: the hourly housekeeping for
#: every user and every build of a plan for its own users wake the same rows, and two transactions
#: that lock the same rows in one order cannot deadlock on them. Without the ORDER BY, an UPDATE locks
#: rows in the order its plan reads them, and the plans differ: the every-user one can read a user's
#: snoozed actions in storage order (a bitmap scan) where the per-user one walks an index in its own
#: order (by snooze date), so the hour and a build each held one and waited for the other's
#: (tests/jobs/test_wake_deadlock.py). ``FOR NO KEY UPDATE`` is the lock the UPDATE
#: itself takes: it leaves a plan's items (whose foreign keys share-lock the actions they name) free.
_UNSNOOZE_LEADS = ForUsers.of("""
    WITH due AS MATERIALIZED (
      SELECT l.id FROM leads l JOIN users u ON u.id = l.user_id
      WHERE l.status = 'SNOOZED'
        AND l.snooze_until <= (CAST(:at AS timestamptz) AT TIME ZONE u.timezone)::date {only}
      ORDER BY l.id
      FOR NO KEY UPDATE OF l
    )
    UPDATE leads l SET status = 'ACTIVE', snooze_until = NULL
    FROM due WHERE l.id = due.id
""", column="u.id")

_UNSNOOZE_ACTIONS = ForUsers.of("""
    WITH due AS MATERIALIZED (
      SELECT a.id FROM actions a JOIN users u ON u.id = a.user_id
      WHERE a.state = 'SNOOZED'
        AND a.snooze_until <= (CAST(:at AS timestamptz) AT TIME ZONE u.timezone)::date {only}
      ORDER BY a.id
      FOR NO KEY UPDATE OF a
    ), woken AS (
      UPDATE actions a SET state = 'NEW', snooze_until = NULL
      FROM due WHERE a.id = due.id
      RETURNING a.id, a.user_id
    )
    INSERT INTO action_events (user_id, action_id, from_state, to_state, channel, created_at)
    SELECT user_id, id, 'SNOOZED', 'NEW', 'system', :at FROM woken
""", column="u.id")


@dataclass(frozen=True)
class Woken:
    """What :func:`wake_due` brought back."""

    leads: int
    actions: int
    nurtures: int


@dataclass(frozen=True)
class HousekeepingReport:
    leads_unsnoozed: int
    actions_unsnoozed: int
    actions_archived: int
    sync_logs_purged: int
    flow_states_purged: int
    nurtures_created: int
    streaks_changed: int


def wake_due(session: Session, *, at: datetime, user_ids: Sequence[uuid.UUID] | None = None) -> Woken:
    """Bring back what is due by ``at`` in each user's timezone: leads and actions whose snooze date
    has come, and a NURTURE for each lead gone cold; for every user (service context) or only
    ``user_ids``. Idempotent: what woke once is not woken, nor nurtured, twice.

    The leads and actions of the session that the statements changed are expired, so the ORM reads
    them again rather than show them still snoozed.
    """
    woken = Woken(
        leads=_UNSNOOZE_LEADS.run(session, {"at": at}, user_ids=user_ids).rowcount,
        actions=_UNSNOOZE_ACTIONS.run(session, {"at": at}, user_ids=user_ids).rowcount,
        nurtures=create_cold_lead_nurtures(session, at=at, user_ids=user_ids),
    )
    if woken.leads or woken.actions:
        for row in [row for row in session.identity_map.values() if isinstance(row, Lead | Action)]:
            session.expire(row)
    return woken


def run_housekeeping(session: Session, *, at: datetime) -> HousekeepingReport:
    """Run every daily step for all users (service context) as of ``at``."""
    archived = session.execute(text("SELECT auto_archive_old_actions(:at)"), {"at": at}).scalar_one()
    woken = wake_due(session, at=at)
    purged = rows_affected(session, text("DELETE FROM calendar_sync_logs WHERE created_at < :cutoff"),
                           {"cutoff": at - SYNC_LOG_RETENTION})
    flows = rows_affected(session, text("DELETE FROM oauth_flow_states WHERE expires_at < :cutoff"),
                          {"cutoff": at - FLOW_STATE_RETENTION})
    streaks = refresh_streaks(session, at=at)
    session.expire_all()
    return HousekeepingReport(woken.leads, woken.actions, archived, purged, flows, woken.nurtures, streaks)
