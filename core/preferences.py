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
from core.jobs.channels import registered_channels
from core.models import CalendarConnection, CalendarProvider, Channel, SlackUserLink, User, UserSettings
from core.streaks import refresh_streak
from core.users import get_settings_for


@dataclass(frozen=True)
class Preferences:
    delivery_time: time
    email: bool
    slack: bool
    work_days: tuple[int, ...]
    slack_available: bool
    timezone: str
    working_hours: tuple[time, time]
    call_detection: bool


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


def gets_morning_plan(session: Session, *, user: User) -> bool:
    """Whether the morning run makes ``user`` a plan, by the rule of ``core.jobs.schedule``: it makes one
    only to deliver it, by email while email is on, in Slack while Slack is on and the user is linked
    to Slack, each where this server delivers on it (``core.jobs.channels``)."""
    settings, delivered = get_settings_for(session, user), registered_channels()
    return ((email_is_on(settings) and Channel.EMAIL in delivered)
            or (settings.slack_enabled and Channel.SLACK in delivered and slack_available(session, user=user)))


def get_preferences(session: Session, *, user: User) -> Preferences:
    settings = get_settings_for(session, user)
    return Preferences(
        delivery_time=settings.delivery_time, email=email_is_on(settings), slack=settings.slack_enabled,
        work_days=tuple(sorted(settings.work_days)), slack_available=slack_available(session, user=user),
        timezone=user.timezone, working_hours=(settings.working_hours_start, settings.working_hours_end),
        call_detection=settings.call_detection,
    )


def parse_delivery_time(text: str) -> time:
    try:
        hours, minutes = (int(part) for part in text.strip().split(":"))
        return time(hours, minutes)
    except ValueError:
        raise ValidationError(f"{text.strip()[:20]!r} is not a time of day; use HH:MM, like 07:30") from None


def parse_working_hours(text: str) -> tuple[time, time]:
    """``"09:00-17:00"`` → (09:00, 17:00): the span of a working day, start before end, on one day."""
    start, sep, end = text.strip().partition("-")
    if not sep:
        raise ValidationError(f"{text.strip()[:20]!r} is not a span of hours; use HH:MM-HH:MM, like 09:00-17:00")
    hours = parse_delivery_time(start), parse_delivery_time(end)
    if hours[0] >= hours[1]:
        raise ValidationError(f"working hours must start before they end, on the same day; {text.strip()[:20]!r} "
                              "does not (use HH:MM-HH:MM, like 09:00-17:00)")
    return hours


def set_working_hours(session: Session, *, user: User, start: time, end: time) -> None:
    """The hours whose free time sizes the plan (``core.calendars.freetime``)."""
    if start >= end:
        raise ValidationError("working hours must start before they end, on the same day")
    settings = get_settings_for(session, user)
    settings.working_hours_start, settings.working_hours_end = start, end
    session.flush()


def set_call_detection(session: Session, *, user: User, on: bool) -> tuple[CalendarProvider, ...]:
    """Turn call detection on or off (``core.calendars.call_detection``); the connected calendars whose
    grant does not show who attends events, which must be connected again for it to read them."""
    get_settings_for(session, user).call_detection = on
    session.flush()
    if not on:
        return ()
    return tuple(session.scalars(select(CalendarConnection.provider).where(
        CalendarConnection.user_id == user.id, CalendarConnection.reads_events.is_(False))
        .order_by(CalendarConnection.provider)))


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
    session: Session, *, user: User, delivery_time: time, email: bool, slack: bool, work_days: Iterable[int],
    working_hours: tuple[time, time] | None = None, call_detection: bool | None = None,
) -> Preferences:
    """Save the preferences page (or Slack's settings). ``slack`` is ignored for a user who is not
    linked to Slack; ``working_hours`` and ``call_detection`` None leave them as they are."""
    days = parse_work_days(str(day) for day in work_days)
    if working_hours is not None:
        set_working_hours(session, user=user, start=working_hours[0], end=working_hours[1])
    if call_detection is not None:
        set_call_detection(session, user=user, on=call_detection)
    settings = get_settings_for(session, user)
    settings.delivery_time = delivery_time.replace(second=0, microsecond=0)
    work_days_changed = set(settings.work_days) != set(days)
    settings.work_days = list(days)
    if slack_available(session, user=user):
        settings.slack_enabled = slack
    if email and not email_is_on(settings):
        settings.email_enabled, settings.email_unsubscribed_at = True, None
    elif not email:
        settings.email_enabled = False
    session.flush()
    if work_days_changed:  # which days may go without a completion: the run may be longer or shorter now
        refresh_streak(session, user=user)
    return get_preferences(session, user=user)
