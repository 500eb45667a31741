"""Events API: App Home opened, a message typed in the app's DM, the app uninstalled, tokens revoked.

Each event is acted on once even when Slack delivers it again (bot.slack.event_log).

A message a person types in their DM with the app (its Messages tab) is answered in that DM the
way ``/nbm`` answers the same words: ``today`` shows today's plan there, anything else gets the
help; either is first contact, making a Slack user not linked yet a user. The DM takes no other
subcommand: the forms need a trigger that only a command or a button carries, and the help lists
the ``/nbm`` commands for the rest. No answer goes to an edit or a deletion (they come with a
subtype), to a message from any bot (``bot_id``) — the app's own answers among them, or each
answer would be answered — nor to a message outside a DM.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App

from bot.slack import event_log
from bot.slack.installation_store import forget_workspace
from bot.slack.listeners import commands
from bot.slack.listeners.common import Request, answer_error, guarded
from bot.slack.parsing import typed
from bot.slack.surfaces import publish_home

#: What a message typed in the DM can ask for; anything else is answered with the help.
DM_SUBCOMMANDS: dict[str, Callable[[Request, str], None]] = {"today": commands.today}


class DirectMessage(Request):
    """A message typed in the person's DM with the app, answered in that DM (only they and the app
    read it). The DM is handed on as ``channel_id``, the field in which a slash command names where
    it was typed, so ``today`` sees that the plan lands where the person already is."""

    @classmethod
    def of(cls, request: Request) -> DirectMessage:
        body = {**request.body, "channel_id": request.body["event"]["channel"]}
        return cls(ack=request.ack, body=body, client=request.client, context=request.context, respond=None)

    def reply(self, text: str, *, blocks: list[dict[str, Any]] | None = None) -> None:
        self.client.chat_postMessage(channel=self.body["channel_id"], text=text, blocks=blocks)


def register(app: App) -> None:
    app.event("app_home_opened")(guarded(home_opened))
    # Every message event, even those ignored: Bolt answers an event no listener takes with a 404,
    # which Slack retries and, repeated, turns the app's events off.
    app.event("message")(guarded(direct_message))
    app.event("app_uninstalled")(guarded(uninstalled))
    app.event("tokens_revoked")(guarded(tokens_revoked))


def home_opened(request: Request) -> None:
    """Publish App Home when its tab is opened (the event also fires for the Messages tab)."""
    if request.body["event"].get("tab") != "home":
        return
    with event_log.once(request.body) as first:
        if first:
            publish_home(request.client, slack_user_id=request.slack_user_id, user_id=request.user_id)


def direct_message(request: Request) -> None:
    """Answer a message typed in the app's DM (rules in the module docstring)."""
    event = request.body["event"]
    if not _typed_by_a_person_in_a_dm(event):
        return
    dm = DirectMessage.of(request)
    with event_log.once(request.body) as first:
        if not first:
            return
        try:
            word, rest = commands.split_subcommand(typed(event.get("text") or ""))
            DM_SUBCOMMANDS.get(word, commands.show_help)(dm, rest)
        except Exception as error:
            # Answered here, in the DM: the guard's plain request has no way to reach it.
            answer_error(dm, error, where="direct_message")


def _typed_by_a_person_in_a_dm(event: dict[str, Any]) -> bool:
    return (event.get("channel_type") == "im" and not event.get("subtype") and not event.get("bot_id")
            and bool(event.get("user")))


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
