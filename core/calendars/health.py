"""What every channel says of a user's calendars: each connection's health, and the way out offered
for each kind, so that App Home and the email preferences page never disagree.

* **Health** in words a person reads, never the status's own word ("error"): connected, could not be
  read (the last read failed, for a reason that may pass), needs reconnecting (expired: the grant or
  the address is gone), off; then when it was last read well, in the user's own time.
* **The way out** for each kind this server offers (:func:`core.calendars.service.offered`):
  Connect <calendar> when it is not connected; when its connection cannot be used as it is (expired,
  in error, or hiding guests while call detection is on), Reconnect <calendar> for Google or Outlook
  (signing in again) and Replace address for an iCal address (its form, for the new address);
  nothing for a connection that needs nothing.
* **Guests hidden**: a calendar whose grant shows only when the user is busy, while call detection is
  on, is told to be connected again only when this server offers its kind (each channel says how:
  its button, its command); of any other, the channel says that its calls with leads are not found
  in it (:func:`hiding_guests`), so no channel sends the user to a button or command it lacks.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.calendars.service import NAMES
from core.clock import local_today, zone
from core.models import CalendarConnection, CalendarConnectionStatus, CalendarProvider
from core.text import short_date_from

HEALTH = {CalendarConnectionStatus.ACTIVE: "connected", CalendarConnectionStatus.ERROR: "could not be read",
          CalendarConnectionStatus.EXPIRED: "needs reconnecting", CalendarConnectionStatus.DISCONNECTED: "off"}


def health_of(connection: CalendarConnection, *, timezone: str) -> str:
    """``could not be read, last read Wed 25 Nov 07:30``: the connection's health, and when it was
    last read well in ``timezone`` (with the year once that is months away)."""
    health = HEALTH[connection.status]
    if connection.last_sync_at is None:
        return health
    read = connection.last_sync_at.astimezone(zone(timezone))
    return f"{health}, last read {short_date_from(read.date(), today=local_today(timezone))} {read:%H:%M}"


def ways_out(connections: Sequence[CalendarConnection], offered: Sequence[CalendarProvider], *,
             call_detection: bool) -> list[tuple[CalendarProvider, str]]:
    """``(kind, label)`` of each button to offer (module rules), in the order of ``offered``."""
    connected = {connection.provider: connection for connection in connections}
    return [(kind, _label(kind, connected.get(kind))) for kind in offered
            if _needs_connecting(connected.get(kind), call_detection=call_detection)]


def _needs_connecting(connection: CalendarConnection | None, *, call_detection: bool) -> bool:
    return connection is None or connection.status in (CalendarConnectionStatus.EXPIRED,
                                                        CalendarConnectionStatus.ERROR) or (
        call_detection and not connection.reads_events)


def _label(kind: CalendarProvider, connection: CalendarConnection | None) -> str:
    if connection is None:
        return f"Connect {NAMES[kind]}"
    return "Replace address" if kind == CalendarProvider.ICS else f"Reconnect {NAMES[kind]}"


def hiding_guests(kinds: Sequence[CalendarProvider], offered: Sequence[CalendarProvider]
                  ) -> tuple[list[CalendarProvider], list[str]]:
    """Of ``kinds``, calendars hiding their guests while call detection is on (module rules): those to
    connect again, which this server offers, and the sentence said of each other one."""
    return [kind for kind in kinds if kind in offered], [
        f"{NAMES[kind]} shows only when you are busy, not who attends your events, and this server is not set "
        "up to connect it again: your calls with leads are not found in it." for kind in kinds if kind not in offered]
