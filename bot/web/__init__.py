"""The Flask application: health check, Slack's endpoint, the email pages.

Templates have one root, this package: a page's template is named by its path here, beside the
routes that render it (``email_pages/confirm.html``); blueprints add no folders of their own.

Two rules hold for every route:

* **Bodies are small.** Nothing this app receives (Slack's requests, the email pages' forms) comes
  near :data:`MAX_REQUEST_BYTES`; a larger body is refused with 413 before it is read, here and
  by the server in front of the app (``nbm web`` gives waitress the same cap).
* **Anonymous callers learn nothing about the inside.** ``/healthz`` says ``ok`` or
  ``unavailable``; why it is unavailable (the driver's message names hosts, ports, databases and
  roles) goes to the server log only.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue

from bot.channels import register_all
from bot.web.billing_routes import bp as billing_pages
from bot.web.calendar_routes import bp as calendar_oauth
from bot.web.email_pages.routes import bp as email_page_routes
from bot.web.error_pages import register as register_error_pages
from bot.web.slack_routes import slack_blueprint
from bot.web.stripe_routes import bp as stripe_webhook
from core.config import get_settings
from core.db import get_engine
from core.health import database_status

log = logging.getLogger("nbm.web")

#: The largest request body accepted, in bytes: Slack's requests are a few kilobytes.
MAX_REQUEST_BYTES = 1024 * 1024


def create_app() -> Flask:
    """Build the web app. Settings are read here, once; a bad setting stops start-up."""
    settings = get_settings()
    app = Flask(__name__, template_folder=".")
    app.config.update(SECRET_KEY=settings.secret_key, PREFERRED_URL_SCHEME="https",
                      MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES)
    register_all()
    app.register_blueprint(email_page_routes)
    app.register_blueprint(calendar_oauth)
    app.register_blueprint(billing_pages)
    app.register_blueprint(stripe_webhook)
    app.register_blueprint(slack_blueprint(settings))
    register_error_pages(app)

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        """200 when the database answers and its schema is current, 503 otherwise; the reason is logged."""
        status = database_status(get_engine())
        if not status.ok:
            log.warning("health check failed: %s", status.describe())
        return jsonify(status="ok" if status.ok else "unavailable"), 200 if status.ok else 503

    return app
