"""Microsoft's identity platform and Graph as the Outlook tests fake them (``responses``): tenant
discovery, the token endpoint, the calendar view; and the helpers that connect a user through them."""

from __future__ import annotations

import json
from base64 import urlsafe_b64encode
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses
from sqlalchemy.orm import Session

from core.calendars import outlook
from core.calendars.oauth_state import new_state
from core.calendars.outlook import CALENDAR_VIEW
from core.config import Settings
from core.models import CalendarConnection, User
from tests.calendars_oauth.conftest import NOW

LOGIN = "https://login.microsoftonline.com/common"
DISCOVERY = f"{LOGIN}/v2.0/.well-known/openid-configuration"
TOKEN_ENDPOINT = f"{LOGIN}/oauth2/v2.0/token"
OPENID_CONFIGURATION = {"authorization_endpoint": f"{LOGIN}/oauth2/v2.0/authorize", "token_endpoint": TOKEN_ENDPOINT,
                        "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0"}
#: What msal asks the instance discovery for when a refresh fails (the authority's other names).
INSTANCE_DISCOVERY = {"tenant_discovery_endpoint": DISCOVERY, "api-version": "1.1", "metadata": [
    {"preferred_network": "login.microsoftonline.com", "preferred_cache": "login.windows.net",
     "aliases": ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"]}]}
GRANTED = "Calendars.ReadBasic User.Read openid profile"  # short names, as asked
START, END = datetime(2026, 3, 2, 9, tzinfo=UTC), datetime(2026, 3, 2, 17, tzinfo=UTC)


def b64(data: dict[str, Any]) -> str:
    return urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


class Microsoft:
    """The Microsoft identity platform as msal sees it: tenant discovery and the token endpoint."""

    def __init__(self, mocked: responses.RequestsMock, settings: Settings) -> None:
        self.settings = settings
        self.nonce = ""
        self.scope = GRANTED
        self.requests: list[dict[str, str]] = []
        self.refresh_answers: list[tuple[int, dict[str, Any]]] = []
        mocked.get(DISCOVERY, json=OPENID_CONFIGURATION)
        mocked.get("https://login.microsoftonline.com/common/discovery/instance", json=INSTANCE_DISCOVERY)
        mocked.add_callback(responses.POST, TOKEN_ENDPOINT, callback=self.token)

    def tokens(self, n: int) -> dict[str, Any]:
        now = int(NOW.timestamp())
        claims = {"iss": "https://login.microsoftonline.com/tenant-1/v2.0", "aud": self.settings.microsoft_client_id,
                  "iat": now, "exp": now + 3600, "nonce": self.nonce, "oid": "uid-1", "tid": "tenant-1",
                  "sub": "subject-1", "preferred_username": "ada@example.com"}
        return {"token_type": "Bearer", "scope": self.scope, "expires_in": 3600, "ext_expires_in": 3600,
                "access_token": f"eyJ0.access-{n}", "refresh_token": f"0.refresh-{n}",
                "id_token": f"{b64({'alg': 'none'})}.{b64(claims)}.", "client_info": b64({"uid": "uid-1",
                                                                                             "utid": "tenant-1"})}

    def token(self, request: Any) -> tuple[int, dict[str, str], str]:
        form = {key: values[0] for key, values in parse_qs(str(request.body)).items()}
        self.requests.append(form)
        if form["grant_type"] == "authorization_code":
            return 200, {}, json.dumps(self.tokens(1))
        status, answer = self.refresh_answers.pop(0)
        return status, {}, json.dumps(answer)


def connect(session: Session, settings: Settings, microsoft: Microsoft, user: User) -> CalendarConnection:
    consent = query_of(outlook.authorization_url(session, state=new_state(), user_id=user.id, settings=settings))
    microsoft.nonce = consent["nonce"]
    return outlook.complete(session, state=consent["state"], settings=settings,
                            query={"code": "M.C0-the-code", "state": consent["state"], "session_state": "s"})


def calendar_view(mocked: responses.RequestsMock, *pages: dict[str, Any] | tuple[int, Any]) -> list[Any]:
    """Answer the calendar view with ``pages`` in order (a tuple is a status and a body); the requests made."""
    answers, seen = list(pages), []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        seen.append(request)
        page = answers.pop(0)
        status, body = page if isinstance(page, tuple) else (200, page)
        return status, {"Content-Type": "application/json"}, json.dumps(body)

    mocked.add_callback(responses.GET, CALENDAR_VIEW, callback=answer)
    return seen


def event(start: str, end: str, show_as: str = "busy", *, cancelled: bool = False, all_day: bool = False
          ) -> dict[str, Any]:
    return {"start": {"dateTime": f"2026-03-02T{start}:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": f"2026-03-02T{end}:00.0000000", "timeZone": "UTC"},
            "showAs": show_as, "isCancelled": cancelled, "isAllDay": all_day}


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, tzinfo=UTC)

