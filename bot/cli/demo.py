"""``nbm demo``: a demo user with realistic leads and history, today's plan, streak and summary."""

from __future__ import annotations

import click

from bot.cli.common import acting_as_email, announce_engines
from bot.cli.plan import format_plan, format_summary
from core import migrate
from core.clock import local_today
from core.db import get_engine, unit_of_work
from core.demo import seed_demo
from core.planner.view import plan_view_building_if_missing
from core.summaries.service import build_weekly_summary
from core.text import plural


@click.command("demo")
@click.option("--tz", "timezone", default="America/New_York", show_default=True, help="The demo user's timezone.")
def demo_command(timezone: str) -> None:
    """Migrate, seed the demo user (replacing an earlier one), then print today's plan, streak and last week."""
    announce_engines()
    with get_engine().connect() as connection:
        migrate.upgrade(connection)
        connection.commit()
    with unit_of_work(service=True) as session:
        demo = seed_demo(session, timezone=timezone)
    with acting_as_email(demo.email) as (session, user):
        summary = build_weekly_summary(session, user=user)
        view = plan_view_building_if_missing(session, user=user)
        today = local_today(user.timezone)
    click.echo(f"Demo user: {demo.email} ({timezone})\n")
    click.echo(format_plan(view))
    click.echo(f"\nStreak: {plural(view.streak, 'day')}\n")
    click.echo(format_summary(summary, today=today))
    click.echo(f"\nTry: nbm plan --user {demo.email}   ·   nbm actions list --user {demo.email}")
