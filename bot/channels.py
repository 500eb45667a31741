"""Wires the channels into core, which never imports bot/: the morning jobs' senders, the
listeners that redraw a channel after a change made elsewhere, and who tells a user that a calendar
expired or about their billing (Slack first, else email). Every process calls :func:`register_all`
at start (the web app, ``nbm worker``, ``nbm cron``, ``nbm morning``, the commands that change actions).
Email is always a channel; Slack only where Slack is configured."""

from __future__ import annotations

import uuid

from bot.email import billing as billing_email
from bot.email import delivery as email
from bot.slack import billing as slack_billing
from bot.slack import delivery as slack
from bot.slack.app import slack_enabled
from bot.slack.surfaces import redraw_after_change
from core.billing.notices import BillingNotice, on_billing_notice
from core.calendars.notices import on_calendar_expired
from core.changes import on_actions_changed
from core.config import get_settings
from core.jobs.channels import register_sender
from core.models import CalendarProvider, Channel, DeliveryKind


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
    return ((slack_enabled(get_settings()) and slack_billing.billing_notice_dm(notice))
            or billing_email.billing_notice_email(notice))


def tell_calendar_expired(user_id: uuid.UUID, provider: CalendarProvider) -> bool:
    """Slack first, where the Reconnect button is one press away; else email."""
    return ((slack_enabled(get_settings()) and slack.calendar_expired_dm(user_id, provider))
            or email.calendar_expired_email(user_id, provider))
