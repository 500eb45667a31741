"""``nbm db``: migrate the database and check its state."""

from __future__ import annotations

import click

from bot.cli.common import announce_engines
from core import migrate
from core.db import get_engine
from core.health import database_status


@click.group("db")
def db_group() -> None:
    """Database schema: upgrade and check."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to upgrade to.")
def upgrade_command(revision: str) -> None:
    """Apply every pending migration (safe to run again: does nothing when current)."""
    announce_engines()
    with get_engine().connect() as connection:
        migrate.upgrade(connection, revision)
        connection.commit()
    click.echo(database_status(get_engine()).describe())


@db_group.command("check")
def check_command() -> None:
    """Report the database's state; exit 1 unless it is reachable, current and matches the models."""
    announce_engines()
    status = database_status(get_engine())
    click.echo(status.describe())
    if not status.ok:
        raise SystemExit(1)
    with get_engine().connect() as connection:
        differences = migrate.schema_differences(connection)
    if differences:
        click.echo("the schema differs from the models:")
        for difference in differences:
            click.echo(f"  {difference}")
        raise SystemExit(1)
    click.echo("schema matches the models")
