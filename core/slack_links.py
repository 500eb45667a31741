"""Slack accounts linked to NextBestMove users: finding a Slack user's link, and making one.

A Slack user is known by (team id, Slack user id); their link row says which of our users they are.
Whoever is behind a Slack request is not known until the link is read, so the lookups run in the
service context, and every channel that needs them (a Slack request, a delivery's recipient, first
contact) reads the link through here.
"""

from __future__ import annotations

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from core.db import narrowing_to_user
from core.errors import ValidationError
from core.models import SlackUserLink, User
from core.users import create_user, find_user_by_email, get_settings_for

#: The link of the Slack user ``team_id`` and ``slack_user_id`` name (statements built once: every
#: Slack request reads it).
_LINK_OF = and_(SlackUserLink.team_id == bindparam("team_id"),
                SlackUserLink.slack_user_id == bindparam("slack_user_id"))
_FIND_LINK = select(SlackUserLink).where(_LINK_OF)
_NARROW_TO_LINKED_USER = (select(User, narrowing_to_user(User.id))
                          .join(SlackUserLink, SlackUserLink.user_id == User.id).where(_LINK_OF))


def find_slack_link(session: Session, *, team_id: str, slack_user_id: str) -> SlackUserLink | None:
    """The link of this Slack user, if they have used NextBestMove."""
    return session.scalar(_FIND_LINK, {"team_id": team_id, "slack_user_id": slack_user_id})


def narrow_to_slack_user(session: Session, *, team_id: str, slack_user_id: str) -> User | None:
    """Our user behind this Slack user, read in the service context, which the same statement then
    narrows to that user's own: the first read of every Slack request, in one round trip. None (the
    context unchanged) when the Slack user has no link yet."""
    row = session.execute(_NARROW_TO_LINKED_USER, {"team_id": team_id, "slack_user_id": slack_user_id}).first()
    return None if row is None else row[0]


def link_slack_account(
    session: Session,
    *,
    email: str,
    name: str,
    timezone: str,
    email_confirmed: bool,
    team_id: str,
    enterprise_id: str | None,
    slack_user_id: str,
) -> tuple[User, bool]:
    """Link a Slack user to our user with their email, created if there is none; True when created.

    An existing account is linked only when Slack has confirmed the email (``email_confirmed``): a
    workspace whose admin can set any address must not be a way into another person's account.
    Linking turns the Slack DM on: they came to us through Slack. Service context.
    """
    user = find_user_by_email(session, email)
    created = user is None
    if user is None:
        user = create_user(session, email=email, name=name, timezone=timezone, slack=True)
    elif not email_confirmed:
        raise ValidationError(
            "a NextBestMove account already uses your email address, and Slack has not confirmed that "
            "address is yours; confirm it in Slack, then try again"
        )
    else:
        get_settings_for(session, user).slack_enabled = True
    session.add(SlackUserLink(user_id=user.id, team_id=team_id, enterprise_id=enterprise_id,
                              slack_user_id=slack_user_id))
    session.flush()
    return user, created
