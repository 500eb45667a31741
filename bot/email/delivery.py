"""Delivering a user's plan or weekly summary by email; the jobs call these, and so does ``nbm digest``.

Each function reads what it needs in its own unit of work, commits, and only then sends: a failure
to send never rolls back a plan that was built, and a rolled-back plan is never mailed. It returns
the Message-ID so the caller can record the delivery; given the delivery's id, the Message-ID is
derived from it, so a retry after a crash re-sends the same message rather than a second one.

Rules chosen: a user whose email is off (switched off, or unsubscribed) is refused with a
:class:`core.errors.ValidationError` rather than mailed, whoever asks: unsubscribing must hold even
against a retried job or an operator's command. A send failure raises
:class:`bot.email.backends.SendFailed` (``temporary`` says whether trying later may help);
:func:`plan_sender` and :func:`summary_sender` translate both into the jobs' delivery errors.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from email.message import EmailMessage

from sqlalchemy.orm import Session

from bot.email.backends import EmailBackend, SendFailed, get_backend
from bot.email.links import EmailLinks
from bot.email.messages import build_message, message_id_for
from core.preferences import email_is_on
from bot.email.render import RenderedEmail, render_digest, render_weekly_summary
from core.config import get_settings
from core.db import unit_of_work
from core.errors import ValidationError
from core.jobs.channels import PermanentDeliveryError, TemporaryDeliveryError
from core.models import User
from core.planner.view import build_plan_view
from core.summaries.service import build_weekly_summary
from core.users import get_settings_for, get_user


def digest_email(
    session: Session, *, user: User, day: date | None = None, delivery_id: uuid.UUID | None = None
) -> tuple[RenderedEmail, EmailMessage]:
    """Today's (or ``day``'s) digest for ``user``, building the plan if there is none yet."""
    links = EmailLinks.from_settings()
    rendered = render_digest(build_plan_view(session, user=user, day=day), links=links)
    return rendered, _message(user, rendered, links, delivery_id)


def summary_email(
    session: Session, *, user: User, week_start: date, delivery_id: uuid.UUID | None = None
) -> tuple[RenderedEmail, EmailMessage]:
    """The weekly summary of the week starting ``week_start``, built if there is none yet."""
    links = EmailLinks.from_settings()
    summary = build_weekly_summary(session, user=user, week_start=week_start)
    rendered = render_weekly_summary(summary, user_name=user.name, links=links)
    return rendered, _message(user, rendered, links, delivery_id)


def send_plan_email(
    user_id: uuid.UUID,
    day: date | None = None,
    *,
    delivery_id: uuid.UUID | None = None,
    backend: EmailBackend | None = None,
) -> str:
    """Email ``user_id`` their plan for ``day`` (default: their local today); returns the Message-ID."""
    with unit_of_work(user_id=user_id) as session:
        user = _recipient(session, user_id)
        _, message = digest_email(session, user=user, day=day, delivery_id=delivery_id)
    return _send(message, backend)


def send_summary_email(
    user_id: uuid.UUID,
    week_start: date,
    *,
    delivery_id: uuid.UUID | None = None,
    backend: EmailBackend | None = None,
) -> str:
    """Email ``user_id`` the summary of the week starting ``week_start``; returns the Message-ID."""
    with unit_of_work(user_id=user_id) as session:
        user = _recipient(session, user_id)
        _, message = summary_email(session, user=user, week_start=week_start, delivery_id=delivery_id)
    return _send(message, backend)


def plan_sender(*, user_id: uuid.UUID, period: date, delivery_id: uuid.UUID) -> str:
    """The email sender of the morning delivery job (a ``core.jobs.channels.Sender``)."""
    return _for_jobs(lambda: send_plan_email(user_id, period, delivery_id=delivery_id))


def summary_sender(*, user_id: uuid.UUID, period: date, delivery_id: uuid.UUID) -> str:
    """The email sender of the Monday summary job; ``period`` is the summarised week's Monday."""
    return _for_jobs(lambda: send_summary_email(user_id, period, delivery_id=delivery_id))


def _for_jobs(send: Callable[[], str]) -> str:
    """Temporary failures are worth a retry; email turned off or a refused message are not."""
    try:
        return send()
    except SendFailed as failure:
        raise (TemporaryDeliveryError if failure.temporary else PermanentDeliveryError)(str(failure)) from failure
    except ValidationError as refused:
        raise PermanentDeliveryError(str(refused)) from refused


def _recipient(session: Session, user_id: uuid.UUID) -> User:
    user = get_user(session, user_id)
    if not email_is_on(get_settings_for(session, user)):
        raise ValidationError(f"email is off for {user.email} (turned off or unsubscribed); nothing was sent")
    return user


def _message(user: User, rendered: RenderedEmail, links: EmailLinks, delivery_id: uuid.UUID | None) -> EmailMessage:
    email_from = get_settings().email_from
    return build_message(
        rendered, to_name=user.name, to_address=user.email, email_from=email_from,
        unsubscribe_url=links.unsubscribe_url(user_id=user.id),
        message_id=message_id_for(delivery_id, email_from=email_from) if delivery_id else None,
    )


def _send(message: EmailMessage, backend: EmailBackend | None) -> str:
    (backend or get_backend()).send(message)
    return str(message["Message-ID"])
