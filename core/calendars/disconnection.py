"""A user disconnecting one of their own calendars, and the answer every channel gives.

Tokens and iCal addresses are the user's secrets (PRODUCT.md, "Calendars"), so a user stops the
service reading a calendar themselves: App Home's Disconnect button, ``/nbm disconnect``, the email
preferences page, and the operator for them with ``nbm calendar disconnect``. Rules chosen:

* **One implementation, one sentence.** Every channel calls :func:`disconnect_calendar` and shows
  its :attr:`Disconnected.said`. The work is :func:`core.calendars.service.disconnect`: the
  connection is deleted with its token or address (the database trigger clears
  ``users.calendar_connected``), and once that is committed the grant is revoked where the provider
  has an API for it (Google).
* **Nothing connected, nothing changed**: disconnecting a kind the user has not connected says so
  (the CLI exits with code 2).
* **The answer says what became of the grant and what sizes the plans next**, by the planner's own
  rule (:func:`core.calendars.service.split_expired`), in the words of :mod:`core.calendars.plans_sized`:
  the calendars still connected, when every one is readable; else the default capacity, since a day
  with an expired calendar is not sized by the others as if it were free (it is not read until it
  is reconnected); a capacity the user sets for a day still wins. Today's plan, if already made, is
  left as it is: a refresh keeps the free time it was made with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.calendars.plans_sized import DEFAULT_CAPACITY, names, needs_reconnecting
from core.calendars.service import NAMES, disconnect, list_connections, split_expired
from core.models import CalendarConnection, CalendarProvider, User

#: What became of the grant of each kind once disconnected (``service.disconnect`` and each provider's
#: ``revoke``): Google is asked to revoke it; Microsoft has no API for an app to withdraw consent.
GRANT_GONE = {
    CalendarProvider.GOOGLE: "NextBestMove asked Google to revoke its access, and deleted it",
    CalendarProvider.OUTLOOK: "its sign-in is deleted (Microsoft lets no app withdraw your consent: remove "
                              "NextBestMove at myapps.microsoft.com for a work or school account, or "
                              "account.live.com/consent/Manage for a personal one)",
    CalendarProvider.ICS: "the address is deleted and no longer read",
}


@dataclass(frozen=True)
class Disconnected:
    """Whether a connection was removed, and the sentence that tells the user what that means."""

    removed: bool
    said: str


def disconnect_calendar(session: Session, *, user: User, kind: CalendarProvider) -> Disconnected:
    """Disconnect the user's ``kind`` calendar through the operator's path (module rules), saying what follows."""
    if not disconnect(session, user=user, kind=kind):
        return Disconnected(False, f"Nothing to disconnect: you have no {NAMES[kind]} connected.")
    remaining = list_connections(session, user=user)
    return Disconnected(True, f"Disconnected your {NAMES[kind]}: {GRANT_GONE[kind]}. {plans_after(remaining)}")


def plans_after(remaining: Sequence[CalendarConnection]) -> str:
    """What sizes the user's next plans once ``remaining`` are the connections left: the answer after
    disconnecting, and App Home's confirmation before it (for the connections that would be left)."""
    readable, _ = split_expired(remaining)
    expired = [c.provider for c in remaining if c not in readable]
    if expired:
        return needs_reconnecting(expired)
    if readable:
        kinds = [c.provider for c in readable]
        return f"Your {names(kinds)} still {'sizes' if len(kinds) == 1 else 'size'} your next plans."
    return f"With no calendar connected, your next plans use {DEFAULT_CAPACITY}."
