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
That is also why the hour may pass over a row a user's request holds (it never waits for one) and
leave it to the request's build, the next build or the next hour.
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

#: Each statement that wakes rows first locks them (``due``, a locking SELECT ... ORDER BY id, then
#: the UPDATE of those rows). The hourly housekeeping wakes every user's, each build of a plan its own
#: users', and a build often runs in a request that already holds a row of its user: the lead it
#: locked first (core.actions.followups.lock_lead: a press, a call logged, a call found), an action
#: it changed. Two rules keep any two of them from each holding a row the other waits for:
#:
#: * **The hour passes over a row someone holds** (``SKIP LOCKED``, in its every-user statements
#:   only: core.db.ForUsers). Were it to wait, it would wait holding other rows of that user, which
#:   the holder's build then waits for: a call logged with Carl locked him, the hour locked Bea and
#:   waited for Carl, the call's refresh waited for Bea, and PostgreSQL aborted one
#:   (tests/jobs/test_wake_beside_a_call.py). Nothing is lost: a row passed over stays due, and every
#:   build wakes first, so the holder's own build, or the next build, or the next hour wakes it
#:   before any plan can miss it.
#: * **Builds lock in the order of ids**, and wait (they must: a row a build passed over would be
#:   missing from the plan it makes). Two builds of one user (the morning's batch and `/nbm today`)
#:   would otherwise lock in the orders of their plans, which differ: a batch can read the rows in
#:   storage order (a bitmap scan) where one user's build walks an index in its own order (by snooze
#:   date), and each held one row and waited for the other's (tests/jobs/test_wake_deadlock.py).
#:
#: ``FOR NO KEY UPDATE`` is the lock the UPDATE itself takes: it leaves a plan's items (whose foreign
#: keys share-lock the actions they name) free, and the hour does not pass over rows merely named by one.
_UNSNOOZE_LEADS = ForUsers.of("""
    WITH due AS MATERIALIZED (
      SELECT l.id FROM leads l JOIN users u ON u.id = l.user_id
      WHERE l.status = 'SNOOZED'
        AND l.snooze_until <= (CAST(:at AS timestamptz) AT TIME ZONE u.timezone)::date {only}
      ORDER BY l.id
      FOR NO KEY UPDATE OF l {skip_locked}
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
      FOR NO KEY UPDATE OF a {skip_locked}
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
    ``user_ids``. Idempotent: what woke once is not woken, nor nurtured, twice. For every user, a
    row another transaction holds is passed over, left due for the next run; for ``user_ids``, it is
    waited for (the rules above the statements).

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
