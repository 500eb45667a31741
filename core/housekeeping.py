"""Daily housekeeping, for every user on their own local date, in a handful of set-based statements.

Each step is idempotent, so the schedule may run it as often as it likes (the jobs run it every
hour: whichever user's midnight has just passed is served within the hour):

* unsnooze leads and actions whose snooze date has come in the user's timezone (events: system),
  then refresh their users' plans of today that are already built (made on demand before the job
  came round: a midnight at half past the hour, a worker that was down), so what wakes today
  reaches today's plan as an unsnooze by hand does (``core.planner.replan``);
* archive DONE actions 90 days after completion (``auto_archive_old_actions()``);
* purge calendar sync logs older than 90 days;
* give cold leads a NURTURE (21 days without a touch);
* recompute streaks (a missed work day ends a streak even when nothing is written that day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Date, DateTime, bindparam, cast, func, select, text
from sqlalchemy.orm import Session

from core.actions.followups import create_cold_lead_nurtures
from core.clock import utcnow
from core.db import rows_affected
from core.models import Channel, DailyPlan, User
from core.planner.replan import refresh_if_planned
from core.streaks import refresh_streaks

SYNC_LOG_RETENTION = timedelta(days=90)

_UNSNOOZE_LEADS = text("""
    UPDATE leads l SET status = 'ACTIVE', snooze_until = NULL
    FROM users u
    WHERE u.id = l.user_id AND l.status = 'SNOOZED'
      AND l.snooze_until <= (CAST(:at AS timestamptz) AT TIME ZONE u.timezone)::date
    RETURNING l.user_id
""")

_UNSNOOZE_ACTIONS = text("""
    WITH woken AS (
      UPDATE actions a SET state = 'NEW', snooze_until = NULL
      FROM users u
      WHERE u.id = a.user_id AND a.state = 'SNOOZED'
        AND a.snooze_until <= (CAST(:at AS timestamptz) AT TIME ZONE u.timezone)::date
      RETURNING a.id, a.user_id
    )
    INSERT INTO action_events (user_id, action_id, from_state, to_state, channel, created_at)
    SELECT user_id, id, 'SNOOZED', 'NEW', 'system', :at FROM woken
    RETURNING user_id
""")


#: The users of ``:woken`` whose plan of their local today (at ``:now``, as the plan reads it) is built.
_PLANNED_TODAY = (
    select(User).join(DailyPlan, DailyPlan.user_id == User.id)
    .where(User.id.in_(bindparam("woken", expanding=True)),
           DailyPlan.date == cast(func.timezone(User.timezone, bindparam("now", type_=DateTime(timezone=True))), Date))
    .order_by(User.id)
)


@dataclass(frozen=True)
class HousekeepingReport:
    leads_unsnoozed: int
    actions_unsnoozed: int
    actions_archived: int
    sync_logs_purged: int
    nurtures_created: int
    streaks_changed: int


def unsnooze_due(session: Session, *, at: datetime) -> tuple[int, int]:
    """Wake the leads and actions whose snooze date has come in their user's timezone, then refresh
    their users' plans of today that are already built (:func:`core.planner.replan.refresh_if_planned`,
    the channels told as the system's change).

    Also run right before the morning plans are built, so what wakes today is planned today.
    Returns (leads, actions) woken.
    """
    leads = session.execute(_UNSNOOZE_LEADS, {"at": at}).scalars().all()
    actions = session.execute(_UNSNOOZE_ACTIONS, {"at": at}).scalars().all()
    woken = set(leads) | set(actions)
    if woken:  # one read finds the few whose plan of today is built already
        for user in session.scalars(_PLANNED_TODAY, {"woken": list(woken), "now": utcnow()}):
            refresh_if_planned(session, user=user, channel=Channel.SYSTEM)
    return len(leads), len(actions)


def run_housekeeping(session: Session, *, at: datetime) -> HousekeepingReport:
    """Run every daily step for all users (service context) as of ``at``."""
    leads, actions = unsnooze_due(session, at=at)
    archived = session.execute(text("SELECT auto_archive_old_actions(:at)"), {"at": at}).scalar_one()
    purged = rows_affected(session, text("DELETE FROM calendar_sync_logs WHERE created_at < :cutoff"),
                           {"cutoff": at - SYNC_LOG_RETENTION})
    nurtures = create_cold_lead_nurtures(session, at=at)
    streaks = refresh_streaks(session, at=at)
    session.expire_all()
    return HousekeepingReport(leads, actions, archived, purged, nurtures, streaks)
