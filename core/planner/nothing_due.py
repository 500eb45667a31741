"""What a plan with nothing in it offers: one rule for every channel (``nbm plan``, Slack's plan
message and App Home, the email digest), each saying it in its own words.

An empty plan offers to add a lead only when the user has no active lead: then nothing of theirs can
come due until they add one, and adding one is the way to a plan (its outreach is due at once). A
user with active leads has an empty plan because none of their next steps is due by the plan's day;
"add a lead" would read as if they had none, so their plan says only that nothing is due.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core.models import Lead, LeadStatus, User

#: Built once: every empty plan shown asks it.
_HAS_ACTIVE_LEAD = select(
    select(Lead.id).where(Lead.user_id == bindparam("user_id"), Lead.status == LeadStatus.ACTIVE).exists()
)


def offers_a_lead(session: Session, *, user: User) -> bool:
    """Whether an empty plan of ``user`` offers to add a lead: they have no active lead (module rule)."""
    return not session.scalar(_HAS_ACTIVE_LEAD, {"user_id": user.id})
