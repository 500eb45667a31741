"""The ``nbm`` command: every process and every operation of the product, driven from a terminal.

Bad input exits with code 2 and a message that says what was wrong; a typed domain error
(core.errors) is shown as its message, never as a traceback.
"""

from __future__ import annotations

import click
from psycopg.errors import UndefinedTable
from sqlalchemy.exc import ProgrammingError

from bot.channels import register_all
from bot.cli.actions import actions_group, call_command, mark_command
from bot.cli.bench import bench_command
from bot.cli.billing import billing_group
from bot.cli.calendar import calendar_group
from bot.cli.chaos import chaos_command
from bot.cli.db import db_group
from bot.cli.demo import demo_command
from bot.cli.dev import dev_command
from bot.cli.digest import digest_group
from bot.cli.jobs import cron_command, morning_command, worker_command
from bot.cli.keys import keys_group
from bot.cli.leads import leads_group
from bot.cli.plan import plan_command, streak_command, summary_group
from bot.cli.slack import slack_group
from bot.cli.users import users_group
from bot.cli.web import web_command
from core.config import get_settings
from core.errors import NbmError
from core.logs import configure_logging


class Refused(click.ClickException):
    """What the product refused, said as the core says it, exit code 2 (as click's own bad-usage
    errors): no usage line, since the command was used rightly and the data said no."""

    exit_code = 2


class NbmGroup(click.Group):
    """Turns domain errors into a clear message and exit code 2, and a database without its tables
    (a fresh embedded one, a new server) into what to do about it, exit code 1."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except NbmError as exc:
            raise Refused(str(exc)) from None
        except ProgrammingError as exc:
            if not isinstance(exc.orig, UndefinedTable):
                raise
            raise click.ClickException(
                "the database has no NextBestMove tables yet (or lacks some): run `nbm db upgrade`, then "
                "this command again") from None


@click.group(cls=NbmGroup)
@click.version_option(package_name="nextbestmove")
def main() -> None:
    """NextBestMove: the few follow-ups that matter most today."""
    configure_logging(get_settings())  # every record escaped and without secrets: core/logs.py
    register_all()  # senders for the jobs, and redraws of Slack after a change made here


for command in (db_group, keys_group, web_command, worker_command, users_group, leads_group, actions_group,
                mark_command, call_command, plan_command, streak_command, summary_group, demo_command, digest_group,
                slack_group, morning_command, cron_command, dev_command, calendar_group, bench_command, billing_group,
                chaos_command):
    main.add_command(command)
