"""A user's delivery preferences and email subscription, shared by the email pages and Slack.

Rules chosen:

* **Unsubscribe** turns email off and records when (``email_unsubscribed_at``), which the morning
  scheduler honours as firmly as the switch itself. Unsubscribing twice is the same as once: the
  first date is kept.
* **Turning email back on** (from the unsubscribe page or the preferences page) clears both.
* **Preferences** are the delivery time (``HH:MM``, the user's own timezone), the channels
  (email, and Slack only for a user linked to Slack: a switch that cannot deliver is not offered)
  and the work days (at least one). Turning every channel off is allowed: it is the user's choice,
  and the page says plainly that no plan will be delivered.
* Bad input is refused whole with a message naming what is accepted; nothing is half-saved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import time

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import ValidationError
from core.models import SlackUserLink, User, UserSettings
from core.users import get_settings_for

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Preferences:
    delivery_time: time
    email: bool
    slack: bool
    work_days: tuple[int, ...]
    slack_available: bool
    timezone: str


def email_is_on(settings: UserSettings) -> bool:
    return settings.email_enabled and settings.email_unsubscribed_at is None


def unsubscribe(session: Session, *, user: User) -> None:
    """Stop all email to ``user`` (RFC 8058 one-click, or the unsubscribe page)."""
    settings = get_settings_for(session, user)
    settings.email_enabled = False
    settings.email_unsubscribed_at = settings.email_unsubscribed_at or utcnow()
    session.flush()


def slack_available(session: Session, *, user: User) -> bool:
    return bool(session.scalar(select(exists().where(SlackUserLink.user_id == user.id))))


def get_preferences(session: Session, *, user: User) -> Preferences:
    settings = get_settings_for(session, user)
    return Preferences(
        delivery_time=settings.delivery_time, email=email_is_on(settings), slack=settings.slack_enabled,
        work_days=tuple(sorted(settings.work_days)), slack_available=slack_available(session, user=user),
        timezone=user.timezone,
    )


def parse_delivery_time(text: str) -> time:
    try:
        hours, minutes = (int(part) for part in text.strip().split(":"))
        return time(hours, minutes)
    except ValueError:
        raise ValidationError(f"{text.strip()[:20]!r} is not a time of day; use HH:MM, like 07:30") from None


def parse_work_days(values: Iterable[str]) -> tuple[int, ...]:
    try:
        days = sorted({int(value) for value in values})
    except ValueError:
        raise ValidationError("work days are numbered 1 (Monday) to 7 (Sunday)") from None
    if not days:
        raise ValidationError("pick at least one work day: your plan is delivered on work days only")
    if days[0] < 1 or days[-1] > 7:
        raise ValidationError("work days are numbered 1 (Monday) to 7 (Sunday)")
    return tuple(days)


def update_preferences(
    session: Session, *, user: User, delivery_time: time, email: bool, slack: bool, work_days: Iterable[int]
) -> Preferences:
    """Save the preferences page. ``slack`` is ignored for a user who is not linked to Slack."""
    days = parse_work_days(str(day) for day in work_days)
    settings = get_settings_for(session, user)
    settings.delivery_time = delivery_time.replace(second=0, microsecond=0)
    settings.work_days = list(days)
    if slack_available(session, user=user):
        settings.slack_enabled = slack
    if email and not email_is_on(settings):
        settings.email_enabled, settings.email_unsubscribed_at = True, None
    elif not email:
        settings.email_enabled = False
    session.flush()
    return get_preferences(session, user=user)
