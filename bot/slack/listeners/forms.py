"""What a slash command shares with a modal or an App Home button: opening the log-call and
settings forms, and adding a lead (``/nbm add`` and the add-lead modal)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.slack.blocks.modals import log_call_modal, settings_modal
from bot.slack.blocks.replies import lead_added
from bot.slack.listeners.common import Request
from core.billing.status import NoService
from core.clock import local_today
from core.leads import list_leads
from core.models import Channel, LeadStatus, User
from core.planner.replan import add_lead_and_replan
from core.planner.sizing import CalendarDay
from core.users import acting_as_user, get_settings_for


def add_and_plan(session: Session, *, user: User, name: str, url: str, notes: str | None,
                 email: str | None = None, calendar: CalendarDay | None = None) -> str:
    """Add the lead and refresh today's plan (:func:`core.planner.replan.add_lead_and_replan`, a plan
    made here sized by ``calendar``); say whether its outreach made it in, or why no plan is made (no
    service)."""
    lead, plan = add_lead_and_replan(session, user=user, name=name, url=url, notes=notes, email=email,
                                     channel=Channel.SLACK, calendar=calendar)
    if isinstance(plan, NoService):
        return lead_added(lead, unplanned=str(plan))
    return lead_added(lead, planned=any(item.lead_id == lead.id for item in plan.items))


def open_log_call(request: Request) -> None:
    """The log-call form, listing the active leads (a call is not logged for a put-away lead)."""
    with acting_as_user(request.user_id) as (session, user):
        view = log_call_modal(list_leads(session, user=user, status=LeadStatus.ACTIVE),
                              today=local_today(user.timezone))
    request.open_modal(view)


def open_settings(request: Request) -> None:
    with acting_as_user(request.user_id) as (session, user):
        view = settings_modal(get_settings_for(session, user), timezone=user.timezone)
    request.open_modal(view)
