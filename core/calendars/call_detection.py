"""Calls found in the calendar (opt-in): a meeting with a lead becomes a logged call, once per event.

Rules (PRODUCT.md, "Calendars"; where it is silent, what was chosen):

* **Off until the user turns it on** (``user_settings.call_detection``): it reads events and who
  attends them, a wider grant than free/busy. A Google or Outlook connection made for free/busy only
  (``reads_events`` false) is skipped and reported as needing a reconnect; an iCal address always
  shows attendees.
* **The window** is the user's local today and the next 7 days. A meeting in it (timed, not
  cancelled, not declined by the user; ``core.calendars.providers.Meeting``) whose attendees
  include a lead's email — ``leads.email``, or the address of a ``mailto:`` lead — becomes a call
  logged with ``core.calls.log_call`` on the meeting's local date, with the same CALL_PREP and
  POST_CALL as ``nbm call`` (one of each pending per lead: the prep for the soonest call, the
  post-call after the latest, taken over from another call while untouched). Archived leads are
  not matched; when several leads attend one meeting, the call is the first of them by name (one
  call per event).
* **Once per event**: ``calendar_event_calls`` binds the provider's event id to the call it made
  (unique per connection), so reading again changes nothing. When the lead already has a call logged
  that day (the user logged it by hand), nothing new is made and that call is left as it is.
* **A moved event moves its call** (``core.calls.move_call``): the untouched prep and post-call are
  made again for the new date. If the lead has another call that day, the moved one is left where it
  was.
* **A cancelled event** — gone from a good read of the window, cancelled, declined, or no longer
  attended by the lead — removes what is still untouched of its call (``core.calls.cancel_call``),
  for calls dated today or later; calls in the past are history. A connection that could not be
  read removes nothing: absence from a failed read is not a cancellation. An event moved beyond the
  window looks cancelled now and is found again when it comes within 7 days.
* **What each channel says of it** (:func:`detection_said`, one sentence for ``nbm calendar calls``,
  App Home, Slack's settings and the preferences page): on, it finds calls only in a calendar that
  is connected, not expired, and shows who attends its events, and only every hour for a user with
  service; without service (``core.access.has_service``), with no calendar connected, or none of
  those, the sentence says so instead of promising calls, and the channel names its own way to
  connect one. A settings form adds what turning it on lets us read (:func:`detection_hint`).
* **When**: every hour, one job per user with service (``core.jobs.calls``: without it there is no
  plan to put a call's actions in), and on ``nbm calendar sync``. Reads are retried and logged like
  every calendar read (operation ``events``).
* **Today's plan shows it at once**: a search that made a prep or post-call due by the user's today
  (a call found today for today or tomorrow, or moved there) says so (``CallsFound.due_today``), and
  so does one that removed an item of today's plan (``CallsFound.left_today``: the untouched prep of
  a call cancelled, or moved away, leaves every plan with its action). Both callers then refresh
  today's plan once, if it is built, as a call logged by hand does, and the other channels redraw
  it, so no plan message keeps showing an action that is gone
  (``core.planner.replan.find_calls_and_replan``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock_time

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.calendars.providers import CalendarExpired, CalendarUnavailable, Meeting, Provider
from core.calendars.service import READ_TIMEOUT, list_connections, read_with_retries
from core.calls import cancel_call, log_call, move_call
from core.clock import local_today, zone
from core.config import get_settings
from core.models import (
    Action,
    CalendarConnection,
    CalendarConnectionStatus,
    CalendarEventCall,
    CalendarProvider,
    Channel,
    DailyPlan,
    DailyPlanAction,
    Lead,
    LeadStatus,
    LoggedCall,
    User,
)
from core.users import get_settings_for

#: Days after today that are searched for calls (today included besides).
WINDOW_DAYS = 7
#: What call detection does, in the words every channel uses.
FINDS = (f"meetings with a lead (by the lead's email) today and in the next {WINDOW_DAYS} days become logged "
         "calls, with a prep before and a follow-up after")


@dataclass(frozen=True)
class CallsFound:
    """What one search did: calls logged, moved and removed; connections that could not be read (with
    the reason) and those whose grant does not show attendees (reconnect to search them); whether it
    made an action due by the user's today, which today's plan should take in, and whether it removed
    an item of today's plan, whose free slot a refresh fills (module rules)."""

    logged: int = 0
    moved: int = 0
    removed: int = 0
    problems: tuple[str, ...] = ()
    need_grant: tuple[CalendarProvider, ...] = ()
    due_today: bool = False
    left_today: bool = False


def searchable(connections: Sequence[CalendarConnection]) -> bool:
    """Whether any of ``connections`` can be searched for calls: not expired, and showing who attends."""
    return any(c.reads_events and c.status != CalendarConnectionStatus.EXPIRED for c in connections)


def detection_said(*, on: bool, connections: Sequence[CalendarConnection], service: bool) -> str:
    """Whether call detection is on and what it does now, given the user's ``connections`` and whether
    they have ``service`` (module rules); the channel adds its own way to connect a calendar."""
    if not on:
        return "Call detection is off."
    if not service:
        return ("Call detection is on, but your calendars are not searched for calls every hour while your "
                "morning plans are paused.")
    if not connections:
        return f"Call detection is on, but no calendar is connected: once one is, {FINDS}."
    if not searchable(connections):
        return ("Call detection is on, but none of your calendars shows who attends your events now, so no "
                "calls are found until one is connected again.")
    return f"Call detection is on: {FINDS}. Your calendars are searched every hour."


def detection_hint(*, on: bool, connections: Sequence[CalendarConnection], service: bool) -> str:
    """What a settings form says beside its call-detection box: :func:`detection_said`, and what
    turning it on lets us read."""
    said = detection_said(on=on, connections=connections, service=service)
    if on:
        return f"{said} It reads who attends your events, not only when you are busy."
    return (f"{said} Turned on, it reads who attends the events of your connected calendars, not only when you "
            "are busy, to log your meetings with leads as calls.")


def find_calls(session: Session, *, user: User, deadline: float | None = None) -> CallsFound:
    """Search the user's calendars for calls with leads and follow the events found (module rules).

    Does nothing when call detection is off. ``deadline`` is a ``time.monotonic()`` instant after
    which no retry starts (default: the calendar budget from now).
    """
    if not get_settings_for(session, user).call_detection:
        return CallsFound()
    deadline = deadline if deadline is not None else time.monotonic() + get_settings().calendar_budget
    today = local_today(user.timezone)
    local = zone(user.timezone)
    start = datetime.combine(today, clock_time(0), tzinfo=local)
    end = datetime.combine(today + timedelta(days=WINDOW_DAYS + 1), clock_time(0), tzinfo=local)
    leads = _leads_by_email(session, user)
    planned = _todays_items(session, user=user, today=today)
    logged = moved = removed = 0
    due_today = False
    problems: list[str] = []
    need_grant: list[CalendarProvider] = []
    for connection in list_connections(session, user=user):
        if connection.status == CalendarConnectionStatus.EXPIRED:
            continue
        if not connection.reads_events:
            need_grant.append(connection.provider)
            continue
        try:
            meetings = _meetings(session, connection, start=start, end=end, deadline=deadline)
        except (CalendarExpired, CalendarUnavailable) as failed:
            problems.append(f"{connection.provider.value}: {failed.reason}")
            continue
        seen: set[str] = set()
        for meeting in meetings:
            lead = _lead_attending(meeting, leads)
            if lead is None:
                continue
            seen.add(meeting.key)
            outcome, made = _follow(session, user=user, connection=connection, meeting=meeting, lead=lead,
                                    day=meeting.start.astimezone(local).date())
            logged, moved = logged + (outcome == "logged"), moved + (outcome == "moved")
            due_today = due_today or any(action.due_date <= today for action in made)
        removed += _forget_gone(session, user=user, connection=connection, seen=seen, today=today)
    return CallsFound(logged=logged, moved=moved, removed=removed, problems=tuple(problems),
                      need_grant=tuple(need_grant), due_today=due_today,
                      left_today=_todays_items(session, user=user, today=today) < planned)


def _todays_items(session: Session, *, user: User, today: date) -> int:
    """How many items today's plan has. A search adds none, and every action it deletes (a cancelled
    or moved call's untouched prep and post-call) leaves the plan with it (ON DELETE CASCADE), so
    fewer after the search than before is the one check that covers each way it deletes."""
    return session.scalar(
        select(func.count(DailyPlanAction.id)).join(DailyPlan, DailyPlan.id == DailyPlanAction.daily_plan_id)
        .where(DailyPlan.user_id == user.id, DailyPlan.date == today)) or 0


def _meetings(session: Session, connection: CalendarConnection, *, start: datetime, end: datetime,
              deadline: float) -> list[Meeting]:
    def read(provider: Provider) -> list[Meeting]:
        return provider.meetings(connection, start=start, end=end, timeout=READ_TIMEOUT)

    return read_with_retries(session, connection, operation="events", deadline=deadline, read=read)


def _leads_by_email(session: Session, user: User) -> dict[str, Lead]:
    """The user's active and snoozed leads by lower-case email (their own, or a mailto: link's)."""
    found: dict[str, Lead] = {}
    leads = session.scalars(select(Lead).where(
        Lead.user_id == user.id, Lead.status != LeadStatus.ARCHIVED,
        or_(Lead.email.is_not(None), Lead.url.startswith("mailto:")))
        .order_by(func.lower(Lead.name), Lead.name, Lead.id))
    for lead in leads:
        addresses = {lead.email} if lead.email else set()
        if lead.url.startswith("mailto:"):
            addresses.add(lead.url[len("mailto:"):].partition("?")[0].lower())
        for address in addresses:
            found.setdefault(str(address), lead)
    return found


def _lead_attending(meeting: Meeting, leads: dict[str, Lead]) -> Lead | None:
    attending = [leads[address] for address in meeting.attendees if address in leads]
    return min(attending, key=lambda lead: (lead.name.lower(), lead.name, str(lead.id)), default=None)


def _follow(session: Session, *, user: User, connection: CalendarConnection, meeting: Meeting, lead: Lead,
            day: date) -> tuple[str | None, tuple[Action, ...]]:
    """Log, move or keep the call of ``meeting``: "logged", "moved" or None, with the actions it made."""
    link = session.scalar(select(CalendarEventCall).where(
        CalendarEventCall.calendar_connection_id == connection.id, CalendarEventCall.event_key == meeting.key))
    if link is not None:
        call = session.get_one(LoggedCall, link.logged_call_id)
        if call.lead_id == lead.id:
            if call.call_date == day:
                return None, ()
            made = move_call(session, user=user, call=call, call_date=day)
            return ("moved", made) if made is not None else (None, ())
        cancel_call(session, user=user, call=call)  # now with another lead: that lead's call, below
        session.delete(link)
        session.flush()
    result = log_call(session, user=user, lead_id=lead.id, call_date=day, channel=Channel.SYSTEM)
    if not result.created:
        return None, ()
    session.execute(insert(CalendarEventCall).values(
        id=uuid.uuid4(), user_id=user.id, calendar_connection_id=connection.id, event_key=meeting.key,
        logged_call_id=result.call.id,
    ).on_conflict_do_nothing(constraint="calendar_event_calls_calendar_connection_id_event_key_key"))
    return "logged", tuple(action for action in (result.prep, result.post) if action is not None)


def _forget_gone(session: Session, *, user: User, connection: CalendarConnection, seen: set[str],
                 today: date) -> int:
    """Cancel the calls of this connection's events no longer found (module rules); how many were removed."""
    gone = session.execute(
        select(CalendarEventCall, LoggedCall)
        .join(LoggedCall, LoggedCall.id == CalendarEventCall.logged_call_id)
        .where(CalendarEventCall.calendar_connection_id == connection.id, LoggedCall.call_date >= today,
               CalendarEventCall.event_key.not_in(seen))
    ).all()
    removed = 0
    for link, call in gone:
        session.delete(link)
        session.flush()
        removed += cancel_call(session, user=user, call=call)
    return removed
