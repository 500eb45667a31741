"""``nbm web``: serve the Flask app with waitress, a production-grade WSGI server, in
``WEB_CONCURRENCY`` processes (see :mod:`bot.web.server`).

The port it listens on is the app's own: with ``BASE_URL`` unset, its links point to
``http://localhost:PORT`` for that port, whether it came from ``--port`` or ``PORT``.

Waitress gets the app's body cap: a request that announces a larger body (or a chunked one that
grows past it) is answered 413 by waitress itself, before the app runs and without the body being
read, so an oversized request costs neither memory nor a worker thread.
"""

from __future__ import annotations

import click

from bot.cli.common import start_serving
from core.config import get_settings, serve_port


@click.command("web")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 on a server).")
@click.option("--port", type=click.IntRange(1, 65535), default=lambda: get_settings().port,
              show_default="$PORT or 8000", help="Port to listen on.")
def web_command(host: str, port: int) -> None:
    """Serve the web app: Slack events, email action pages, OAuth callbacks, webhooks, /healthz."""
    from bot.web import MAX_REQUEST_BYTES, create_app
    from bot.web.server import AddressTaken, listen, serve_app

    start_serving()
    try:
        listener = listen(host, port)
    except AddressTaken as exc:
        raise click.ClickException(str(exc)) from None
    settings = serve_port(port)  # BASE_URL unset: http://localhost:PORT, the port given here
    processes = settings.web_processes
    click.echo(f"nbm: serving {settings.base_url} on http://{host}:{port}"
               f"{f' in {processes} processes' if processes > 1 else ''}", err=True)
    code = serve_app(create_app, listener, processes=processes, threads=settings.web_threads, ident="nbm",
                     max_request_body_size=MAX_REQUEST_BYTES)
    if code:
        raise click.exceptions.Exit(code)
