"""Delivering a user's plan or weekly summary by email: what the jobs' senders compose, and send.

:func:`digest_email_building_plan_if_missing` and :func:`summary_email_building_if_missing` compose
a message inside the caller's unit of work, building the plan or the summary when there is none yet
(``nbm digest preview`` only looks at the message). The jobs' senders (:func:`plan_sender`,
:func:`summary_sender`; ``nbm digest send`` and ``nbm summary send`` run the same jobs' deliveries)
compose in the job's unit of work, in the user's context, and what they return sends once it has
committed (``core.jobs.attempts``): a failure to send never rolls back a plan that was built, and a
rolled-back plan is never mailed. The Message-ID is derived from the delivery's id, so a retry after
a crash re-sends the same message rather than a second one. A notice (a calendar to reconnect,
:func:`calendar_expired_email`; billing, ``bot.email.billing``) composes in the user's own unit of
work and sends after it commits.

Rules chosen: a user whose email is off (switched off, or unsubscribed) is refused rather than
mailed, whoever asks, by one check (:func:`require_email_on`): unsubscribing must hold even against
a retried job or an operator's command. It raises :class:`core.jobs.channels.ChannelOff`: to a job,
a delivery not owed, whose claim is given back with nothing recorded (``core.jobs.tasks``), so the
email goes out if the user turns email back on while it is still owed; ``nbm digest send`` and
``nbm summary send`` make the same check before they claim the delivery. A message that cannot be
built (Python refuses a header holding a line break, as a user's name written before names were
checked may) is refused with a :class:`core.errors.ValidationError` saying why: building it again
gives the same answer, so the job fails it for good rather than retrying it, and
``nbm digest send`` says so in a sentence. A send failure raises
:class:`bot.email.backends.SendFailed` (``temporary`` says whether trying later may help);
:func:`plan_sender` and :func:`summary_sender` translate both into the jobs' delivery errors.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from bot.email.backends import SendFailed, get_backend
from bot.email.links import EmailLinks
from bot.email.messages import OutgoingEmail, message_id_for, write_message
from bot.email.render import RenderedEmail, render_calendar_expired, render_digest, render_weekly_summary
from core.calendars import service as calendars
from core.clock import local_today
from core.config import get_settings
from core.db import unit_of_work
from core.errors import ValidationError
from core.jobs.channels import ChannelOff, PermanentDeliveryError, Send, TemporaryDeliveryError
from core.models import CalendarConnection, CalendarProvider, User
from core.names import ACCEPTED
from core.planner.view import plan_view_building_if_missing
from core.preferences import email_is_on
from core.summaries.service import build_weekly_summary
from core.users import get_settings_for, get_user

#: Composes one user's email inside their unit of work: (what was rendered, the message to send).
Compose = Callable[[Session, User], tuple[RenderedEmail, OutgoingEmail]]


def digest_email_building_plan_if_missing(
    session: Session, *, user: User, day: date | None = None, delivery_id: uuid.UUID | None = None
) -> tuple[RenderedEmail, OutgoingEmail]:
    """Today's (or ``day``'s) digest for ``user``, building the plan if there is none yet."""
    return _compose(user, delivery_id, lambda links: render_digest(
        plan_view_building_if_missing(session, user=user, day=day), links=links))


def summary_email_building_if_missing(
    session: Session, *, user: User, week_start: date, delivery_id: uuid.UUID | None = None
) -> tuple[RenderedEmail, OutgoingEmail]:
    """The weekly summary of the week starting ``week_start``, built if there is none yet."""
    return _compose(user, delivery_id, lambda links: render_weekly_summary(
        build_weekly_summary(session, user=user, week_start=week_start), user_name=user.name,
        today=local_today(user.timezone), links=links))



def calendar_expired_email(user_id: uuid.UUID, provider: CalendarProvider) -> bool:
    """Tell ``user_id`` by email that their ``provider`` calendar needs reconnecting (a
    ``core.calendars.notices`` listener); False when their email is off, so no one was told here."""
    def compose(session: Session, user: User) -> tuple[RenderedEmail, OutgoingEmail]:
        connection = session.scalars(select(CalendarConnection).where(
            CalendarConnection.user_id == user.id, CalendarConnection.provider == provider)).first()
        reason = (connection.error_message if connection else None) or "the calendar refused the connection"
        return _compose(user, None, lambda links: render_calendar_expired(
            calendar=calendars.NAMES[provider], reason=reason, user_id=user.id, links=links))

    try:
        _deliver(user_id, compose)
    except ValidationError:
        return False
    return True


def plan_sender(session: Session, *, user_id: uuid.UUID, period: date, delivery_id: uuid.UUID) -> Send:
    """The email sender of the morning delivery job (a ``core.jobs.channels.Sender``)."""
    return _for_jobs(session, user_id, lambda user: digest_email_building_plan_if_missing(
        session, user=user, day=period, delivery_id=delivery_id))


def summary_sender(session: Session, *, user_id: uuid.UUID, period: date, delivery_id: uuid.UUID) -> Send:
    """The email sender of the Monday summary job; ``period`` is the summarised week's Monday."""
    return _for_jobs(session, user_id, lambda user: summary_email_building_if_missing(
        session, user=user, week_start=period, delivery_id=delivery_id))


def _for_jobs(session: Session, user_id: uuid.UUID,
              compose: Callable[[User], tuple[RenderedEmail, OutgoingEmail]]) -> Send:
    """The message composed now, and its sending: temporary failures are worth a retry; a refusal to
    compose it (email turned off, a message that cannot be built) fails for good
    (``core.jobs.attempts``)."""
    message = _composed(session, user_id, compose)
    backend = get_backend()

    def send() -> str:
        try:
            backend.send(message)
        except SendFailed as failure:
            raise (TemporaryDeliveryError if failure.temporary else PermanentDeliveryError)(str(failure)) from failure
        return message.message_id

    return send


def _deliver(user_id: uuid.UUID, compose: Compose) -> None:
    """Compose in the user's own unit of work, and send only once it has committed."""
    with unit_of_work(user_id=user_id) as session:
        message = _composed(session, user_id, lambda user: compose(session, user))
    get_backend().send(message)


def _composed(session: Session, user_id: uuid.UUID,
              compose: Callable[[User], tuple[RenderedEmail, OutgoingEmail]]) -> OutgoingEmail:
    """The message ``compose`` writes for ``user_id`` (in their context), unless their email is off."""
    # With its settings in the same read: every email reads them (is email on? the work days).
    user = session.scalars(_USER_WITH_SETTINGS, {"user_id": user_id}).first() or get_user(session, user_id)
    require_email_on(session, user)
    return compose(user)[1]


def require_email_on(session: Session, user: User) -> None:
    """Refuse (:class:`ChannelOff`) to mail ``user`` while their email is off (module rules): the
    one check of every email, run by the commands that send by hand before they claim anything."""
    if not email_is_on(get_settings_for(session, user)):
        raise ChannelOff(f"email is off for {user.email} (turned off or unsubscribed); nothing was sent")


#: Built once: every email reads its user this way.
_USER_WITH_SETTINGS = select(User).options(joinedload(User.settings)).where(User.id == bindparam("user_id"))


def _compose(
    user: User, delivery_id: uuid.UUID | None, render: Callable[[EmailLinks], RenderedEmail]
) -> tuple[RenderedEmail, OutgoingEmail]:
    """``render`` with this deployment's links, wrapped in a message to ``user``.

    Given a delivery, the Message-ID is derived from it, so every retry of that delivery is one message.
    """
    links = EmailLinks.from_settings()
    rendered = render(links)
    email_from = get_settings().email_from
    try:
        message = write_message(
            rendered, to_name=user.name, to_address=user.email, email_from=email_from,
            unsubscribe_url=links.unsubscribe_url(user_id=user.id),
            message_id=message_id_for(delivery_id, email_from=email_from) if delivery_id else None,
        )
    except ValueError as error:  # the email package refuses a header that would hold a line break
        raise ValidationError(
            f"the email to {user.email} cannot be built ({error}); nothing was sent. Its To: header carries "
            f"the user's name, and {ACCEPTED}"
        ) from error
    return rendered, message
