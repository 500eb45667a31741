"""The app manifest declares what the code handles, and `nbm slack manifest` fills in BASE_URL."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import yaml
from click.testing import CliRunner
from slack_bolt import App

import bot.cli.slack as slack_cli
from bot.cli.slack import MANIFEST, slack_group
from bot.slack.app import BOT_SCOPES
from core import config


def test_the_manifest_lists_the_command_scopes_events_and_urls() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    (command,) = manifest["features"]["slash_commands"]
    assert (command["command"], command["url"]) == ("/nbm", "https://nbm.example.com/slack/events")
    assert tuple(manifest["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES
    assert "user" not in manifest["oauth_config"]["scopes"]
    assert manifest["oauth_config"]["redirect_urls"] == ["https://nbm.example.com/slack/oauth_redirect"]
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["request_url"] == "https://nbm.example.com/slack/events"
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_home_opened", "app_uninstalled",
                                                                   "tokens_revoked", "message.im"}
    assert settings["interactivity"] == {"is_enabled": True, "request_url": "https://nbm.example.com/slack/events"}
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] is True
    # People may type in the app's DM (message.im, with im:history): it answers there.
    assert (home["messages_tab_enabled"], home["messages_tab_read_only_enabled"]) == (True, False)


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """``env(NAME=value)`` sets the environment for this test; settings read from it are forgotten after."""
    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        config.get_settings.cache_clear()

    yield set_env
    monkeypatch.undo()
    config.get_settings.cache_clear()


def test_nbm_slack_manifest_uses_this_servers_address(env: Callable[..., None]) -> None:
    env(BASE_URL="https://nbm.acme.io")
    result = CliRunner().invoke(slack_group, ["manifest"])
    assert result.exit_code == 0
    assert "https://nbm.acme.io/slack/events" in result.output and "nbm.example.com" not in result.output


def test_socket_mode_needs_an_app_token() -> None:
    result = CliRunner().invoke(slack_group, ["socket"])
    assert result.exit_code == 2 and "SLACK_APP_TOKEN" in result.output


def test_socket_mode_connects_the_app_with_the_app_token(monkeypatch: pytest.MonkeyPatch,
                                                          env: Callable[..., None]) -> None:
    started: list[tuple[App, str]] = []

    class Handler:
        def __init__(self, app: App, app_token: str) -> None:
            self.args = (app, app_token)

        def start(self) -> None:
            started.append(self.args)

    monkeypatch.setattr("slack_bolt.adapter.socket_mode.SocketModeHandler", Handler)
    monkeypatch.setattr(slack_cli, "announce_engines", lambda: None)
    env(SLACK_APP_TOKEN="xapp-1-test", SLACK_BOT_TOKEN="xoxb-test")
    result = CliRunner().invoke(slack_group, ["socket"])
    assert result.exit_code == 0, result.output
    ((app, token),) = started
    assert token == "xapp-1-test" and isinstance(app, App)
