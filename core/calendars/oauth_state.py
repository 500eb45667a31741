"""The ``state`` of a calendar OAuth flow: bound to the user, single-use, short-lived.

The browser that comes back from Google or Microsoft is not logged in here: the ``state`` it
carries is all that says whose connection this is. So it is a 256-bit random token (unguessable),
stored with the user, the provider and what the callback needs (Google's PKCE code verifier, msal's
auth-code flow) encrypted in ``oauth_flow_states.payload``; it works once, for
:data:`STATE_LIFETIME`, and only for the provider it was made for.
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
from core.crypto import Secret
from core.db import narrowing_to_user
from core.errors import NbmError
from core.models import CalendarProvider, OAuthFlowState

STATE_LIFETIME = timedelta(minutes=10)


class OAuthStateError(NbmError):
    """The state is unknown, used, expired or for another provider; the message says which."""


@dataclass(frozen=True)
class FinishedState:
    user_id: uuid.UUID
    payload: dict[str, Any]


def start_flow(session: Session, *, user_id: uuid.UUID, provider: CalendarProvider, payload: dict[str, Any]) -> str:
    """Record a flow in progress; returns the ``state`` to send to the provider."""
    state = secrets.token_urlsafe(32)
    session.add(OAuthFlowState(user_id=user_id, provider=provider, state=state,
                               payload=Secret(json.dumps(payload)), expires_at=utcnow() + STATE_LIFETIME))
    session.flush()
    return state


def finish_flow(session: Session, *, state: str, provider: CalendarProvider) -> FinishedState:
    """Use the flow ``state`` names, once. Called in the service context (the caller does not know the
    user yet), which the statement that finds the flow narrows to its user: the rest of the callback
    (the token exchange, the connection it writes) acts for that user alone, as row-level security
    holds them, like any other request made on a user's behalf."""
    found = session.execute(select(OAuthFlowState, narrowing_to_user(OAuthFlowState.user_id))
                            .where(OAuthFlowState.state == state).with_for_update()).first()
    row = None if found is None else found[0]
    if row is None or row.provider != provider:
        raise OAuthStateError("this sign-in link is not one we started; start connecting your calendar again")
    if row.used_at is not None:
        raise OAuthStateError("this sign-in was already used; start connecting your calendar again")
    if row.expires_at <= utcnow():
        raise OAuthStateError("this sign-in took longer than 10 minutes and expired; start connecting again")
    row.used_at = utcnow()
    session.flush()
    return FinishedState(user_id=row.user_id, payload=json.loads(row.payload.reveal()))
