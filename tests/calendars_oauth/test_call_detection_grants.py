"""Call detection with Google and Outlook: the wider grant asked for only when the user turned it on,
whether it was granted, and meetings read from each provider's events (answered without a network)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
import responses
import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import preferences
from core.calendars import outlook
from core.calendars import service as calendar_service
from core.calendars.google import EVENTS_SCOPE, FREEBUSY_SCOPE
from core.calendars.outlook import OutlookProvider
from core.calendars.providers import Meeting
from core.config import Settings
from core.models import CalendarProvider, OAuthFlowState, User
from tests.calendars_oauth.test_google import finish, fresh_connection, provider_with, query_of, token_answer
from tests.calendars_oauth.test_outlook import Microsoft, calendar_view, connect
from tests.factories import make_user

pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended")

START, END = datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC)


def test_google_asks_to_read_events_only_with_call_detection_on(
    service: Session, settings: Settings, mocked: responses.RequestsMock, clock: time_machine.Traveller,
) -> None:
    user = make_user(service)
    plain = query_of(service_oauth(service, user, settings, CalendarProvider.GOOGLE))
    assert plain["scope"] == FREEBUSY_SCOPE
    assert preferences.set_call_detection(service, user=user, on=True) == ()

    wide = query_of(service_oauth(service, user, settings, CalendarProvider.GOOGLE))
    assert wide["scope"].split() == [FREEBUSY_SCOPE, EVENTS_SCOPE]
    both = f"{FREEBUSY_SCOPE} {EVENTS_SCOPE}"
    assert finish(service, settings, mocked, wide["state"], token_answer(scope=both)).reads_events

    narrow = query_of(service_oauth(service, user, settings, CalendarProvider.GOOGLE))
    connection = finish(service, settings, mocked, narrow["state"], token_answer(scope=FREEBUSY_SCOPE))
    assert not connection.reads_events  # the guests box was unticked: connected for free time only
    assert preferences.set_call_detection(service, user=user, on=True) == (CalendarProvider.GOOGLE,)


def test_google_meetings_come_from_events_with_guests_page_by_page(
    service: Session, settings: Settings, mocked: responses.RequestsMock, clock: time_machine.Traveller,
) -> None:
    connection = fresh_connection(service, make_user(service))
    me = {"email": "ada@example.com", "self": True, "responseStatus": "accepted"}
    first = {"items": [
        {"id": "e1", "status": "confirmed", "start": {"dateTime": "2026-03-03T10:00:00+01:00"},
         "attendees": [me, {"email": "Ann@Acme.io", "responseStatus": "needsAction"}]},
        {"id": "e2", "status": "confirmed", "start": {"date": "2026-03-04"}, "attendees": [me, {"email": "b@x.io"}]},
        {"id": "e3", "status": "confirmed", "start": {"dateTime": "2026-03-04T09:00:00Z"},
         "attendees": [{**me, "responseStatus": "declined"}, {"email": "c@x.io"}]},
        {"id": "e4", "status": "confirmed", "start": {"dateTime": "2026-03-04T11:00:00Z"}},  # alone
    ], "nextPageToken": "page-2"}
    second = {"items": [
        {"id": "e5", "status": "confirmed", "start": {"dateTime": "2026-03-05T15:00:00Z"},
         "organizer": {"email": "bob@ray.dev"}, "attendees": [me]},
        {"id": "e6", "status": "cancelled", "start": {"dateTime": "2026-03-06T15:00:00Z"},
         "attendees": [me, {"email": "d@x.io"}]},
    ]}
    answers = [({"status": "200", "content-type": "application/json"}, json.dumps(page)) for page in (first, second)]
    provider, http = provider_with(settings, *answers)

    found = provider.meetings(connection, start=START, end=END, timeout=5)

    assert found == [Meeting("e1", datetime(2026, 3, 3, 9, tzinfo=UTC), frozenset({"ann@acme.io"})),
                     Meeting("e5", datetime(2026, 3, 5, 15, tzinfo=UTC), frozenset({"bob@ray.dev"}))]
    (uri1, method, _, headers), (uri2, _, _, _) = http.request_sequence
    assert (method, urlsplit(uri1).path) == ("GET", "/calendar/v3/calendars/primary/events")
    asked = query_of(uri1)
    assert (asked["singleEvents"], asked["orderBy"], asked["timeMin"]) == ("true", "startTime", "2026-03-02T00:00:00Z")
    assert "summary" not in asked["fields"] and "description" not in asked["fields"]
    assert query_of(uri2)["pageToken"] == "page-2"
    assert headers["authorization"] == "Bearer ya29.current-access"


def test_outlook_asks_for_calendars_read_with_call_detection_on_and_reads_attendees(
    service: Session, settings: Settings, mocked: responses.RequestsMock, clock: time_machine.Traveller,
) -> None:
    microsoft = Microsoft(mocked, settings)
    user = make_user(service)
    preferences.set_call_detection(service, user=user, on=True)
    asked = query_of(service_oauth(service, user, settings, CalendarProvider.OUTLOOK))
    assert "Calendars.Read" in asked["scope"].split() and "Calendars.ReadBasic" not in asked["scope"].split()
    microsoft.scope = "Calendars.Read User.Read openid profile"
    connection = connect(service, settings, microsoft, user)
    assert connection.reads_events

    def meeting(event_id: str, start: str, **fields: Any) -> dict[str, Any]:
        return {"id": event_id, "start": {"dateTime": f"2026-03-0{start}:00.0000000", "timeZone": "UTC"},
                "isCancelled": False, "isAllDay": False, "isOrganizer": True,
                "responseStatus": {"response": "organizer"}, **fields}

    seen = calendar_view(mocked, {"value": [
        meeting("o1", "3T10:00", attendees=[{"emailAddress": {"address": "Ann@Acme.io"}}]),
        meeting("o2", "4T10:00", attendees=[{"emailAddress": {"address": "b@x.io"}}], isCancelled=True),
        meeting("o3", "4T11:00", attendees=[{"emailAddress": {"address": "c@x.io"}}],
                responseStatus={"response": "declined"}, isOrganizer=False, organizer={"emailAddress": {}}),
        meeting("o4", "5T09:00", isOrganizer=False, organizer={"emailAddress": {"address": "bob@ray.dev"}},
                responseStatus={"response": "accepted"}),
        meeting("o5", "6T00:00", isAllDay=True, attendees=[{"emailAddress": {"address": "e@x.io"}}]),
    ]})

    found = OutlookProvider(settings=settings).meetings(connection, start=START, end=END, timeout=5)

    assert found == [Meeting("o1", datetime(2026, 3, 3, 10, tzinfo=UTC), frozenset({"ann@acme.io"})),
                     Meeting("o4", datetime(2026, 3, 5, 9, tzinfo=UTC), frozenset({"bob@ray.dev"}))]
    [request] = seen
    assert query_of(request.url)["$select"] == outlook.MEETING_FIELDS
    assert "subject" not in outlook.MEETING_FIELDS and "body" not in outlook.MEETING_FIELDS


def service_oauth(session: Session, user: User, settings: Settings, kind: CalendarProvider) -> str:
    """The provider's consent page behind the connect link ``oauth_start`` hands out."""
    link = calendar_service.oauth_start(session, user=user, kind=kind, settings=settings)
    prefix = f"{settings.base_url}/calendar/connect/"
    assert link.startswith(prefix)
    flow = session.scalars(select(OAuthFlowState).where(OAuthFlowState.state == link.removeprefix(prefix))).one()
    sign_in: str = json.loads(flow.payload.reveal())["sign_in"]
    return sign_in

