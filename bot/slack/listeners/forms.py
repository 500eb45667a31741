"""Opening the modals that both a slash command and an App Home button open."""

from __future__ import annotations

from bot.slack.acting import acting_as
from bot.slack.blocks.modals import log_call_modal, settings_modal
from bot.slack.listeners.common import Request
from core.clock import local_today
from core.leads import list_leads
from core.models import LeadStatus
from core.users import get_settings_for


def open_log_call(request: Request) -> None:
    """The log-call form, listing the active leads (a call is not logged for a put-away lead)."""
    with acting_as(request.user_id) as (session, user):
        view = log_call_modal(list_leads(session, user=user, status=LeadStatus.ACTIVE),
                              today=local_today(user.timezone))
    request.open_modal(view)


def open_settings(request: Request) -> None:
    with acting_as(request.user_id) as (session, user):
        view = settings_modal(get_settings_for(session, user), timezone=user.timezone)
    request.open_modal(view)
