"""A Slack user becomes a NextBestMove user on first contact, linked by (team id, Slack user id).

Rules where the spec is silent:

* The profile gives the email, the name (real name, else display name, else the email's local part)
  and the IANA timezone (``tz``). The name is cleaned to the rule of every name (core.names: one
  line, no control characters), not refused: the person did not type it into our form, and a profile
  name with a line break in it must neither lock them out nor stop their email. The next candidate
  stands in for one that cleaning empties. A timezone that is not a place is read as the stored names
  were (migration 0008, core.clock.place_for): an old alias as its place (``US/Pacific`` is
  America/Los_Angeles), a System V rule as the place whose clock it keeps, whatever the server's tz
  data makes of it (``CET`` is Europe/Brussels, ``EST5EDT`` America/New_York), a fixed offset as
  itself (``Etc/GMT+5``), another name of no place (``Etc/UTC``, ``GMT``) as UTC; one our tz
  database does not know falls back to the product's default rather than refusing the person.
* Someone who already uses NextBestMove by email is linked to that account, not given a second
  one, but only when Slack says the email is confirmed (``is_email_confirmed``); linking turns the
  Slack DM on (the rule is the core's: :func:`core.slack_links.link_slack_account`).
* The link is found again on every request, so later profile changes in Slack do not overwrite
  what the user set in NextBestMove (their timezone, above all).
* Two first contacts at once (a command and App Home opening together) end with one user.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import place_for
from core.db import unit_of_work
from core.errors import ValidationError
from core.models.users import DEFAULT_TIMEZONE
from core.names import clean_name
from core.slack_links import find_slack_link, link_slack_account
from core.users import database_knows

log = logging.getLogger("nbm.slack.identity")


def linked_user_id(*, team_id: str, slack_user_id: str) -> uuid.UUID | None:
    with unit_of_work(service=True) as session:
        link = find_slack_link(session, team_id=team_id, slack_user_id=slack_user_id)
        return link.user_id if link is not None else None


def resolve_user(client: WebClient, *, team_id: str, enterprise_id: str | None, slack_user_id: str) -> uuid.UUID:
    """Our user for this Slack user, created (or linked by email) on first contact."""
    found = linked_user_id(team_id=team_id, slack_user_id=slack_user_id)
    if found is not None:
        return found
    profile = _profile(client, slack_user_id)
    try:
        return _link(profile, team_id=team_id, enterprise_id=enterprise_id, slack_user_id=slack_user_id)
    except IntegrityError:
        # A concurrent first contact created the user or the link first: use theirs.
        found = linked_user_id(team_id=team_id, slack_user_id=slack_user_id)
        if found is None:
            raise
        return found


def _profile(client: WebClient, slack_user_id: str) -> dict[str, Any]:
    user = client.users_info(user=slack_user_id)["user"]
    profile = user.get("profile") or {}
    email = profile.get("email")
    if user.get("is_bot") or not email:
        raise ValidationError(
            "NextBestMove could not read your email address from Slack, which it needs to set up your "
            "account; ask your Slack admin to reinstall the app with the users:read.email permission"
        )
    candidates = (profile.get("real_name"), user.get("real_name"), profile.get("display_name"), email.split("@")[0])
    name = next((cleaned for cleaned in map(clean_name, filter(None, candidates)) if cleaned), "")
    return {"email": email, "name": name, "tz": user.get("tz"),
            "confirmed": user.get("is_email_confirmed", False)}


def _timezone(session: Session, tz: str | None) -> str:
    """The profile's timezone as core.clock.place_for reads it (``US/Pacific`` is America/Los_Angeles,
    ``CET`` Europe/Brussels, ``Etc/GMT+5`` itself, ``Etc/UTC`` UTC); the product's default when the
    profile has none, or one the tz database lacks, Python's or the database's
    (core.users.database_knows)."""
    place = place_for(tz) if tz else None
    if place is None or not database_knows(session, place):
        log.info("Slack timezone %r is unknown here; using %s", tz, DEFAULT_TIMEZONE)
        return DEFAULT_TIMEZONE
    return place


def _link(profile: dict[str, Any], *, team_id: str, enterprise_id: str | None, slack_user_id: str) -> uuid.UUID:
    with unit_of_work(service=True) as session:
        user, created = link_slack_account(
            session, email=profile["email"], name=profile["name"], timezone=_timezone(session, profile["tz"]),
            email_confirmed=profile["confirmed"], team_id=team_id, enterprise_id=enterprise_id,
            slack_user_id=slack_user_id)
        if created:
            log.info("created a user on first contact from Slack team %s", team_id)
        else:
            log.info("linked an existing user to Slack team %s", team_id)
        return user.id
