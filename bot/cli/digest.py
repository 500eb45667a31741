"""``nbm digest preview`` and ``nbm digest send``: look at, or send, a user's morning digest.

``preview`` builds today's plan if there is none yet (as the morning job would) and writes the HTML
part to ``--out`` with the plain-text part beside it (same name, ``.txt``), so the digest can be
opened in a browser. ``send`` mails it through the configured backend (``EMAIL_BACKEND``).
"""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.common import acting_as, user_option
from bot.email.backends import get_backend
from bot.email.delivery import digest_email, send_plan_email
from core.config import get_settings
from core.db import unit_of_work
from core.users import get_user_by_email


@click.group("digest")
def digest_group() -> None:
    """The morning email digest."""


@digest_group.command("preview")
@user_option
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              default=Path("digest.html"), show_default=True, help="Where to write the HTML part.")
def preview_command(email: str, out: Path) -> None:
    """Render today's digest to FILE (HTML) and FILE's .txt sibling (plain text)."""
    with acting_as(email) as (session, user):
        rendered, _ = digest_email(session, user=user)
    text_path = out.with_suffix(".txt")
    out.write_text(rendered.html, encoding="utf-8")
    text_path.write_text(rendered.text, encoding="utf-8")
    click.echo(f"Subject: {rendered.subject}")
    click.echo(f"HTML: {out}")
    click.echo(f"Text: {text_path}")


@digest_group.command("send")
@user_option
def send_command(email: str) -> None:
    """Send today's digest to the user through the configured backend."""
    with unit_of_work(service=True) as session:
        user = get_user_by_email(session, email)
        user_id, address = user.id, user.email
    backend = get_backend()
    message_id = send_plan_email(user_id, backend=backend)
    where = f" (see {get_settings().base_url}/dev/outbox)" if backend.name == "outbox" else ""
    click.echo(f"Sent to {address} via {backend.name}{where}: Message-ID {message_id}")
