"""``nbm web``: serve the Flask app with waitress, a production-grade WSGI server.

Waitress gets the app's body cap: a request that announces a larger body (or a chunked one that
grows past it) is answered 413 by waitress itself, before the app runs and without the body being
read, so an oversized request costs neither memory nor a worker thread.
"""

from __future__ import annotations

import click

from bot.cli.common import announce_engines
from core.config import get_settings


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 on a server).")
@click.option("--port", type=click.IntRange(1, 65535), default=lambda: get_settings().port,
              show_default="$PORT or 8000", help="Port to listen on.")
def web_command(host: str, port: int) -> None:
    """Serve the web app: Slack events, email action pages, OAuth callbacks, webhooks, /healthz."""
    from waitress import serve

    from bot.web import MAX_REQUEST_BYTES, create_app

    announce_engines()
    settings = get_settings()
    click.echo(f"nbm: serving {settings.base_url} on http://{host}:{port}", err=True)
    serve(create_app(), host=host, port=port, threads=settings.web_threads, ident="nbm",
          max_request_body_size=MAX_REQUEST_BYTES)
