"""Changes that reshape today's plan, each followed by the refresh that shows it: one sequence,
whichever channel (the CLI, Slack, email) makes the change, so none refreshes on its own or forgets to.

A refresh keeps what the user already acted on and refills the free slots (core.planner.service).
A refresh is a change the other channels show (Slack's plan DM and App Home), so each one tells
them once it is committed (:func:`core.changes.actions_changed`, with the channel it came from,
which redraws itself).

A call logged by a person refreshes today's plan when it is built (as a status change does): its
prep may be due today, and the snoozed lead it woke may have an action due; a repeat of a call
already logged changes nothing. Calls found in the calendar do the same, once per search, and only
when the search made something due by today or removed an item of today's plan (a call cancelled or
moved away: :mod:`core.calendars.call_detection`), whose slot the refresh fills and whose message
the other channels redraw.

A lead's status change by hand (snooze, unsnooze, archive; what wakes on its date is woken by every
build of a plan first: core.housekeeping.wake_due)
refreshes today's plan only when the status did change and today's plan is already built: a repeat
changes nothing, and a plan built later reads the lead's status as it is then. Not building one
here leaves the morning's plan to be sized by the calendar, as the morning job sizes it. A plan
these functions do build for today (a lead added, a capacity set, a refresh before the morning) is
sized by the ``calendar`` read beforehand (:mod:`core.planner.sizing`).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import BinaryIO

from sqlalchemy.orm import Session

from core.billing.status import NoService
from core.calendars.call_detection import CallsFound, find_calls
from core.calls import LoggedCallResult, log_call
from core.changes import actions_changed
from core.leads import LeadStatusChange, add_lead, archive_lead, snooze_lead, unsnooze_lead
from core.leads_import import ImportReport, NoteSink, import_leads_csv
from core.models import CapacityLevel, Channel, Lead, User
from core.planner.service import build_plan, get_plan, set_capacity
from core.planner.sizing import CalendarDay
from core.planner.view import PlanView, refreshed_plan_view


def add_lead_and_replan(
    session: Session, *, user: User, name: str, url: str, notes: str | None, email: str | None = None,
    channel: Channel, calendar: CalendarDay | None = None,
) -> tuple[Lead, PlanView | NoService]:
    """Add the lead, then refresh today's plan (built if there is none, sized by ``calendar``), so the
    lead's outreach, due today, shows at once rather than tomorrow; the plan says whether it made it in.
    Without service and without a plan today, none is made: the lead is added all the same (it is the
    user's), with the reason (:class:`NoService`) in the plan's place."""
    lead = add_lead(session, user=user, name=name, url=url, notes=notes, email=email, channel=channel)
    try:
        return lead, refreshed_and_told(session, user=user, channel=channel, calendar=calendar)
    except NoService as no_plan:  # raised before the plan is touched: the lead stays added
        return lead, no_plan


def import_leads_and_replan(
    session: Session, *, user: User, data: bytes | BinaryIO, channel: Channel, every_note: NoteSink | None = None,
    calendar: CalendarDay | None = None,
) -> tuple[ImportReport, PlanView | NoService | None]:
    """Import a CSV file's leads (:func:`core.leads_import.import_leads_csv`), then do what adding one
    lead does, once for the whole file: refresh today's plan (built if there is none, sized by
    ``calendar``) so the new leads' outreach shows at once, and tell the other channels once. An
    import that adds nobody changes no plan and tells no one (None in the plan's place); without
    service the leads are added all the same, with the reason (:class:`NoService`) in the plan's place."""
    report = import_leads_csv(session, user=user, data=data, channel=channel, every_note=every_note)
    if not report.added:
        return report, None
    try:
        return report, refreshed_and_told(session, user=user, channel=channel, calendar=calendar)
    except NoService as no_plan:  # raised before the plan is touched: the leads stay added
        return report, no_plan


def snooze_lead_and_replan(session: Session, *, user: User, lead_id: uuid.UUID, until: date,
                           channel: Channel) -> LeadStatusChange:
    """Snooze the lead, then refresh today's plan, so its open actions leave the plan at once."""
    return _replanned(session, user=user, change=snooze_lead(session, user=user, lead_id=lead_id, until=until),
                      channel=channel)


def unsnooze_lead_and_replan(session: Session, *, user: User, lead_id: uuid.UUID, channel: Channel) -> LeadStatusChange:
    """Make the lead active, then refresh today's plan, so an action due for it can take a free slot."""
    return _replanned(session, user=user, change=unsnooze_lead(session, user=user, lead_id=lead_id), channel=channel)


def archive_lead_and_replan(session: Session, *, user: User, lead_id: uuid.UUID, channel: Channel) -> LeadStatusChange:
    """Archive the lead, then refresh today's plan, so its open actions leave the plan at once."""
    return _replanned(session, user=user, change=archive_lead(session, user=user, lead_id=lead_id), channel=channel)


def log_call_and_replan(session: Session, *, user: User, lead_id: uuid.UUID, call_date: date,
                        channel: Channel) -> LoggedCallResult:
    """Log the call (:func:`core.calls.log_call`), then refresh today's plan if it is built, so a prep
    due today (a call today or tomorrow) and the actions of a lead the call woke take their slots at
    once rather than at the next refresh (the module's rules)."""
    result = log_call(session, user=user, lead_id=lead_id, call_date=call_date, channel=channel)
    if result.created:
        refresh_if_planned(session, user=user, channel=channel)
    return result


def find_calls_and_replan(session: Session, *, user: User, channel: Channel,
                          deadline: float | None = None) -> CallsFound:
    """Search the user's calendars for calls (:func:`core.calendars.call_detection.find_calls`), then
    refresh today's plan once if it is built and the search made a prep or post-call due by today, or
    removed an item of it (a call cancelled or moved away), so the change shows at once, as a call
    logged by hand does (the module's rules)."""
    found = find_calls(session, user=user, deadline=deadline)
    if found.due_today or found.left_today:
        refresh_if_planned(session, user=user, channel=channel)
    return found


def _replanned(session: Session, *, user: User, change: LeadStatusChange, channel: Channel) -> LeadStatusChange:
    """``change``, after refreshing today's plan if the lead's status changed and the plan is built
    (see the module's rules); what the user already acted on stays in it."""
    if change.changed:
        refresh_if_planned(session, user=user, channel=channel)
    return change


def refresh_if_planned(session: Session, *, user: User, channel: Channel) -> bool:
    """Refresh today's plan if it is built, the other channels told once it is committed; True if it
    was. A lead unsnoozed by hand then takes a free slot of the plan already made; none is built
    here, so a plan made later reads it, sized by the calendar (the module's rules)."""
    if get_plan(session, user=user) is None:
        return False
    build_plan(session, user=user, refresh=True)
    actions_changed(session, user_id=user.id, channel=channel)
    return True


def set_capacity_and_replan(session: Session, *, user: User, level: CapacityLevel, channel: Channel,
                            day: date | None = None, calendar: CalendarDay | None = None) -> PlanView:
    """Set the capacity of ``day`` (default today), then refresh that day's plan to the new size
    (built if there is none, with the free minutes of ``calendar``): lowering it drops open items
    from the end, raising it refills."""
    set_capacity(session, user=user, level=level, day=day)
    return refreshed_and_told(session, user=user, day=day, channel=channel, calendar=calendar)


def refreshed_and_told(session: Session, *, user: User, channel: Channel, day: date | None = None,
                       calendar: CalendarDay | None = None) -> PlanView:
    """The view of ``day``'s plan (default today) just refreshed (built if there was none, sized by
    ``calendar``: :mod:`core.planner.sizing`), the other channels told once it is committed."""
    view = refreshed_plan_view(session, user=user, day=day, calendar=calendar)
    actions_changed(session, user_id=user.id, channel=channel)
    return view
