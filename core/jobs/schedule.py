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
* a morning already past on the day a user joins is delivered at once, but none from before it;
* nobody is owed anything at an instant before they joined, whatever instant is asked about (a tick
  by hand of an earlier instant, ``nbm morning --now``).

A tick by hand of an earlier instant enqueues what was due then, but its deliveries go out now and
are recorded as delivered: :func:`due_by_hand` keeps only those still owed now, so a morning that a
later one has superseded since is never sent (a catch-up is at most one morning).

The weekly summary (previous Monday–Sunday) is due from the user's Monday delivery instant until the
end of that week, for users who existed before that Monday.
Everybody has service while billing is off: :func:`core.access.has_service_sql` is the one check.

**Cost.** All of the above depends on the user's timezone, delivery time and work days only, bar the
day they joined and the channels they have on: it is worked out once per *schedule* (each distinct
timezone, delivery time and work week; a few hundred, however many users share them), and each user
is then a hash join on their schedule and one probe of the deliveries' unique key per delivery that
may be owed, answered by the key's index alone (it carries the status). So the tick reads each
user once, converts no time per user (but a joining day near the morning's), and never reads the
deliveries history beyond those probes; what is due comes back as one array of users per kind,
channel and period, not one row per delivery (``benchmarks.morning_tick``).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date, datetime
from itertools import repeat
from typing import NamedTuple

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.access import has_service_sql
from core.models import Channel, DeliveryKind


class Due(NamedTuple):
    """One delivery to make: ``kind`` on ``channel`` for ``period`` (a local date, or a week's Monday).

    A named tuple (ordered and compared field by field): a busy tick makes a hundred thousand of them."""

    kind: DeliveryKind
    user_id: uuid.UUID
    channel: Channel
    period: date


_DUE = """
WITH local AS MATERIALIZED (
  -- Each user with service, once, with what is theirs alone (the day they joined, the channels they
  -- have on) and their schedule: their timezone, delivery time and work days, as one key.
  SELECT u.id AS user_id, u.timezone AS tz, u.created_at, s.delivery_time, s.work_days,
         concat_ws(' ', u.timezone, s.delivery_time, s.work_days) AS schedule,
         s.email_enabled AND s.email_unsubscribed_at IS NULL AS email_on,
         s.slack_enabled AND k.user_id IS NOT NULL AS slack_on
  FROM users u
  JOIN user_settings s ON s.user_id = u.id
  LEFT JOIN (SELECT DISTINCT user_id FROM slack_user_links) AS k ON k.user_id = u.id
  WHERE ({service}) AND (CAST(:user_id AS uuid) IS NULL OR u.id = CAST(:user_id AS uuid))
    -- Only who existed at the instant asked about: then today's morning, where due, is never from
    -- before the day they joined (``always`` below relies on it).
    AND u.created_at <= CAST(:at AS timestamptz)
  -- In the order of the deliveries' key, whose first column is the user: each user's probes below
  -- then walk the pages of the key the previous user's just walked (a fifth off the tick at 100,000).
  ORDER BY u.id
),
schedules AS (
  -- Everything else depends on the schedule only, which many users share: worked out once per schedule
  -- (grouped on the one key, the others being the same within it).
  SELECT schedule, min(tz) AS tz, min(delivery_time) AS delivery_time, min(work_days) AS work_days,
         (CAST(:at AS timestamptz) AT TIME ZONE min(tz))::date AS today
  FROM local
  GROUP BY schedule
),
readings AS (
  -- Today's delivery time on the user's clock, turned into an instant with the UTC offset of the day
  -- before and with that of the day after: the same instant unless the clocks change around it.
  SELECT sc.*, w.wall, least(o.before, o.after) AS early, greatest(o.before, o.after) AS late
  FROM schedules sc
  CROSS JOIN LATERAL (SELECT sc.today + sc.delivery_time AS wall) AS w
  CROSS JOIN LATERAL (SELECT ((w.wall - interval '1 day') AT TIME ZONE sc.tz) + interval '24 hours' AS before,
                             ((w.wall + interval '1 day') AT TIME ZONE sc.tz) - interval '24 hours' AS after) AS o
),
clock AS (
  -- The instant today's morning is due: the first at which the user's clock shows the delivery time.
  -- Where both readings show it (the repeated hour of a fall-back), the earlier; where neither does (a
  -- time the spring-forward skips), the minute the clocks jump: within the size of the jump (two hours
  -- at most in the tz database) after the earlier reading.
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
  -- The one morning owed: today's once it is due; until then the latest earlier work day's (unless
  -- that day is before the one the user joined on: checked per user below).
  SELECT c.*, extract(isodow FROM c.today)::int = ANY (c.work_days) AND c.due_today <= CAST(:at AS timestamptz)
           AS today_due
  FROM clock c
),
periods AS MATERIALIZED (
  -- Per schedule, what each of its users may be owed, and the test of the day they joined:
  -- ``always`` (today's morning: every user of ``local`` existed at :at, so joined by today), or
  -- joined before the instant ``cut``, or on a local date up to ``cut_date``.
  SELECT o.schedule, o.tz, 'plan'::delivery_kind AS kind, m.morning AS period,
         o.today_due AS always, (m.morning::timestamp AT TIME ZONE o.tz) AS cut, m.morning AS cut_date
  FROM owed o
  CROSS JOIN LATERAL (
    SELECT CASE WHEN o.today_due THEN o.today
                ELSE (SELECT o.today - back FROM generate_series(1, 7) AS back
                      WHERE extract(isodow FROM o.today - back)::int = ANY (o.work_days)
                      ORDER BY back LIMIT 1) END AS morning) AS m
  WHERE m.morning IS NOT NULL
  UNION ALL
  SELECT o.schedule, o.tz, 'weekly_summary'::delivery_kind, o.monday - 7,
         false, (o.monday::timestamp AT TIME ZONE o.tz), NULL
  FROM owed o
  WHERE extract(isodow FROM o.today) > 1 OR o.due_today <= CAST(:at AS timestamptz)
)
SELECT p.kind::text, c.channel::text, p.period, array_agg(l.user_id)
FROM local l
-- Each user meets their schedule's periods on the schedule's key and, redundantly, its timezone: the
-- planner cannot guess how many rows two keys keep and keeps its estimate, and so its cost, low (it
-- would otherwise JIT-compile the statement, which at 100,000 users took longer than the query).
JOIN periods p ON p.schedule = l.schedule AND p.tz = l.tz
CROSS JOIN LATERAL (VALUES ('email'::event_channel, l.email_on), ('slack'::event_channel, l.slack_on))
  AS c (channel, is_on)
LEFT JOIN LATERAL (
  -- One probe of the deliveries' unique key (user, kind, channel, period) per delivery owed, typed as
  -- the table's own columns so that the key answers (a cast of the column would hide it), and read
  -- from the key alone, which carries the status (migration 0014). LATERAL with LIMIT keeps it a
  -- probe: joined as a whole, the planner may hash every delivery ever made instead.
  SELECT d.status FROM deliveries d
  WHERE d.user_id = l.user_id AND d.kind = p.kind AND d.channel = c.channel AND d.period = p.period
  LIMIT 1) AS done ON true
WHERE c.is_on AND c.channel::text = ANY (:channels)
  AND (p.always OR l.created_at < p.cut OR (l.created_at AT TIME ZONE l.tz)::date <= p.cut_date)
  AND (done.status IS NULL OR done.status NOT IN ('sent', 'failed'))
-- The users in one array per delivery kind, channel and period: a few rows to read, not one per user.
GROUP BY p.kind, c.channel, p.period
"""


def due_deliveries(
    session: Session, *, at: datetime, channels: Collection[Channel], user_id: uuid.UUID | None = None
) -> list[Due]:
    """Every delivery due at ``at`` on ``channels`` (service context), optionally for one user, in no
    particular order (:func:`core.jobs.tasks.enqueue_due` sorts what it batches)."""
    rows = session.execute(
        text(_DUE.format(service=has_service_sql("u"))),
        {"at": at, "user_id": user_id, "channels": [c.value for c in channels]},
    )
    kinds, channels_by_value = {k.value: k for k in DeliveryKind}, {c.value: c for c in Channel}
    due: list[Due] = []
    for kind, channel, period, user_ids in rows:  # a few rows, each of many users: built a row at a time
        due += map(Due, repeat(kinds[kind]), user_ids, repeat(channels_by_value[channel]), repeat(period))
    return due


class ByHand(NamedTuple):
    """What a tick by hand of an earlier instant finds: ``due`` then and still owed now, to enqueue;
    ``skipped``, due then but no longer owed now."""

    due: list[Due]
    skipped: list[Due]


def due_by_hand(
    session: Session, *, at: datetime, now: datetime, channels: Collection[Channel], user_id: uuid.UUID | None = None
) -> ByHand:
    """The deliveries due at the earlier instant ``at`` split by whether they are still owed at ``now``.

    A tick's deliveries are sent when it runs and recorded as that period's, so only what the rule
    owes *now* may go: a morning due then that a later one has superseded since (or that was sent
    since, or is not owed now for another reason: its channel turned off, service ended) is skipped,
    else ``nbm morning --now`` of last Wednesday, then the next tick, would send Wednesday's morning
    and Friday's, where a catch-up is at most one. Two statements, each the scheduler's own; the
    scheduler's ticks are of now and need neither."""
    then = due_deliveries(session, at=at, channels=channels, user_id=user_id)
    owed_now = set(due_deliveries(session, at=now, channels=channels, user_id=user_id))
    return ByHand(due=[d for d in then if d in owed_now], skipped=[d for d in then if d not in owed_now])
