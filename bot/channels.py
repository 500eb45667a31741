"""Wires the channels into core, which never imports bot/: the morning jobs' senders, the
listeners that redraw a channel after a change made elsewhere, and who tells a user that a calendar
expired or about their billing (Slack first, else email: :func:`_slack_else_email`). Every process
calls :func:`register_all` at start (the web app, ``nbm worker``, ``nbm cron``, ``nbm morning``, the
commands that change actions). Email is always a channel; Slack only where Slack is configured."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from bot.email import billing as billing_email
from bot.email import delivery as email
from bot.slack import billing as slack_billing
from bot.slack import delivery as slack
from bot.slack.app import slack_enabled
from bot.slack.errors import SlackDeliveryError
from bot.slack.surfaces import redraw_after_change
from core.billing.notices import BillingNotice, on_billing_notice
from core.calendars.notices import on_calendar_expired
from core.changes import on_actions_changed
from core.config import get_settings
from core.jobs.channels import register_sender
from core.models import CalendarProvider, Channel, DeliveryKind

log = logging.getLogger("nbm.channels")


def register_all() -> None:
    register_sender(DeliveryKind.PLAN, Channel.EMAIL, email.plan_sender)
    register_sender(DeliveryKind.WEEKLY_SUMMARY, Channel.EMAIL, email.summary_sender)
    if slack_enabled(get_settings()):
        register_sender(DeliveryKind.PLAN, Channel.SLACK, slack.plan_sender)
        register_sender(DeliveryKind.WEEKLY_SUMMARY, Channel.SLACK, slack.summary_sender)
        on_actions_changed(redraw_after_change)
    on_calendar_expired(tell_calendar_expired)
    on_billing_notice(tell_billing)


def tell_billing(notice: BillingNotice) -> bool:
    """A billing notice (trial ending, payment failed, service ended): Slack first, else email."""
    return _slack_else_email(lambda: slack_billing.billing_notice_dm(notice),
                             lambda: billing_email.billing_notice_email(notice),
                             user_id=notice.user_id, what=f"billing ({notice.kind.value})")


def tell_calendar_expired(user_id: uuid.UUID, provider: CalendarProvider) -> bool:
    """Slack first, where the Reconnect button is one press away; else email."""
    return _slack_else_email(lambda: slack.calendar_expired_dm(user_id, provider),
                             lambda: email.calendar_expired_email(user_id, provider),
                             user_id=user_id, what=f"{provider.value} calendar expired")


def _slack_else_email(dm: Callable[[], bool], mail: Callable[[], bool], *, user_id: uuid.UUID, what: str) -> bool:
    """Tell a user once: by Slack DM where Slack is on and they use it, else by email.

    A DM that could not be posted (the user cannot be reached in Slack, or Slack answered a refusal
    such as ``account_inactive``, a 429 or a 5xx: a :class:`SlackDeliveryError`) is logged and the
    email sent instead, since a notice is told at most once and never retried. A DM Slack accepted
    returns True before the email is considered, so nobody gets both; a call that never got Slack's
    answer (a timeout: it may have been posted) is not followed by an email either, and reaches the
    core's log of a notice that could not be told."""
    if slack_enabled(get_settings()):
        try:
            if dm():
                return True
        except SlackDeliveryError as failed:
            log.warning("the Slack DM to user %s about %s failed (%s); emailing instead", user_id, what, failed)
    return mail()
