"""What a slash command shares with a modal or an App Home button: opening the log-call and
settings forms, and adding a lead (``/nbm add`` and the add-lead modal)."""

from __future__ import annotations

from collections.abc import Callable

from bot.slack.blocks.home import live_leads
from bot.slack.blocks.modals import log_call_modal, settings_modal
from bot.slack.blocks.replies import lead_added
from bot.slack.listeners.common import Request
from core.access import has_service
from core.billing.status import NoService
from core.calendars.call_detection import detection_hint
from core.calendars.service import list_connections
from core.clock import local_today
from core.leads import add_lead, list_leads
from core.models import Channel, Lead
from core.planner.replan import add_lead_and_replan, refreshed_and_told
from core.planner.sizing import calendar_to_read, read_calendar
from core.planner.view import PlanView
from core.users import acting_as_user, get_settings_for


def add_lead_then_plan(request: Request, *, name: str, url: str, notes: str | None, email: str | None = None,
                       answer: Callable[[str], object]) -> None:
    """Add the lead and refresh today's plan, so its outreach, due today, shows at once; ``answer``
    whether it made it in (or why no plan is made: no service), then redraw App Home.

    The lead is checked and added before any calendar is read, so a refused one (the core's
    ValidationError, DuplicateLead) raises having read nothing and changed nothing. When today's plan
    is still to be made and a calendar sizes it (:mod:`core.planner.sizing`), ``answer`` comes as
    soon as the lead is added (a form has Slack's 3 s, a calendar may take ``CALENDAR_BUDGET``), and
    the plan is made once the calendar is read, in a unit of work of its own."""
    to_read = calendar_to_read(request.user_id)
    with acting_as_user(request.user_id) as (session, user):
        if to_read is None:
            lead, plan = add_lead_and_replan(session, user=user, name=name, url=url, notes=notes, email=email,
                                             channel=Channel.SLACK)
        else:
            lead, plan = add_lead(session, user=user, name=name, url=url, notes=notes, email=email,
                                  channel=Channel.SLACK), None
    answer(_added(lead, plan))
    if to_read is not None:
        calendar = read_calendar(to_read)
        with acting_as_user(request.user_id) as (session, user):
            refreshed_and_told(session, user=user, channel=Channel.SLACK, calendar=calendar)
    request.redraw()


def _added(lead: Lead, plan: PlanView | NoService | None) -> str:
    """What adding ``lead`` did to today's ``plan`` (None: it is being made from the calendar)."""
    if plan is None:
        return lead_added(lead, planned=None)
    if isinstance(plan, NoService):
        return lead_added(lead, unplanned=str(plan))
    return lead_added(lead, planned=any(item.lead_id == lead.id for item in plan.items))


def open_log_call(request: Request) -> None:
    """The log-call form, listing the live leads: the active and the snoozed, whom a call brings back
    (core.calls); an archived lead was put away, and no call is logged for it."""
    with acting_as_user(request.user_id) as (session, user):
        view = log_call_modal(live_leads(list_leads(session, user=user)), today=local_today(user.timezone))
    request.open_modal(view)


def open_settings(request: Request) -> None:
    """The settings form, call detection said beside its box as it stands now (no calendar, or no
    service, included)."""
    with acting_as_user(request.user_id) as (session, user):
        settings = get_settings_for(session, user)
        calls = detection_hint(on=settings.call_detection, connections=list_connections(session, user=user),
                               service=has_service(session, user.id))
        view = settings_modal(settings, timezone=user.timezone, calls=calls)
    request.open_modal(view)
