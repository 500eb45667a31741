"""Changes that reshape today's plan, each followed by the refresh that shows it: one sequence,
whichever channel (the CLI, Slack, email) makes the change, so none refreshes on its own or forgets to.

A refresh keeps what the user already acted on and refills the free slots (core.planner.service).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from core.leads import add_lead
from core.models import CapacityLevel, Channel, Lead, User
from core.planner.service import set_capacity
from core.planner.view import PlanView, refreshed_plan_view


def add_lead_and_replan(
    session: Session, *, user: User, name: str, url: str, notes: str | None, email: str | None = None,
    channel: Channel,
) -> tuple[Lead, PlanView]:
    """Add the lead, then refresh today's plan (built if there is none), so the lead's outreach, due
    today, shows at once rather than tomorrow; the plan says whether it made it in."""
    lead = add_lead(session, user=user, name=name, url=url, notes=notes, email=email, channel=channel)
    return lead, refreshed_plan_view(session, user=user)


def set_capacity_and_replan(session: Session, *, user: User, level: CapacityLevel, day: date | None = None) -> PlanView:
    """Set the capacity of ``day`` (default today), then refresh that day's plan to the new size
    (built if there is none): lowering it drops open items from the end, raising it refills."""
    set_capacity(session, user=user, level=level, day=day)
    return refreshed_plan_view(session, user=user, day=day)
