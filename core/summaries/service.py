"""Weekly summaries: the week's facts from the event log, and the stored summary built from them.

Every figure is computed exactly as :class:`core.summaries.facts.WeekFacts` defines it; the rules
here are about the week itself and the stored row:

* A week is the user's **local** Monday–Sunday: it starts at local midnight on the Monday, so a
  Sunday-night completion in Los Angeles belongs to that week even though it is Monday in UTC.
* "By the time the summary is built" (``answered``) is the instant :func:`week_facts` runs.
* A week is measured in the timezone the user has when it is summarised, and its summary stores
  that timezone. The weeks follow on without a gap or an overlap across a move
  (:func:`week_bounds`): a week ends at local midnight on the Monday after in the user's timezone,
  and starts where the week before ended, at midnight on its Monday in the timezone stored with the
  week before's summary (in the user's timezone when there is none). Measured in today's timezone
  alone, a move west (Tokyo to Los Angeles) left the hours between the two midnights in neither week,
  and a move east counted them in both. Those hours a move west adds are dated on the week's Monday
  (they are Sunday where the user lives now), so a week never has more than 7 days active.
* The week before, which the insight compares with, is taken as the user was told it: the figures
  of its stored summary when there is one. Counted again after a move (Tokyo to Los Angeles), its
  events would fall into other local weeks, and "down from 4" would contradict the summary that
  said 4.
* A summary covers a **finished** week: a stored summary is final (the call is idempotent), so
  summarising the current week on Wednesday would freeze half a week's numbers.
* A summary covers a week **the user lived**: their first week is the one holding the local date they
  joined (``users.created_at`` in their timezone), possibly from mid-week; a week that ended before
  it has no summary, and asking for one is refused with when the first comes (or, once it has, from
  which week summaries start). The Monday job never asks for one (``core.jobs.schedule``).
* A summary is made only for a user with **service** (core.access), as a plan is
  (:func:`core.planner.service.build_plan`): without it, building raises
  :class:`core.billing.status.NoService`, whose sentence every channel says with its way to subscribe
  (the Monday job's query already leaves such users out). A summary made before the service ended is
  the user's data and stays readable: it is returned as it was stored.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.billing.status import require_service
from core.changes import actions_changed
from core.clock import local_today, utcnow, zone
from core.config import get_settings
from core.errors import ValidationError
from core.models import Channel, User, WeeklySummary
from core.planner.batch import fill_week_focus, focus_for
from core.streaks import streak_on
from core.summaries.facts import MIN_BASE, WeekFacts, WeekNumbers
from core.summaries.insights import InsightGenerator
from core.summaries.llm import insight_generator
from core.text import short_date_from, week_range
from core.users import get_settings_for
from core.workdays import WEEKDAYS

COLD_AFTER = timedelta(days=21)
MAX_WINS = 3

_EVENTS = """
WITH events AS (
    SELECT e.* FROM action_log e
    WHERE e.user_id = :user_id AND e.channel <> 'system' AND e.created_at >= :start AND e.created_at < :end
)
"""

#: The calls logged in the week (``c``), by the user or found in their calendar: ``calls_booked``.
_CALLS = "FROM logged_calls c WHERE c.user_id = :user_id AND c.created_at >= :start AND c.created_at < :end"


def _day(row: str) -> str:
    """SQL: the local date in the week of ``row``'s ``created_at``: hours a move west added before its
    Monday count on the Monday (module rules)."""
    return f"greatest(({row}.created_at AT TIME ZONE :tz)::date, CAST(:week_start AS date))"


#: ``days_active`` (WeekFacts): the days of the user's events and of the calls a person logged
#: (``logged_calls.source``), not those the system did (found in their calendar).
_WEEK_NUMBERS = text(_EVENTS + f"""
, active AS (
    SELECT {_day("e")} FROM events e
    UNION
    SELECT {_day("c")} {_CALLS} AND c.source = 'person'
)
SELECT
    (SELECT count(*) FROM active),
    count(DISTINCT e.action_id) FILTER (WHERE e.to_state IN ('DONE', 'REPLIED')),
    count(DISTINCT e.action_id) FILTER (WHERE e.to_state = 'REPLIED'),
    (SELECT count(*) {_CALLS})
FROM events e
""")

#: ``sent``, ``written_to`` and ``answered`` (WeekFacts): the week's messages, the leads they went to, and
#: those of the leads who replied after the week's first message to them, by ``as_of``.
_SENT_AND_ANSWERED = text(_EVENTS + """
, written AS (
    SELECT a.person_id, count(DISTINCT e.action_id) AS messages, min(e.created_at) AS first_sent
    FROM events e JOIN actions a ON a.id = e.action_id
    WHERE e.to_state = 'SENT'
    GROUP BY a.person_id
)
SELECT coalesce(sum(w.messages), 0)::int, count(w.person_id), count(*) FILTER (WHERE EXISTS (
    SELECT 1 FROM action_log r JOIN actions ra ON ra.id = r.action_id
    WHERE r.user_id = :user_id AND r.channel <> 'system' AND r.to_state = 'REPLIED'
      AND ra.person_id = w.person_id AND r.created_at > w.first_sent AND r.created_at <= :as_of))
FROM written w
""")

#: The two days with the most actions moved forward, to tell a best day from a tie.
_TOP_DAYS = text(_EVENTS + f"""
SELECT {_day("e")} AS day, count(DISTINCT e.action_id) AS moved FROM events e
WHERE e.to_state IN ('SENT', 'REPLIED', 'DONE')
GROUP BY day ORDER BY moved DESC, day LIMIT 2
""")

#: ``cold_leads`` (WeekFacts): only the user's own events are touches. The system's NURTURE for a lead gone
#: cold (``core.actions.followups``, channel ``system``) is a reminder to touch it, not a touch.
_COLD_LEADS = text("""
SELECT count(*) FROM leads l
WHERE l.user_id = :user_id AND l.status = 'ACTIVE' AND l.created_at < :since
  AND NOT EXISTS (
      SELECT 1 FROM actions a JOIN action_log e ON e.action_id = a.id
      WHERE a.person_id = l.id AND e.channel <> 'system' AND e.created_at >= :since AND e.created_at < :end)
""")

_WINS = text(_EVENTS + f"""
, touches AS (
    SELECT a.person_id AS lead_id, e.created_at AS at FROM events e JOIN actions a ON a.id = e.action_id
    WHERE e.to_state = 'REPLIED' AND a.person_id IS NOT NULL
    UNION ALL
    SELECT c.lead_id, c.created_at {_CALLS}
)
SELECT l.name FROM touches t JOIN leads l ON l.id = t.lead_id
GROUP BY l.id, l.name ORDER BY min(t.at), l.name LIMIT :limit
""")

def previous_monday(today: date) -> date:
    """The Monday of the week before ``today``'s week (on Monday 30 Nov: Monday 23 Nov)."""
    return today - timedelta(days=today.weekday() + 7)


def joined_on(user: User) -> date:
    """The local date the user joined: ``users.created_at`` in their timezone (module rules)."""
    return local_today(user.timezone, at=user.created_at)


def first_week(user: User) -> date:
    """The Monday of the user's first week, the one they joined in: the first week a summary covers."""
    joined = joined_on(user)
    return joined - timedelta(days=joined.weekday())


def _midnight(day: date, tz: str) -> datetime:
    """The UTC instant of local midnight starting ``day`` in ``tz`` (DST-correct)."""
    return datetime.combine(day, time(0), tzinfo=zone(tz)).astimezone(UTC)


def week_bounds(session: Session, *, user: User, week_start: date) -> tuple[datetime, datetime]:
    """The UTC instants the week starting ``week_start`` is measured from and to (module rules): from
    midnight on its Monday in the timezone stored with the week before's summary, or in the user's
    when there is none; to midnight on the Monday after in the user's timezone."""
    before = get_summary(session, user=user, week_start=week_start - timedelta(days=7))
    start = _midnight(week_start, before.timezone if before is not None else user.timezone)
    return start, _midnight(week_start + timedelta(days=7), user.timezone)


def _params(session: Session, user: User, week_start: date) -> dict[str, Any]:
    start, end = week_bounds(session, user=user, week_start=week_start)
    return {"user_id": user.id, "tz": user.timezone, "week_start": week_start, "start": start, "end": end}


def _numbers(session: Session, params: dict[str, Any]) -> WeekNumbers:
    """The four stored numbers of the week ``params`` (:func:`_params`) measure."""
    return WeekNumbers(*session.execute(_WEEK_NUMBERS, params).one())


def _previous(session: Session, user: User, week_start: date) -> WeekNumbers | None:
    """The week before's four numbers as the user was told them (module rules): its stored summary's,
    else counted now; None in the user's first week when no summary of a week before it is stored."""
    before = get_summary(session, user=user, week_start=week_start - timedelta(days=7))
    if before is not None:
        return WeekNumbers(before.days_active, before.actions_completed, before.replies, before.calls_booked)
    if week_start <= first_week(user):
        return None
    return _numbers(session, _params(session, user, week_start - timedelta(days=7)))


def _best_day(session: Session, params: dict[str, Any]) -> str | None:
    """The clear best day of the week, as WeekFacts defines it, or None."""
    top = session.execute(_TOP_DAYS, params).all()
    if not top or top[0].moved < MIN_BASE or (len(top) == 2 and top[1].moved == top[0].moved):
        return None
    return WEEKDAYS[top[0].day.weekday()]


def _focus(session: Session, user: User, week_start: date) -> str | None:
    """The week's focus, by the plan's rule (:func:`core.planner.batch.focus_for`)."""
    before = get_summary(session, user=user, week_start=week_start - timedelta(days=7))
    return focus_for(get_settings_for(session, user), day=week_start,
                     summary_focus=before.next_week_focus if before else None)


def week_facts(session: Session, *, user: User, week_start: date) -> WeekFacts:
    """The facts of the local Monday–Sunday week starting ``week_start``, as :class:`WeekFacts` defines them."""
    params = _params(session, user, week_start)
    numbers = _numbers(session, params)
    end = params["end"]
    sent, written_to, answered = session.execute(_SENT_AND_ANSWERED, {**params, "as_of": utcnow()}).one()
    previous = _previous(session, user, week_start)
    cold = session.execute(_COLD_LEADS, {**params, "since": end - COLD_AFTER}).scalar_one()
    wins = session.execute(_WINS, {**params, "limit": MAX_WINS}).scalars().all()
    return WeekFacts(
        user_name=user.name,
        week_start=week_start,
        days_active=numbers.days_active,
        actions_completed=numbers.actions_completed,
        replies=numbers.replies,
        calls_booked=numbers.calls_booked,
        sent=sent,
        written_to=written_to,
        answered=answered,
        previous=previous,
        best_day=_best_day(session, params),
        cold_leads=cold,
        streak=streak_on(session, user=user, day=week_start + timedelta(days=6)),
        focus=_focus(session, user, week_start),
        wins=tuple(wins),
    )


def get_summary(session: Session, *, user: User, week_start: date) -> WeeklySummary | None:
    """The stored summary of the week starting ``week_start``, if there is one."""
    return session.scalars(_summary_of(user, week_start)).one_or_none()


def _summary_of(user: User, week_start: date) -> Select[WeeklySummary]:
    return select(WeeklySummary).where(
        WeeklySummary.user_id == user.id, WeeklySummary.week_start_date == week_start
    )


def summary_week(user: User, week_start: date | None = None) -> date:
    """The week a summary of ``user`` covers: ``week_start``, or by default last week (their local
    Monday–Sunday before this one). Refused with a :class:`ValidationError` saying which weeks are
    accepted unless it is a finished Monday–Sunday from their first week on (module rules).

    A refusal suggests only a week that would be accepted: the one nearest the week asked for,
    between the user's first week and the latest finished one; before the user has lived a whole
    week there is none, and the refusal says when their first summary comes instead."""
    today = local_today(user.timezone)
    latest, first = previous_monday(today), first_week(user)
    week_start = week_start or latest

    def named(day: date) -> str:
        return short_date_from(day, today=today)

    if week_start.weekday() != 0:
        monday = week_start - timedelta(days=week_start.weekday())
        suggested = (f", such as {named(min(max(monday, first), latest))}" if first <= latest
                     else f"; {_first_comes(first, today=today)}")
        raise ValidationError(f"{named(week_start)} is a {WEEKDAYS[week_start.weekday()]}; a weekly summary "
                              f"starts on a Monday{suggested}")
    if week_start > latest:
        raise ValidationError(f"the week of {named(week_start)} is not over yet; " + (
            f"the latest finished week starts on {named(latest)}" if first <= latest
            else _first_comes(first, today=today)))
    if week_start < first:
        raise ValidationError(_before_joining(user, week_start, today=today))
    return week_start


def _first_comes(first: date, *, today: date) -> str:
    """When the first summary of a user whose first week starts on ``first`` comes, and what it covers
    (said while that week is not over: it comes within 7 days of ``today``)."""
    return (f"your first weekly summary comes on {short_date_from(first + timedelta(days=7), today=today)} and "
            f"covers the week you joined ({week_range(first, today=today)})")


def _before_joining(user: User, week_start: date, *, today: date) -> str:
    """Why the week of ``week_start`` has no summary, and when the user's first comes (or, once it
    has come, from which week they start)."""
    joined, first = joined_on(user), first_week(user)
    said = (f"the week of {short_date_from(week_start, today=today)} ended before you joined on "
            f"{short_date_from(joined, today=today)}")
    if first + timedelta(days=7) > today:
        return f"{said}; {_first_comes(first, today=today)}"
    return (f"{said}; your weekly summaries start with the week you joined, the week of "
            f"{short_date_from(first, today=today)}")


def build_weekly_summary(
    session: Session, *, user: User, week_start: date | None = None, generator: InsightGenerator | None = None
) -> WeeklySummary:
    """The summary of a finished week the user lived (default: last week, in the user's timezone;
    :func:`summary_week` says which weeks), created once.

    Idempotent: a week that already has a summary returns it unchanged, and two concurrent builds
    end with one row (the unique (user, week) constraint decides; the loser reads the winner's row).
    A new summary needs service (:func:`core.billing.status.require_service`; an existing one does not).
    The build that makes it gives its focus to the plans of the week after already built
    (:func:`_focus_the_week_after`).
    """
    week_start = summary_week(user, week_start)
    existing = get_summary(session, user=user, week_start=week_start)
    if existing is not None:
        return existing
    require_service(session, user=user)
    facts = week_facts(session, user=user, week_start=week_start)
    insights = (generator or insight_generator(get_settings())).generate(facts)
    made = session.scalar(
        insert(WeeklySummary)
        .values(
            user_id=user.id, week_start_date=week_start, timezone=user.timezone, days_active=facts.days_active,
            actions_completed=facts.actions_completed, replies=facts.replies, calls_booked=facts.calls_booked,
            insight_text=insights.insight_text, narrative_summary=insights.narrative_summary,
            next_week_focus=insights.next_week_focus, win_post_draft=insights.win_post,
            insight_post_draft=insights.insight_post, generated_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["user_id", "week_start_date"])
        .returning(WeeklySummary.id)
    )
    # Inserted now, or by a concurrent build that committed first: either way the row is there.
    summary = session.scalars(_summary_of(user, week_start)).one()
    if made is not None:
        _focus_the_week_after(session, user=user, summary=summary)
    return summary


def _focus_the_week_after(session: Session, *, user: User, summary: WeeklySummary) -> None:
    """The plans of the week after ``summary``'s built before it take its focus, unless the user set
    their own (:func:`core.planner.batch.fill_week_focus`): Monday's plan then carries the focus the
    summary sent that morning names. When today's plan is one of them, the channels showing it are
    told, as after any change of it (:func:`core.changes.actions_changed`)."""
    filled = fill_week_focus(session, settings=get_settings_for(session, user), user_id=user.id,
                             week=summary.week_start_date + timedelta(days=7), focus=summary.next_week_focus)
    if local_today(user.timezone) in filled:
        actions_changed(session, user_id=user.id, channel=Channel.SYSTEM)
