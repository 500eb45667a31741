"""``nbm db``: migrate the database and check its state."""

from __future__ import annotations

import click
from sqlalchemy.exc import OperationalError

from bot.cli.common import announce_engines
from core import migrate
from core.config import get_settings
from core.db import get_engine
from core.health import database_status, rls_bypass_problem, unreachable


@click.group("db")
def db_group() -> None:
    """Database schema: upgrade and check."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to upgrade to.")
def upgrade_command(revision: str) -> None:
    """Apply every pending migration (safe to run again: does nothing when current)."""
    announce_engines()
    try:
        connection = get_engine().connect()
    except OperationalError as exc:  # the release phase's log gets one line, as `nbm db check` says it
        click.echo(unreachable(exc).describe())
        raise SystemExit(1) from None
    with connection:
        migrate.upgrade(connection, revision)
        connection.commit()
    click.echo(database_status(get_engine()).describe())


@db_group.command("check")
def check_command() -> None:
    """Report the database's state; exit 1 unless it is reachable, current and matches the models, and
    (in production) its role is subject to row-level security."""
    announce_engines()
    status = database_status(get_engine())
    click.echo(status.describe())
    if not status.ok:
        raise SystemExit(1)
    failed = False
    if status.rls_bypass is not None:
        failed = get_settings().is_production
        click.echo(rls_bypass_problem(status.rls_bypass) + ("" if failed else
                   "; fine in development (the embedded database connects as postgres), refused in production"))
    with get_engine().connect() as connection:
        differences = migrate.schema_differences(connection)
    if differences:
        click.echo("the schema differs from the models:")
        for difference in differences:
            click.echo(f"  {difference}")
    else:
        click.echo("schema matches the models")
    if failed or differences:
        raise SystemExit(1)
