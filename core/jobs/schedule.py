"""What is due at a given instant, for every user in their own timezone: one set-based query.

A plan delivery is due on a channel when, in the user's timezone, today is one of their work days,
their delivery time (default 07:30) has passed, the channel is on, and no delivery of today's plan
on that channel has been sent (or has failed for good). Because "due" is a fact about the
database and the wall clock, not about when the scheduler last ran:

* a tick missed while the scheduler was down is caught up by the next one (late beats never);
* a daylight-saving change neither skips nor doubles a morning: local 07:30 comes once a day;
* two schedulers ticking at once find the same work, and the deliveries' unique key (and the jobs'
  deterministic ids) keep it to one message.

The weekly summary (previous Monday–Sunday) is due from the user's Monday delivery time until the
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
  SELECT u.id AS user_id, u.timezone, u.created_at, s.delivery_time, s.work_days,
         s.email_enabled AND s.email_unsubscribed_at IS NULL AS email_on,
         s.slack_enabled AND EXISTS (SELECT 1 FROM slack_user_links k WHERE k.user_id = u.id) AS slack_on,
         (CAST(:at AS timestamptz) AT TIME ZONE u.timezone) AS local_ts
  FROM users u JOIN user_settings s ON s.user_id = u.id
  WHERE ({service}) AND (CAST(:user_id AS uuid) IS NULL OR u.id = CAST(:user_id AS uuid))
),
periods AS (
  SELECT user_id, 'plan' AS kind, local_ts::date AS period FROM local
  WHERE local_ts::time >= delivery_time AND extract(isodow FROM local_ts)::int = ANY (work_days)
  UNION ALL
  SELECT user_id, 'weekly_summary', (date_trunc('week', local_ts)::date - 7) FROM local
  WHERE (extract(isodow FROM local_ts) > 1 OR local_ts::time >= delivery_time)
    AND created_at < (date_trunc('week', local_ts) AT TIME ZONE timezone)
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
