"""Helpers shared by the ``nbm`` subcommands: acting as a user named by email, a lead named by its id,
link or name, dates, and output."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, time
from typing import Any

import click
from sqlalchemy.orm import Session

from core import embedded
from core.billing.status import NoService
from core.config import get_settings
from core.db import get_engine, unit_of_work
from core.errors import NbmError
from core.health import refuse_role_bypassing_rls
from core.lead_lookup import find_lead
from core.leads import get_lead
from core.models import Lead, User
from core.planner.sizing import CalendarDay, Check, planning_as_user
from core.users import acting_as_user, get_user_by_email


def announce_engines() -> None:
    """Say plainly, on stderr, which PostgreSQL and Redis this process uses."""
    for line in embedded.describe(get_settings()):
        click.echo(f"nbm: {line}", err=True)


def start_serving() -> None:
    """What ``nbm web``, ``nbm worker`` and ``nbm cron`` do first: say which engines they use and, in
    production, refuse a database role that escapes row-level security (core.health)."""
    announce_engines()
    refuse_role_bypassing_rls(get_settings(), get_engine())


def user_id_for_email(email: str) -> uuid.UUID:
    """The id of the user with this email (the lookup needs the service context, so it is a
    transaction of its own)."""
    with unit_of_work(service=True) as session:
        return get_user_by_email(session, email).id


@contextmanager
def acting_as_email(email: str) -> Iterator[tuple[Session, User]]:
    """:func:`core.users.acting_as_user` the user with this email."""
    with acting_as_user(user_id_for_email(email)) as acting:
        yield acting


@contextmanager
def saying_how_to_subscribe(email: str) -> Iterator[None]:
    """Refuse what a user without service asked for (core.billing.status.NoService: a plan, a weekly
    summary) as every command does: exit 2 with the user's sentence and the ``nbm billing`` command
    that prints their way back (Checkout, or the Billing Portal for a subscriber)."""
    try:
        yield
    except NoService as refused:
        way = ("checkout", "Stripe Checkout address to subscribe") if refused.status.can_subscribe \
            else ("portal", "Billing Portal address")
        raise NbmError(f"{refused} `nbm billing {way[0]} --user {email}` prints their {way[1]}.") from None


@contextmanager
def planning_as_email(email: str, *, day: date | None = None,
                      check: Check | None = None) -> Iterator[tuple[Session, User, CalendarDay | None]]:
    """:func:`core.planner.sizing.planning_as_user` the user with this email: for a command that may
    make the plan of ``day`` (default today), whose calendars are then read first, once ``check`` (what
    the command can refuse without the plan) has passed."""
    with planning_as_user(user_id_for_email(email), day=day, check=check) as planning:
        yield planning


#: What a LEAD argument accepts (read by :func:`lead_for`), for the epilog of each command's help.
LEAD_HELP = ("LEAD is the lead's id, link or name (`nbm leads list` shows them); a link tells apart two "
             "leads of the same name.")


def lead_for(session: Session, user: User, ref: str) -> Lead:
    """The user's lead ``ref`` names: an id (what ``nbm leads list`` prints first), else a link or a name
    as :func:`core.lead_lookup.find_lead` reads them, so the terminal names a lead as Slack does."""
    try:
        lead_id = uuid.UUID(ref)
    except ValueError:
        return find_lead(session, user=user, ref=ref, listed_by="`nbm leads list`",
                         also="the id `nbm leads list` shows")
    return get_lead(session, user=user, lead_id=lead_id)


#: The dates the ``nbm`` command accepts, in every date option (and the date of ``nbm morning --now``).
#: Python's calendar ends at years 1 and 9999, and the product works a little way either side of any
#: date it is given (the week before a plan's day, the Monday after a summary's week, local midnight
#: in UTC), so a date near either end ended in an OverflowError traceback, after a plan or a summary
#: had been started. No follow-up, plan or week of this product falls before 2000, and 2099 leaves
#: decades of room ahead; fixed years also give a message that does not change with today's date.
#: Narrower rules stay where they belong (a snooze: after today and within a year, core.actions.snooze).
FIRST_DATE, LAST_DATE = date(2000, 1, 1), date(2099, 12, 31)


def date_refused(day: date, written: object) -> str | None:
    """Why ``day`` (``written`` so on the command line) is refused, saying what is accepted; None if it is not."""
    if FIRST_DATE <= day <= LAST_DATE:
        return None
    return f"{str(written)!r} is outside the dates NextBestMove handles; use a date from {FIRST_DATE} to {LAST_DATE}"


class LocalDate(click.ParamType):
    """A calendar date written YYYY-MM-DD, within the years the product handles (:data:`FIRST_DATE`)."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            day = date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-12-01", param, ctx)
        problem = date_refused(day, value)
        if problem is not None:
            self.fail(problem, param, ctx)
        return day


DATE = LocalDate()

user_option = click.option("--user", "email", required=True, metavar="EMAIL", help="The user's email address.")
lead_argument = click.argument("lead_ref", metavar="LEAD")
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")


def emit(as_json: bool, data: Any, human: Callable[[], str]) -> None:
    """Print ``data`` as JSON, or the human-readable text ``human()`` builds."""
    click.echo(json.dumps(data, indent=2, default=_json_value) if as_json else human())


def _json_value(value: object) -> str:
    """What ``--json`` writes for a value JSON has no type for: a date, time or instant in ISO 8601
    (``2026-11-25``, ``2026-11-25T07:30:00+00:00``: str() puts a space where the standard, and the
    date parsers of JSON's readers, want the 'T'), anything else (an id) as its text."""
    return value.isoformat() if isinstance(value, date | time) else str(value)
