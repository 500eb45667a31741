"""One unit of work in a user's context, with the user loaded: how every Slack entry point acts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from core.db import unit_of_work
from core.models import User
from core.users import get_user


@contextmanager
def acting_as(user_id: uuid.UUID) -> Iterator[tuple[Session, User]]:
    """One transaction in the user's own RLS context: a Slack request can only see and change that
    person's rows, whatever a forged button value names."""
    with unit_of_work(user_id=user_id) as session:
        yield session, get_user(session, user_id)
