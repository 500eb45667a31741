"""Streaks: consecutive local days with at least one completion (PRODUCT.md, "Streaks").

The rules, all in the user's own timezone:

* A **completion** is an event of the log as it stands (``action_log``: an undone change is not
  one) going to DONE or REPLIED that the user made
  (channel other than ``system``): an action closed by the system when a follow-up is sent is not
  the user's doing. It is dated by the local date of its ``created_at``.
* The streak is the run of days ending **today**, or **yesterday** when nothing is done yet today:
  a day is not lost until it is over, so the morning plan still shows yesterday's streak.
* Every **work day** (``user_settings.work_days``, ISO weekdays) inside the run needs a completion.
  Non-work days are neither required nor breaking; a completion on one still counts.
* The **count** is the number of days in the run that have a completion (Fri done, weekend off,
  Mon done: 2).

Everything is computed by one set-based statement, for one user (:func:`refresh_streak`, called on
a day's first completion: :func:`count_completion`) or for every user at once
(:func:`refresh_streaks`, the daily housekeeping that lets a streak drop to 0 when a work day
passes with nothing done). The design's
``calculate_user_streak()`` looped one query per day in the server's timezone; this does not.

What is stored is the streak as of its last recomputation; what is **shown**, everywhere, is the
streak as of the user's today (:func:`current_streak`), so a streak that ended yesterday never reads
as running before the housekeeping has written its 0.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core.clock import local_today
from core.models import User
from core.text import day_streak
from core.workdays import work_day_before


def _work_day_between(after: str, before: str) -> str:
    """SQL: is there a work day strictly between the dates ``after`` and ``before``?

    Seven consecutive days hold every weekday, so at most seven candidates are looked at.
    """
    return (
        f"EXISTS (SELECT 1 FROM generate_series(1, least({before} - {after} - 1, 7)) AS k "
        f"WHERE extract(isodow FROM {after} + k)::int = ANY(t.work_days))"
    )


#: ``targets(user_id, tz, work_days, today)`` is supplied by the caller; ``{write}`` is the CTE that
#: stores the result (or nothing, to read a streak only); ``{final}`` is the last SELECT. Only days up
#: to each user's today are read, so a date in the past gives that day's streak.
_STREAK_SQL = f"""
WITH targets AS ({{targets}}),
days AS (
    SELECT DISTINCT t.user_id, (e.created_at AT TIME ZONE t.tz)::date AS day
    FROM targets t
    JOIN action_log e ON e.user_id = t.user_id
    WHERE e.to_state IN ('DONE', 'REPLIED')
      AND e.channel <> 'system'
      AND (e.created_at AT TIME ZONE t.tz)::date <= t.today
),
flagged AS (
    SELECT d.user_id, d.day, lag(d.day) OVER (PARTITION BY d.user_id ORDER BY d.day) AS prev
    FROM days d
),
numbered AS (
    SELECT f.user_id, f.day,
           sum(CASE WHEN f.prev IS NULL OR {_work_day_between("f.prev", "f.day")} THEN 1 ELSE 0 END)
               OVER (PARTITION BY f.user_id ORDER BY f.day) AS run
    FROM flagged f
    JOIN targets t ON t.user_id = f.user_id
),
latest AS (
    SELECT DISTINCT ON (n.user_id) n.user_id, n.day AS last_day,
           count(*) OVER (PARTITION BY n.user_id, n.run) AS run_days
    FROM numbered n
    ORDER BY n.user_id, n.day DESC
),
result AS (
    SELECT t.user_id, l.last_day,
           CASE WHEN l.last_day IS NULL OR {_work_day_between("l.last_day", "t.today")} THEN 0
                ELSE l.run_days END::int AS streak
    FROM targets t
    LEFT JOIN latest l ON l.user_id = t.user_id
){{write}}
{{final}}
"""

_WRITE = """,
changed AS (
    UPDATE users u
    SET streak_count = r.streak, last_action_date = r.last_day
    FROM result r
    WHERE u.id = r.user_id
      AND (u.streak_count, u.last_action_date) IS DISTINCT FROM (r.streak, r.last_day)
    RETURNING u.id
)"""

_ONE_USER = """
    SELECT u.id AS user_id, u.timezone AS tz, coalesce(s.work_days, ARRAY[1,2,3,4,5]) AS work_days,
           CAST(:today AS date) AS today
    FROM users u LEFT JOIN user_settings s ON s.user_id = u.id
    WHERE u.id = :user_id
"""

_ALL_USERS = """
    SELECT u.id AS user_id, u.timezone AS tz, coalesce(s.work_days, ARRAY[1,2,3,4,5]) AS work_days,
           (CAST(:at AS timestamptz) AT TIME ZONE u.timezone)::date AS today
    FROM users u LEFT JOIN user_settings s ON s.user_id = u.id
"""


#: The statements, built once (a completion runs the first on every Done; so does the press bench's
#: raw press, ``benchmarks.press_rig.raw_press``).
REFRESH_ONE = text(_STREAK_SQL.format(targets=_ONE_USER, write=_WRITE,
                                      final="SELECT r.streak, r.last_day FROM result r"))
_REFRESH_ALL = text(_STREAK_SQL.format(targets=_ALL_USERS, write=_WRITE, final="SELECT count(*) FROM changed"))
#: The same statement without its ``changed`` step: PostgreSQL runs a data-modifying WITH even when
#: the final SELECT does not read it, so a read-only streak needs a statement without one.
_READ_ONE = text(_STREAK_SQL.format(targets=_ONE_USER, write="", final="SELECT r.streak FROM result r"))

#: The columns the statement writes (``updated_at`` by trigger): stale on loaded users afterwards.
_STORED = ["streak_count", "last_action_date", "updated_at"]


def current_streak(user: User, *, work_days: Collection[int], today: date | None = None) -> int:
    """The user's streak as of ``today`` (default: their local today): the figure every place that
    shows a streak shows (Slack's plan message and App Home, ``/nbm streak``, the digest, the today
    page, ``nbm plan``, ``nbm streak``), ``work_days`` being the user's.

    The stored pair (``users.streak_count``, ``last_action_date``) is recomputed on everything that
    can move it (:func:`count_completion` lists them) but the passing of time, and time alone can only
    end a streak: once a work day after the last completion is over with nothing done. The hourly
    housekeeping stores that 0 (:func:`refresh_streaks`), but until it has run, for a user whose day
    has just turned (or while it is late), the stored streak is yesterday's truth. So this applies the
    statement's own last step to the stored pair, without a query: 0 when there is no completion, or
    when the last work day before ``today`` came after the last completion; else the stored streak.
    (The weekly summary states the streak as of its week's Sunday instead: :func:`streak_on`.)
    """
    last = user.last_action_date
    today = today or local_today(user.timezone)
    if last is None or work_day_before(today, work_days) > last:
        return 0
    return user.streak_count


def streak_line(streak: int, *, work_day: bool, counted_today: bool) -> str:
    """What the digest and `/nbm streak` say of a streak on the reader's today (a catch-up digest's
    too, whose plan is of an earlier day), which is, or is not, a work day, and which the streak
    already counts (``counted_today``: a completion today, so ``users.last_action_date`` is today) or not.

    Only work days need a completion (a day off neither breaks a streak nor is required), so only
    on a work day not yet counted does the line ask for one.
    """
    if not streak:
        return "Finish one action today to start a streak." if work_day else "No streak yet."
    if counted_today:
        return f"You are on {day_streak(streak)}, today included."
    if work_day:
        return f"You are on {day_streak(streak)}. One action done today keeps it going."
    return f"You are on {day_streak(streak)}. Today is not a work day, so it is safe without one."


def refresh_streak(session: Session, *, user: User, today: date | None = None) -> int:
    """Recompute and store the user's streak and last completion date; return the streak.

    Called on every completion, so the streak shown right after pressing Done already counts it.
    ``today`` defaults to the user's local today; completions dated after it are ignored.
    """
    session.flush()
    today = today or local_today(user.timezone)
    # PostgreSQL runs a data-modifying WITH exactly once even when the final SELECT does not read it.
    streak, last_day = session.execute(REFRESH_ONE, {"user_id": user.id, "today": today}).one()
    set_committed_value(user, "streak_count", streak)
    set_committed_value(user, "last_action_date", last_day)
    session.expire(user, ["updated_at"])
    return streak


def streak_on(session: Session, *, user: User, day: date) -> int:
    """The user's streak as of their local date ``day``, by the module's rules with ``day`` as today
    (completions after it ignored), read from the log and stored nowhere: ``users.streak_count``
    stays the streak of the user's own today. For a day gone by (the weekly summary's Sunday:
    :class:`core.summaries.facts.WeekFacts` ``streak``), which a stored figure cannot give."""
    session.flush()
    return int(session.execute(_READ_ONE, {"user_id": user.id, "today": day}).scalar_one())


def count_completion(session: Session, *, user: User, today: date) -> int:
    """The user's streak after a completion they made ``today`` (their local date); return it.

    A day counts once, so a completion on a day the stored streak already counted changes neither
    the streak nor the last completion date: when ``users.last_action_date`` is ``today``, nothing is
    read or written (the day's second and later completions, most of them). Otherwise the streak is
    recomputed (:func:`refresh_streak`). This holds because the stored pair is recomputed on
    whatever else could move it: every completion and undo, a change of work days or timezone
    (:func:`core.preferences.update_preferences`, :func:`core.users.set_timezone`), and the daily
    housekeeping (:func:`refresh_streaks`).
    """
    if user.last_action_date == today:
        return user.streak_count
    return refresh_streak(session, user=user, today=today)


def refresh_streaks(session: Session, *, at: datetime) -> int:
    """Recompute every user's streak as of the instant ``at`` (service context); return how many changed.

    Each user's "today" is the local date at ``at``, so a streak drops to 0 only once a work day
    without a completion is over where the user lives. One statement for all users.
    """
    session.flush()
    changed = session.execute(_REFRESH_ALL, {"at": at}).scalar_one()
    for obj in list(session.identity_map.values()):
        if isinstance(obj, User):
            session.expire(obj, _STORED)
    return changed
