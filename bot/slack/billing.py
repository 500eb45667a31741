"""Billing in Slack: the user's billing as App Home and ``/nbm billing`` show it, and the billing
notices by DM (a ``core.billing.notices`` listener; bot.channels falls back to email)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.email.links import EmailLinks
from bot.slack.blocks.billing import BillingView, billing_reply, notice_message
from bot.slack.blocks.text import Block
from bot.slack.delivery import post_dm, reach
from core.billing.notices import BillingNotice, words_for
from core.billing.status import NoService, billing_status, describe
from core.config import get_settings
from core.models import User
from core.users import acting_as_user, get_settings_for


def billing_view(session: Session, *, user: User) -> BillingView | None:
    """The user's billing with a fresh link to their billing page; None while billing is off."""
    if not get_settings().billing_enabled:
        return None
    status = billing_status(session, user=user)
    return BillingView(status, describe(status, timezone=user.timezone),
                       EmailLinks.from_settings().billing_url(user_id=user.id))


def no_service_reply(error: NoService) -> tuple[str, list[Block]]:
    """The answer to a plan asked for without service: the core's sentence (``/nbm billing``'s) with
    its Subscribe button, so no channel answers it without a way to subscribe."""
    return billing_reply(BillingView(error.status, str(error),
                                     EmailLinks.from_settings().billing_url(user_id=error.user_id)))


def billing_notice_dm(notice: BillingNotice) -> bool:
    """DM the notice with its button; False when the user does not use Slack, a
    :class:`~bot.slack.errors.SlackDeliveryError` when it could not be posted (email is tried next
    either way: bot.channels)."""
    with acting_as_user(notice.user_id) as (session, user):
        if not get_settings_for(session, user).slack_enabled:
            return False
        words = words_for(notice, timezone=user.timezone)
    client, to = reach(notice.user_id)
    text, blocks = notice_message(words, EmailLinks.from_settings().billing_url(user_id=notice.user_id))
    post_dm(client, to, text=text, blocks=blocks)
    return True
