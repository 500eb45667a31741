"""Calls found in the calendar, every hour: one job per user with service who has call detection on.

The hourly housekeeping job (``core.jobs.tasks.housekeeping``) enqueues :func:`search_calls` for
each of :func:`users_searching`, under the id ``calls-<user>-<YYYYmmddHH>`` so two schedulers enqueue
it once; the search itself is idempotent (``core.calendars.call_detection``: one call per event), so
a retried job changes nothing twice. The job asks for service again when it runs: it may have ended
since the search was queued.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.access import has_service, has_service_sql
from core.db import unit_of_work
from core.models import CalendarConnection, Channel, User, UserSettings
from core.planner.replan import find_calls_and_replan


def users_searching(session: Session) -> list[uuid.UUID]:
    """Users with service (the scheduler's one check), call detection on and a calendar whose grant
    shows attendees (service context). A user without service gets no plan to put the calls' actions
    in, so their calendar is not read either."""
    return list(session.scalars(
        select(User.id).join(UserSettings, UserSettings.user_id == User.id)
        .where(UserSettings.call_detection, select(CalendarConnection.id).where(
            CalendarConnection.user_id == User.id, CalendarConnection.reads_events).exists(),
            text(has_service_sql(User.__tablename__)))
        .order_by(User.id)))


def search_calls(user_id: str) -> str:
    """The job: search one user's calendars for calls (in the user's own unit of work), today's plan
    refreshed when the search made something due today or removed an item of it (``core.planner.replan``).

    Service is asked again as the job runs (:func:`core.access.has_service`, the scheduler's rule): a
    search queued while the user had service may run after it ended (a trial ending within the hour,
    a subscription cancelled meanwhile), and then, as for a user never queued, no calendar is read."""
    with unit_of_work(user_id=uuid.UUID(user_id)) as session:
        user = session.get(User, uuid.UUID(user_id))
        if user is None:
            return "user deleted"
        if not has_service(session, user.id):
            return "no service"
        return repr(find_calls_and_replan(session, user=user, channel=Channel.SYSTEM))
