"""Helpers shared by the ``nbm`` subcommands."""

from __future__ import annotations

import click

from core import embedded
from core.config import get_settings


def announce_engines() -> None:
    """Say plainly, on stderr, which PostgreSQL and Redis this process uses."""
    for line in embedded.describe(get_settings()):
        click.echo(f"nbm: {line}", err=True)
