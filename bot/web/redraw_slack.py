"""Slack catching up with a change made in the browser (an email page, a calendar connected through
Google's or Microsoft's sign-in): the user's App Home and plan DM show it without waiting for the
next press or the next opening of App Home."""

from __future__ import annotations

import logging
import uuid

from bot.slack.app import slack_enabled
from bot.slack.redraws import request_redraw
from core.config import get_settings

log = logging.getLogger("nbm.web.slack")


def redraw_slack_later(user_id: uuid.UUID) -> None:
    """Have the coalesced job redraw the user's Slack surfaces (``bot.slack.redraws``), once the
    change is committed; never raises: the change stands, and the surfaces catch up at the next
    redraw when Redis cannot be reached. A user without Slack costs one job that finds no one to
    draw for."""
    if not slack_enabled(get_settings()):
        return
    try:
        request_redraw(user_id)
    except Exception:
        log.warning("could not schedule the Slack redraw after a change by user %s in the browser", user_id,
                    exc_info=True)
