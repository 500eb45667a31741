"""The emails sent by hand: ``nbm digest preview``, ``nbm digest send`` and ``nbm summary send``.

``preview`` builds today's plan if there is none yet (as the morning job would; a user without service
gets none, and the refusal is ``nbm plan``'s, exit 2) and writes the HTML
part to ``--out`` with the plain-text part beside it (same name, ``.txt``), so the digest can be
opened in a browser. An ``--out`` ending in ``.txt`` is refused, since the text part would overwrite
the HTML, and so is one where either file cannot be written (bot.cli.output_files), before anything
is read or built. One that cannot be written after all (the disk filled, its folder went while the
digest was built) is said in one line naming the file and why, exit 1: the plan built for it is not
saved, and no file is left half-written or created for nothing.

``send`` mails today's digest, and ``summary send`` last week's summary (the user's Monday–Sunday),
through the configured backend (``EMAIL_BACKEND``); both are refused (exit 2) when the user's email
is off (bot.email.delivery.require_email_on, the check the job's sender makes) or the user has no
service (as ``nbm plan`` and ``nbm summary`` are, core.billing.status.NoService: the morning and
Monday jobs send nobody without service either, even a plan or a summary made before it ended),
``summary send`` also for a week that ended before the user joined (saying when their first summary
comes); all refused before the delivery is claimed, so nothing is recorded and an email owed after
they subscribe again is still sent, and a server that refuses the message is reported in a sentence
with exit code 1, not as a traceback. Each runs the scheduled job's own delivery
(core.jobs.tasks.deliver) for that day's digest or that week's summary, so the send is recorded as
that delivery: when the job sent it first, the command sends nothing and says so; when the command
sent it first, the job finds it sent. The day's digest and the week's summary are one email each,
whoever sends them. Because the command is that delivery's last try, a failure is left for the
person running it to retry (the job does not pick it up again). One that another job is sending at
that moment, or that its sender refused after all (email turned off since the check: given back as
the job gives it back, nothing recorded), is said in a sentence, exit 2.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple

import click
from sqlalchemy import select

from bot.cli.common import acting_as_email, saying_how_to_subscribe, user_option
from bot.cli.output_files import OUTPUT_FILE, NotWritten, unwritable, write_whole
from bot.email.backends import get_backend
from bot.email.delivery import digest_email_building_plan_if_missing, require_email_on
from core.billing.status import require_service
from core.clock import local_today
from core.config import get_settings
from core.db import unit_of_work
from core.errors import NbmError
from core.jobs.channels import PermanentDeliveryError, TemporaryDeliveryError
from core.jobs.tasks import deliver
from core.models import Channel, Delivery, DeliveryKind, DeliveryStatus
from core.summaries.service import summary_week
from core.text import short_date_from


@click.group("digest")
def digest_group() -> None:
    """The morning email digest."""


@digest_group.command("preview")
@user_option
@click.option("--out", "out", type=OUTPUT_FILE, default=Path("digest.html"), show_default=True,
              help="Where to write the HTML part.")
def preview_command(email: str, out: Path) -> None:
    """Render today's digest to FILE (HTML) and FILE's .txt sibling (plain text)."""
    text_path = out.with_suffix(".txt")
    if text_path == out:
        raise click.BadParameter("name the HTML file, e.g. digest.html; the text part is written beside it "
                                 "as digest.txt", param_hint="--out")
    problem = unwritable(text_path)  # --out itself was checked as it was read
    if problem is not None:
        raise click.BadParameter(f"the text part goes beside it, but {problem}", param_hint="--out")
    try:
        with saying_how_to_subscribe(email), acting_as_email(email) as (session, user):
            rendered, _ = digest_email_building_plan_if_missing(session, user=user)
            # Written before the plan is committed: a file that cannot be written after all leaves no plan behind.
            write_whole({out: rendered.html, text_path: rendered.text})
    except NotWritten as exc:  # checked writable as the options were read, but the disk filled or the folder went
        raise click.ClickException(f"the digest {exc}; today's plan is as it was: run the command again once "
                                   "it can be written") from None
    click.echo(f"Subject: {rendered.subject}")
    click.echo(f"HTML: {out}")
    click.echo(f"Text: {text_path}")


@digest_group.command("send")
@user_option
def send_command(email: str) -> None:
    """Email today's digest, unless it was sent already (by the morning job or by hand).

    It goes through the configured backend (EMAIL_BACKEND), as the morning job sends it."""
    with saying_how_to_subscribe(email), acting_as_email(email) as (session, user):
        user_id, address, timezone = user.id, user.email, user.timezone
        require_service(session, user=user)
        require_email_on(session, user)
    send_once(DeliveryKind.PLAN, user_id, local_today(timezone), timezone=timezone,
              sent=f"today's digest to {address}")


@click.command("send")
@user_option
def send_summary_command(email: str) -> None:
    """Email last week's summary, unless it was sent already (by the Monday job or by hand).

    It goes through the configured backend (EMAIL_BACKEND), as the Monday job sends it."""
    with saying_how_to_subscribe(email), acting_as_email(email) as (session, user):
        user_id, address, timezone, week = user.id, user.email, user.timezone, summary_week(user)
        require_service(session, user=user)
        require_email_on(session, user)
    send_once(DeliveryKind.WEEKLY_SUMMARY, user_id, week, timezone=timezone, sent=f"last week's summary to {address}")


def send_once(kind: DeliveryKind, user_id: uuid.UUID, period: date, *, timezone: str, sent: str) -> None:
    """Run the job's delivery of ``kind`` for ``period`` by email, unless it is recorded as sent;
    say which (``sent``: what went to whom, "today's digest to ann@example.com"; ``timezone``: the
    user's, for the day it was sent)."""
    already = sent_email(kind, user_id, period)
    if already is not None:
        sent_on = local_today(timezone, at=already.sent_at) if already.sent_at else None
        when = f" on {short_date_from(sent_on, today=local_today(timezone))}" if sent_on else ""
        click.echo(f"{sent[:1].upper()}{sent[1:]} was already sent{when}: Message-ID {already.message_id}; "
                   "nothing was sent again")
        return
    try:
        outcome = deliver(kind.value, Channel.EMAIL.value, str(user_id), period.isoformat())
    except PermanentDeliveryError as error:
        if isinstance(error.__cause__, NbmError):  # refused before sending (email off): exit 2
            raise error.__cause__ from None
        raise nothing_sent(error, temporary=False) from error
    except TemporaryDeliveryError as error:
        raise nothing_sent(error, temporary=True) from error
    recorded = sent_email(kind, user_id, period)
    if recorded is None:  # another job holds it (sending it now), or email was turned off since the check
        raise NbmError(f"{sent[:1].upper()}{sent[1:]} was not sent by this command: {outcome}")
    say_sent(f"Sent {sent}", recorded.message_id)


class SentEmail(NamedTuple):
    """An email recorded as delivered: when, and the Message-ID it was sent with."""

    sent_at: datetime | None
    message_id: str


def sent_email(kind: DeliveryKind, user_id: uuid.UUID, period: date) -> SentEmail | None:
    """The email of ``kind`` for ``period`` as recorded once sent, by its job or by hand; None if it was not."""
    with unit_of_work(user_id=user_id) as session:
        found = session.execute(select(Delivery.sent_at, Delivery.external_id).where(
            Delivery.user_id == user_id, Delivery.kind == kind, Delivery.channel == Channel.EMAIL,
            Delivery.period == period, Delivery.status == DeliveryStatus.SENT,
        )).one_or_none()
    return SentEmail(found.sent_at, found.external_id or "") if found else None


def nothing_sent(reason: Exception, *, temporary: bool) -> click.ClickException:
    """A send the server refused, said in a sentence (exit code 1) rather than a traceback."""
    later = "; it may work if you try again later" if temporary else ""
    return click.ClickException(f"nothing was sent: {reason}{later}")


def say_sent(what: str, message_id: str) -> None:
    """``what`` was sent: through which backend, where to look at it in development, its Message-ID."""
    backend = get_backend().name
    where = f" (see {get_settings().base_url}/dev/outbox)" if backend == "outbox" else ""
    click.echo(f"{what} via {backend}{where}: Message-ID {message_id}")
