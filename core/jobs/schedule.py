"""What is due at a given instant, for every user in their own timezone: one set-based query.

**A morning is due at an instant**, not at a wall-clock reading: the first instant at which the user's
clock shows their delivery time (default 07:30) on that local date. Where the clocks fall back and an
hour comes twice, that is its first occurrence (01:30 EDT, not 01:30 EST); where they spring forward
over the delivery time, it is the moment they jump (02:30 in New York on 8 March 2026 is due at 03:00
EDT). PostgreSQL's own ``timestamp AT TIME ZONE`` picks the second occurrence and, in a gap, the
offset from before it, so the query reads the delivery time with the offset of the day before and of
the day after, keeps the earlier reading that shows it, and searches the gap minute by minute only
when neither does.

**The catch-up rule.** On each channel that is on, a user is owed at most one morning: the most recent
one that has come due, on one of their work days. That is today's once its instant has passed;
before that (or on a day off), the latest earlier work day's, unless that day is before the local date
the user joined. A morning is owed until it is sent (or fails for good) or the next one comes due,
whichever is first: after an outage, however long, the scheduler sends the one most recent morning
still owed, late, labelled with its own date (its plan is that day's), and never a backlog. So:

* a tick missed while the scheduler was down is caught up by the next one, across the user's
  midnight too (late beats never); a morning left unsent on Friday is owed over the weekend until
  Monday's comes due;
* a daylight-saving change neither skips nor doubles a morning, and is not waited out;
* two schedulers ticking at once find the same work, and the deliveries' unique key (and the jobs'
  deterministic ids) keep it to one message;
* a morning already past on the day a user joins is delivered at once, but none from before it.

The weekly summary (previous Monday–Sunday) is due from the user's Monday delivery instant until the
end of that week, for users who existed before that Monday.
Everybody has service while billing is off: :func:`core.access.has_service_sql` is the one check.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.access import has_service_sql
from core.models import Channel, DeliveryKind


@dataclass(frozen=True, order=True)
class Due:
    """One delivery to make: ``kind`` on ``channel`` for ``period`` (a local date, or a week's Monday)."""

    kind: DeliveryKind
    user_id: uuid.UUID
    channel: Channel
    period: date


_DUE = """
WITH local AS (
  SELECT u.id AS user_id, u.timezone AS tz, u.created_at, s.delivery_time, s.work_days,
         s.email_enabled AND s.email_unsubscribed_at IS NULL AS email_on,
         s.slack_enabled AND EXISTS (SELECT 1 FROM slack_user_links k WHERE k.user_id = u.id) AS slack_on,
         (CAST(:at AS timestamptz) AT TIME ZONE u.timezone)::date AS today
  FROM users u JOIN user_settings s ON s.user_id = u.id
  WHERE ({service}) AND (CAST(:user_id AS uuid) IS NULL OR u.id = CAST(:user_id AS uuid))
),
readings AS (
  -- Today's delivery time on the user's clock, turned into an instant with the UTC offset of the day
  -- before and with that of the day after: the same instant unless the clocks change around it.
  SELECT l.*, w.wall, least(o.before, o.after) AS early, greatest(o.before, o.after) AS late
  FROM local l
  CROSS JOIN LATERAL (SELECT l.today + l.delivery_time AS wall) AS w
  CROSS JOIN LATERAL (SELECT ((w.wall - interval '1 day') AT TIME ZONE l.tz) + interval '24 hours' AS before,
                             ((w.wall + interval '1 day') AT TIME ZONE l.tz) - interval '24 hours' AS after) AS o
),
clock AS MATERIALIZED (
  -- The instant today's morning is due: the first at which the user's clock shows the delivery time.
  -- Where both readings show it (the repeated hour of a fall-back), the earlier; where neither does (a
  -- time the spring-forward skips), the minute the clocks jump: within the size of the jump (two hours
  -- at most in the tz database) after the earlier reading. MATERIALIZED: worked out once per user;
  -- inlined, the planner counts the CASE twice and, from about 10,000 users, JIT-compiles the tick
  -- for longer than the tick itself takes (benchmarks.morning_tick).
  SELECT r.*,
         CASE
           WHEN r.early AT TIME ZONE r.tz = r.wall THEN r.early
           WHEN r.late AT TIME ZONE r.tz = r.wall THEN r.late
           ELSE coalesce((SELECT min(m.at) FROM generate_series(0, 180) AS k
                            CROSS JOIN LATERAL (SELECT date_trunc('minute', r.early, 'UTC') + k * interval '1 minute')
                              AS m (at)
                          WHERE m.at AT TIME ZONE r.tz >= r.wall), r.late)
         END AS due_today,
         r.today - (extract(isodow FROM r.today)::int - 1) AS monday
  FROM readings r
),
owed AS (
  -- The one morning owed: today's once it is due; until then the latest earlier work day's, unless
  -- that day is before the one the user joined on.
  SELECT c.*,
         CASE
           WHEN extract(isodow FROM c.today)::int = ANY (c.work_days) AND c.due_today <= CAST(:at AS timestamptz)
             THEN c.today
           ELSE (SELECT c.today - back FROM generate_series(1, 7) AS back
                 WHERE extract(isodow FROM c.today - back)::int = ANY (c.work_days)
                   AND c.today - back >= (c.created_at AT TIME ZONE c.tz)::date
                 ORDER BY back LIMIT 1)
         END AS morning
  FROM clock c
),
periods AS (
  SELECT user_id, 'plan' AS kind, morning AS period FROM owed WHERE morning IS NOT NULL
  UNION ALL
  SELECT user_id, 'weekly_summary', monday - 7 FROM owed
  WHERE (extract(isodow FROM today) > 1 OR due_today <= CAST(:at AS timestamptz))
    AND created_at < (monday::timestamp AT TIME ZONE tz)
)
SELECT p.kind, p.user_id, c.channel, p.period
FROM periods p
JOIN local l USING (user_id)
CROSS JOIN LATERAL (VALUES ('email'), ('slack')) AS c (channel)
WHERE ((c.channel = 'email' AND l.email_on) OR (c.channel = 'slack' AND l.slack_on))
  AND c.channel = ANY (:channels)
  AND NOT EXISTS (
    SELECT 1 FROM deliveries d
    WHERE d.user_id = p.user_id AND d.kind::text = p.kind AND d.channel::text = c.channel
      AND d.period = p.period AND d.status IN ('sent', 'failed'))
ORDER BY p.kind, p.user_id, c.channel
"""


def due_deliveries(
    session: Session, *, at: datetime, channels: Collection[Channel], user_id: uuid.UUID | None = None
) -> list[Due]:
    """Every delivery due at ``at`` on ``channels`` (service context), optionally for one user."""
    rows = session.execute(
        text(_DUE.format(service=has_service_sql("u"))),
        {"at": at, "user_id": user_id, "channels": [c.value for c in channels]},
    )
    return [Due(DeliveryKind(kind), uid, Channel(channel), period) for kind, uid, channel, period in rows]
