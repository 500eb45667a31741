"""Users: creating them, finding them, and their settings.

Email is matched without regard to case and stored as given. Creating a user also creates their
settings row with the product's defaults (delivery 07:30, Mon–Fri, 09:00–17:00, email on).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.billing.trial import on_user_created
from core.clock import zone
from core.db import unit_of_work
from core.errors import NotFound, ValidationError
from core.models import User, UserSettings
from core.models.users import DEFAULT_TIMEZONE
from core.names import UNSAFE, validate_name
from core.streaks import refresh_streak

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def validate_email(email: str) -> str:
    """``email`` trimmed, or a refusal; control characters are refused, as in a name (core.names)."""
    email = email.strip()
    if len(email) > 254 or not _EMAIL.match(email) or UNSAFE.search(email):
        raise ValidationError(f"{email[:80]!r} is not an email address; use the form name@example.com")
    return email


#: Whether the database's own timezone data has ``:name`` (a set-returning view: read on demand).
_DATABASE_KNOWS = text("SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = :name)")


def database_knows(session: Session, timezone: str) -> bool:
    """Whether the database reads ``timezone`` too.

    The user's dates are computed in SQL as well as in Python (the morning's schedule, streaks,
    snoozes), and the two read their own timezone data, which need not be of the same year: the
    embedded PostgreSQL's is older than Python's ``tzdata`` (it lacks ``America/Coyhaique``, a zone
    since 2025), and a managed server updates on its own schedule. A name the database does not know
    makes every statement that reads it fail, the scheduler's one statement for every user included,
    so no such name is ever stored."""
    return bool(session.scalar(_DATABASE_KNOWS, {"name": timezone}))


def check_timezone(session: Session, timezone: str) -> str:
    """``timezone`` stripped, when :func:`core.clock.zone` accepts it and the database knows it
    (:func:`database_knows`); else a refusal saying what to use."""
    timezone = timezone.strip()
    zone(timezone)
    if not database_knows(session, timezone):
        raise ValidationError(f"{timezone[:60]!r} is a timezone this server's database does not know yet (its "
                              "timezone data is older than the app's); use a nearby place whose clock is the same")
    return timezone


def create_user(
    session: Session, *, email: str, name: str, timezone: str = DEFAULT_TIMEZONE, slack: bool = False
) -> User:
    """Create a user and their default settings (service context). ``slack`` turns the Slack DM on."""
    email = validate_email(email)
    name = validate_name(name)
    timezone = check_timezone(session, timezone)
    if find_user_by_email(session, email) is not None:
        raise ValidationError(f"a user with the email {email} already exists")
    user = User(id=uuid.uuid4(), email=email, name=name, timezone=timezone)
    session.add(user)
    session.flush()
    session.add(UserSettings(user_id=user.id, slack_enabled=slack))
    session.flush()
    on_user_created(session, user_id=user.id)  # with billing on, their Stripe trial starts after the commit
    return user


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def get_user_by_email(session: Session, email: str) -> User:
    user = find_user_by_email(session, email)
    if user is None:
        raise NotFound(f"no user with the email {email.strip()!r}; add one with `nbm users add`")
    return user


def get_user(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("that user does not exist")
    return user


@contextmanager
def acting_as_user(user_id: uuid.UUID) -> Iterator[tuple[Session, User]]:
    """One unit of work in the user's own RLS context, with the user loaded: whatever a forged
    button value or link names, the request can only see and change that person's rows."""
    with unit_of_work(user_id=user_id) as session:
        yield session, get_user(session, user_id)


def set_timezone(session: Session, *, user: User, timezone: str) -> None:
    """Move the user to another IANA timezone: from then on their "today", morning and streak follow it."""
    timezone = check_timezone(session, timezone)
    if user.timezone == timezone:
        return
    user.timezone = timezone
    session.flush()
    # Completions are dated in the user's timezone: their days, and so the streak, may move.
    refresh_streak(session, user=user)


def get_settings_for(session: Session, user: User) -> UserSettings:
    """The user's settings row (created with defaults if an older user has none)."""
    settings = session.get(UserSettings, user.id)
    if settings is None:
        settings = UserSettings(user_id=user.id)
        session.add(settings)
        session.flush()
    return settings
