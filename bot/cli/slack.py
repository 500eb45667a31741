"""``nbm slack``: run the Slack app over Socket Mode, print the app manifest."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.common import announce_engines
from core.config import get_settings

MANIFEST = Path(__file__).resolve().parent.parent / "slack" / "manifest.yml"
PLACEHOLDER = "https://nbm.example.com"


@click.group("slack")
def slack_group() -> None:
    """The Slack app."""


@slack_group.command("socket")
def socket_command() -> None:
    """Serve Slack over Socket Mode (needs SLACK_APP_TOKEN): for development, no public URL needed."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.slack.app import build_app

    settings = get_settings()
    if not settings.slack_app_token:
        raise click.UsageError("Socket Mode needs SLACK_APP_TOKEN, an app-level token (xapp-…) with "
                               "the connections:write scope")
    announce_engines()
    click.echo("nbm: connecting to Slack over Socket Mode (Ctrl-C stops)", err=True)
    SocketModeHandler(build_app(settings), settings.slack_app_token).start()


@slack_group.command("manifest")
def manifest_command() -> None:
    """Print the Slack app manifest with this server's BASE_URL in its request URLs."""
    base_url = get_settings().base_url
    if not base_url.startswith("https://"):  # on stderr, so that the manifest on stdout stays pasteable
        click.echo(f"nbm: warning: BASE_URL is {base_url}, not https://: Slack only sends events, button "
                   "presses and OAuth redirects to https:// addresses (for local development, use a tunnel "
                   "or `nbm slack socket`)", err=True)
    click.echo(MANIFEST.read_text().replace(PLACEHOLDER, base_url), nl=False)
