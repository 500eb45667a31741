"""Hands the morning jobs their senders: core never imports bot/, so each process that runs or
schedules jobs (``nbm worker``, ``nbm cron``, ``nbm morning``, ``nbm dev``) calls :func:`register_all`
first. Email is always a channel; Slack only where Slack is configured."""

from __future__ import annotations

from bot.email import delivery as email
from bot.slack import delivery as slack
from bot.slack.app import slack_enabled
from core.config import get_settings
from core.jobs.channels import register_sender
from core.models import Channel, DeliveryKind


def register_all() -> None:
    register_sender(DeliveryKind.PLAN, Channel.EMAIL, email.plan_sender)
    register_sender(DeliveryKind.WEEKLY_SUMMARY, Channel.EMAIL, email.summary_sender)
    if slack_enabled(get_settings()):
        register_sender(DeliveryKind.PLAN, Channel.SLACK, slack.plan_sender)
        register_sender(DeliveryKind.WEEKLY_SUMMARY, Channel.SLACK, slack.summary_sender)
