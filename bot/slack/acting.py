"""One unit of work in a user's context, with the user loaded: how every Slack entry point acts."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from core.db import set_context, unit_of_work
from core.models import SlackUserLink, User
from core.users import get_user


@contextmanager
def acting_as(user_id: uuid.UUID) -> Iterator[tuple[Session, User]]:
    """One transaction in the user's own RLS context: a Slack request can only see and change that
    person's rows, whatever a forged button value names."""
    with unit_of_work(user_id=user_id) as session:
        yield session, get_user(session, user_id)


@contextmanager
def acting_for(*, team_id: str, slack_user_id: str,
               first_contact: Callable[[], uuid.UUID]) -> Iterator[tuple[Session, User]]:
    """:func:`acting_as` the person behind a Slack request, found in the same transaction.

    The transaction starts in the service context only to read who the Slack user is (their link
    belongs to no user), then narrows to that user's own context before anything else is read or
    written: one unit of work for the whole request, under the same row-level security as
    :func:`acting_as`. A Slack user not linked yet is set up by ``first_contact`` (it asks Slack for
    their profile, which must not happen inside a transaction) before their unit of work opens.

    What the unit of work loads stays loaded until it ends (the session's identity map only holds
    objects weakly): a listener that draws a row after a change finds the rows the change read
    (the action's lead, locked and then dropped by the core) without reading them again.
    """
    with unit_of_work(service=True) as session:
        loaded: list[object] = []
        event.listen(session, "loaded_as_persistent", lambda _session, instance: loaded.append(instance))
        user = session.scalar(select(User).join(SlackUserLink, SlackUserLink.user_id == User.id).where(
            SlackUserLink.team_id == team_id, SlackUserLink.slack_user_id == slack_user_id))
        if user is not None:
            set_context(session, user_id=user.id)
            yield session, user
            return
    with acting_as(first_contact()) as acting:
        yield acting
