"""The Flask application: health check now; Slack, email pages, OAuth callbacks and webhooks later."""

from __future__ import annotations

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue

from bot.channels import register_all
from bot.web.email_routes import bp as email_pages
from bot.web.slack_routes import slack_blueprint
from core.config import get_settings
from core.db import get_engine
from core.health import database_status


def create_app() -> Flask:
    """Build the web app. Settings are read here, once; a bad setting stops start-up."""
    settings = get_settings()
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.secret_key, PREFERRED_URL_SCHEME="https")
    register_all()
    app.register_blueprint(email_pages)
    app.register_blueprint(slack_blueprint(settings))

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        """200 when the database answers and its schema is current, 503 otherwise."""
        status = database_status(get_engine())
        body = {
            "status": "ok" if status.ok else "unavailable",
            "database": {"reachable": status.reachable, "revision": status.revision,
                         "expected_revision": status.head, "detail": status.describe()},
        }
        return jsonify(body), 200 if status.ok else 503

    return app
