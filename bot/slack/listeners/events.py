"""Events API: App Home opened, the app uninstalled, tokens revoked.

Each event is acted on once even when Slack delivers it again (bot.slack.event_log).
"""

from __future__ import annotations

from slack_bolt import App

from bot.slack import event_log
from bot.slack.installation_store import forget_workspace
from bot.slack.listeners.common import Request, guarded
from bot.slack.surfaces import publish_home


def register(app: App) -> None:
    app.event("app_home_opened")(guarded(home_opened))
    app.event("app_uninstalled")(guarded(uninstalled))
    app.event("tokens_revoked")(guarded(tokens_revoked))


def home_opened(request: Request) -> None:
    """Publish App Home when its tab is opened (the event also fires for the Messages tab)."""
    if request.body["event"].get("tab") != "home":
        return
    with event_log.once(request.body) as first:
        if first:
            publish_home(request.client, slack_user_id=request.slack_user_id, user_id=request.user_id)


def uninstalled(request: Request) -> None:
    """The workspace removed the app: forget its tokens and links, keep the users' data."""
    with event_log.once(request.body) as first:
        if first:
            forget_workspace(enterprise_id=request.context.enterprise_id, team_id=request.context.team_id)


def tokens_revoked(request: Request) -> None:
    """Only bot tokens are kept: their revocation means the app can no longer act in the workspace."""
    with event_log.once(request.body) as first:
        if first and request.body["event"].get("tokens", {}).get("bot"):
            forget_workspace(enterprise_id=request.context.enterprise_id, team_id=request.context.team_id)
