"""Billing notices by email, for users Slack cannot reach (a ``core.billing.notices`` listener)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.email.delivery import _compose, _deliver
from bot.email.messages import OutgoingEmail
from bot.email.render import RenderedEmail, render_billing_notice
from core.billing.notices import BillingNotice, words_for
from core.errors import ValidationError
from core.models import User


def billing_notice_email(notice: BillingNotice) -> bool:
    """Email the notice; False when the user's email is off (nobody whose email is off is mailed)."""
    def compose(session: Session, user: User) -> tuple[RenderedEmail, OutgoingEmail]:
        words = words_for(notice, timezone=user.timezone)
        return _compose(user, None, lambda links: render_billing_notice(words, user_id=user.id, links=links))

    try:
        _deliver(notice.user_id, compose)
    except ValidationError:
        return False
    return True
