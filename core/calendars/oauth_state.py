"""The ``state`` of a calendar OAuth flow: bound to the user, single-use, short-lived.

The browser that comes back from Google or Microsoft is not logged in here: the ``state`` it
carries is all that says whose connection this is. So it is a 256-bit random token (unguessable),
stored with the user, the provider and what the callback needs (Google's PKCE code verifier, msal's
auth-code flow) encrypted in ``oauth_flow_states.payload``; it works once, for
:data:`STATE_LIFETIME`, and only for the provider it was made for.

No channel hands out the provider's consent page itself: a link to it can be sent on, and whoever
approves it would connect their calendar to the account that made it. Every channel hands out
:func:`confirmation_link`, our own page that names the account first (``bot.web.calendar_routes``);
it reads the flow with :func:`pending_flow`, which changes nothing, and sends the browser on to the
provider's page kept with the flow.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.config import Settings
from core.crypto import Secret
from core.db import narrowing_to_user
from core.errors import NbmError
from core.models import CalendarProvider, OAuthFlowState

STATE_LIFETIME = timedelta(minutes=10)
#: Where a flow's confirmation page is: BASE_URL + this + "/" + its state.
CONFIRMATION_PATH = "/calendar/connect"


class OAuthStateError(NbmError):
    """The state is unknown, used, expired or for another provider; the message says which."""


@dataclass(frozen=True)
class FinishedState:
    user_id: uuid.UUID
    payload: dict[str, Any]


@dataclass(frozen=True)
class PendingFlow:
    """A flow not used yet: whose it is, the provider's consent page (``sign_in``) and whether it asks
    to see who attends events (``reads_events``)."""

    user_id: uuid.UUID
    provider: CalendarProvider
    sign_in: str
    reads_events: bool


def new_state() -> str:
    """A fresh ``state``: 256 random bits."""
    return secrets.token_urlsafe(32)


def confirmation_link(settings: Settings, state: str) -> str:
    """The address every channel hands out for the flow ``state`` names (module docstring)."""
    return f"{settings.base_url}{CONFIRMATION_PATH}/{state}"


def start_flow(session: Session, *, state: str, user_id: uuid.UUID, provider: CalendarProvider, sign_in: str,
               reads_events: bool, payload: dict[str, Any]) -> None:
    """Record the flow ``state`` names: ``sign_in`` is the provider's consent page, ``payload`` what the
    callback needs."""
    kept = {"sign_in": sign_in, "reads_events": reads_events, "callback": payload}
    session.add(OAuthFlowState(user_id=user_id, provider=provider, state=state,
                               payload=Secret(json.dumps(kept)), expires_at=utcnow() + STATE_LIFETIME))
    session.flush()


def pending_flow(session: Session, *, state: str) -> PendingFlow:
    """The flow ``state`` names, still usable; nothing is changed. Called in the service context, which
    finding the flow narrows to its user, as :func:`finish_flow`."""
    row = _usable(session, state=state, provider=None, lock=False)
    kept = json.loads(row.payload.reveal())
    return PendingFlow(user_id=row.user_id, provider=row.provider, sign_in=kept["sign_in"],
                       reads_events=bool(kept["reads_events"]))


def finish_flow(session: Session, *, state: str, provider: CalendarProvider) -> FinishedState:
    """Use the flow ``state`` names, once. Called in the service context (the caller does not know the
    user yet), which the statement that finds the flow narrows to its user: the rest of the callback
    (the token exchange, the connection it writes) acts for that user alone, as row-level security
    holds them, like any other request made on a user's behalf."""
    row = _usable(session, state=state, provider=provider, lock=True)
    row.used_at = utcnow()
    session.flush()
    return FinishedState(user_id=row.user_id, payload=json.loads(row.payload.reveal())["callback"])


def _usable(session: Session, *, state: str, provider: CalendarProvider | None, lock: bool) -> OAuthFlowState:
    """The flow ``state`` names (``provider``'s, when given), or OAuthStateError saying why it cannot be used."""
    query = select(OAuthFlowState, narrowing_to_user(OAuthFlowState.user_id)).where(OAuthFlowState.state == state)
    found = session.execute(query.with_for_update() if lock else query).first()
    row = None if found is None else found[0]
    if row is None or provider not in (None, row.provider):
        raise OAuthStateError("this sign-in link is not one we started; start connecting your calendar again")
    if row.used_at is not None:
        raise OAuthStateError("this sign-in was already used; start connecting your calendar again")
    if row.expires_at <= utcnow():
        raise OAuthStateError("this sign-in took longer than 10 minutes and expired; start connecting again")
    return row
