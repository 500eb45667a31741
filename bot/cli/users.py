"""``nbm users``: add a user."""

from __future__ import annotations

import click

from bot.cli.common import emit, json_option
from core.db import unit_of_work
from core.models.users import DEFAULT_TIMEZONE
from core.users import create_user


@click.group("users")
def users_group() -> None:
    """Users of this NextBestMove."""


@users_group.command("add")
@click.argument("email")
@click.option("--name", required=True, help="The user's display name.")
@click.option("--tz", "timezone", default=DEFAULT_TIMEZONE, show_default=True, help="IANA timezone, e.g. Europe/Paris.")
@json_option
def add_command(email: str, name: str, timezone: str, as_json: bool) -> None:
    """Add a user (email is unique whatever its case); email delivery is on by default."""
    with unit_of_work(service=True) as session:
        user = create_user(session, email=email, name=name, timezone=timezone)
    emit(as_json, {"id": user.id, "email": user.email, "name": user.name, "timezone": user.timezone},
         lambda: f"added {user.name} <{user.email}> ({user.timezone}), id {user.id}")
