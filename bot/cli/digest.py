"""``nbm digest preview`` and ``nbm digest send``: look at, or send, a user's morning digest.

``preview`` builds today's plan if there is none yet (as the morning job would) and writes the HTML
part to ``--out`` with the plain-text part beside it (same name, ``.txt``), so the digest can be
opened in a browser; an ``--out`` ending in ``.txt`` is refused, since the text part would overwrite
the HTML. ``send`` mails it through the configured backend (``EMAIL_BACKEND``); a server that
refuses it is reported in a sentence with exit code 1, not as a traceback.
"""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.common import acting_as, user_option
from bot.email.backends import SendFailed, get_backend
from bot.email.delivery import digest_email, send_plan_email
from core.config import get_settings


@click.group("digest")
def digest_group() -> None:
    """The morning email digest."""


@digest_group.command("preview")
@user_option
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              default=Path("digest.html"), show_default=True, help="Where to write the HTML part.")
def preview_command(email: str, out: Path) -> None:
    """Render today's digest to FILE (HTML) and FILE's .txt sibling (plain text)."""
    text_path = out.with_suffix(".txt")
    if text_path == out:
        raise click.BadParameter("name the HTML file, e.g. digest.html; the text part is written beside it "
                                 "as digest.txt", param_hint="--out")
    with acting_as(email) as (session, user):
        rendered, _ = digest_email(session, user=user)
    out.write_text(rendered.html, encoding="utf-8")
    text_path.write_text(rendered.text, encoding="utf-8")
    click.echo(f"Subject: {rendered.subject}")
    click.echo(f"HTML: {out}")
    click.echo(f"Text: {text_path}")


@digest_group.command("send")
@user_option
def send_command(email: str) -> None:
    """Send today's digest to the user through the configured backend."""
    with acting_as(email) as (_, user):
        user_id, address = user.id, user.email
    backend = get_backend()
    try:
        message_id = send_plan_email(user_id, backend=backend)
    except SendFailed as failure:
        later = "; it may work if you try again later" if failure.temporary else ""
        raise click.ClickException(f"nothing was sent: {failure}{later}") from failure
    where = f" (see {get_settings().base_url}/dev/outbox)" if backend.name == "outbox" else ""
    click.echo(f"Sent to {address} via {backend.name}{where}: Message-ID {message_id}")
