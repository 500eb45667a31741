"""What sizes the user's plans, said by the planner's own rules, in the words every channel uses.

The planner sizes a plan when it is made, and a refresh keeps that size (``core.planner.sizing``):
the free time the calendars leave in the working hours, or the ``default`` capacity when any
connection is expired (``core.calendars.service.split_expired``: such a day is not sized by the
others as if it were free); a capacity the user set for the day wins over both. So a sentence about
the size of "your plan" is true only when it says which plans it speaks of and leaves room for that
capacity. Rules chosen for the sentences:

* **The default**, wherever it is said (App Home, the preferences page, an expiry notice, a
  disconnection), is :data:`DEFAULT_CAPACITY`, which names the capacity set for a day too.
* **An expired connection** is said by :func:`needs_reconnecting`: the next plans use the default
  until it is connected again.
* **After connecting a calendar** (:func:`after_connecting`, the answer of Slack and of the sign-in
  page alike): with a connection still expired, the next plans use the default; else the calendars
  size the plans from today's, when today's plan is not made yet (it reads them when it is made),
  or from the next one, today's keeping the size it was made with.
* **Before connecting one** (:func:`before_connecting`, with the ways to connect Slack lists): an
  expired connection is said as after connecting, since that is true now and until it is connected
  again; else what sizes the plans once a calendar is connected, as after connecting.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from core.calendars.service import NAMES, list_connections, split_expired
from core.clock import local_today
from core.models import CalendarProvider, CapacityLevel, User
from core.planner.batch import existing_plans
from core.planner.capacity import ACTIONS_PER_LEVEL

#: What sizes a plan no calendar sizes, said so that it is true whatever capacity the user set.
DEFAULT_CAPACITY = (f"the default capacity of {ACTIONS_PER_LEVEL[CapacityLevel.DEFAULT]} actions a day "
                    "(or the capacity you set for a day)")
#: What a user with no calendar reads where their calendars are listed (App Home, the preferences page,
#: ``nbm calendar list``).
NO_CALENDAR = f"No calendar connected: your next plans use {DEFAULT_CAPACITY}."
#: What sizes a plan the calendars size, said as truly.
FREE_TIME = "the free time in your working hours (or the capacity you set for a day)"


def needs_reconnecting(kinds: Sequence[CalendarProvider]) -> str:
    """The sentence for expired connections of ``kinds``: what the plans use until they are connected again."""
    return (f"Your {names(kinds)} {'needs' if len(kinds) == 1 else 'need'} reconnecting, so until then "
            f"your next plans use {DEFAULT_CAPACITY}.")


def after_connecting(session: Session, *, user: User) -> str:
    """What sizes the user's plans now that a calendar of theirs is connected (module rules)."""
    expired = _expired(session, user=user)
    if expired:
        return needs_reconnecting(expired)
    said = _free_time_sizes(session, user=user)
    return f"{said[0].upper()}{said[1:]}"


def before_connecting(session: Session, *, user: User) -> str:
    """What sizes the user's plans, said to someone about to connect a calendar (module rules)."""
    expired = _expired(session, user=user)
    if expired:
        return needs_reconnecting(expired)
    return f"Once one is connected, {_free_time_sizes(session, user=user)}"


def _expired(session: Session, *, user: User) -> list[CalendarProvider]:
    """The kinds of the user's connections that do not size a plan until they are connected again."""
    connections = list_connections(session, user=user)
    readable, _ = split_expired(connections)
    return [c.provider for c in connections if c not in readable]


def _free_time_sizes(session: Session, *, user: User) -> str:
    """From which plan on the calendars size the plans (module rules), lower-case, to follow what leads to it."""
    if existing_plans(session, days={user.id: local_today(user.timezone)}):
        return (f"today's plan keeps the size it was made with; from your next plan on, {FREE_TIME} "
                "sizes your plans.")
    return f"from today's plan on, {FREE_TIME} sizes your plans."


def names(kinds: Sequence[CalendarProvider]) -> str:
    """"Google Calendar and iCal address": the kinds' names, as a person lists them."""
    said = [NAMES[kind] for kind in kinds]
    return " and ".join([", ".join(said[:-1]), said[-1]]) if len(said) > 1 else said[0]
