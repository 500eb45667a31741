"""Bolt listeners, grouped by kind. Each parses what Slack sent, calls core services, and renders
with the pure builders of bot.slack.blocks; no domain rule lives here."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners import actions, commands, events, views


def register(app: App) -> None:
    commands.register(app)
    actions.register(app)
    views.register(app)
    events.register(app)
