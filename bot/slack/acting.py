"""The unit of work of a Slack request, as the person making it: how every Slack listener acts.

Outside a request (a delivery, a redraw), Slack code acts as a known user with
:func:`core.users.acting_as_user`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import Session

from core.db import unit_of_work
from core.models import User
from core.slack_links import narrow_to_slack_user
from core.users import acting_as_user

#: ``session.info`` key of the list holding what a Slack request's unit of work loaded (see below).
_LOADED = "nbm.slack.loaded"


@event.listens_for(Session, "loaded_as_persistent")
def _keep_loaded(session: Session, instance: object) -> None:
    """Hold what a Slack request's unit of work loads until it ends. One listener for every session,
    registered once: a listener on each request's session cost more than the lookup it saved."""
    loaded = session.info.get(_LOADED)
    if loaded is not None:
        loaded.append(instance)


@contextmanager
def acting_as_slack_user(*, team_id: str, slack_user_id: str,
                         first_contact: Callable[[], uuid.UUID]) -> Iterator[tuple[Session, User]]:
    """:func:`core.users.acting_as_user` the person behind a Slack request, found in the same transaction.

    The transaction starts in the service context only to read who the Slack user is (their link
    is read before anyone is known), and the statement that reads it narrows the context to that
    user's own before anything else is read or written: one unit of work for the whole request, and
    one round trip to know who is asking, under the same row-level security
    as :func:`core.users.acting_as_user`. A Slack user not linked yet is set up by ``first_contact``
    (it asks Slack for their profile, which must not happen inside a transaction) before their unit
    of work opens.

    What the unit of work loads stays loaded until it ends (the session's identity map only holds
    objects weakly): a listener that draws a row after a change finds the rows the change read
    (the action's lead, locked and then dropped by the core) without reading them again.
    """
    with unit_of_work(service=True) as session:
        session.info[_LOADED] = []
        user = narrow_to_slack_user(session, team_id=team_id, slack_user_id=slack_user_id)
        if user is not None:
            yield session, user
            return
    with acting_as_user(first_contact()) as acting:
        yield acting
