"""Installing to a workspace by OAuth v2, tokens encrypted at rest and rotated, uninstalling, and
events acted on once however often Slack sends them."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import time_machine
from flask.testing import FlaskClient
from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from bot.slack.errors import APOLOGY
from bot.slack.installation_store import DbInstallationStore, forget_workspace
from bot.web import create_app
from core.crypto import Secret
from core.db import unit_of_work
from core.models import SlackInstallation, SlackUserLink, User, UserSettings
from tests.slack.conftest import NOW, command, event
from tests.slack.fake_slack import FakeSlack


def _start_install(web: FlaskClient) -> tuple[str, str]:
    response = web.get("/slack/install")
    assert response.status_code == 200
    state = re.search(r"state=([^&\"]+)", response.get_data(as_text=True)).group(1)
    cookie = response.headers["Set-Cookie"].split(";")[0]
    assert cookie == f"slack-app-oauth-state={state}"
    return state, cookie


def _callback(web: FlaskClient, query: str, cookie: str | None = None):
    """The redirect back from Slack, in a browser holding ``cookie`` (a fresh client: no other cookies)."""
    browser = web.application.test_client()
    if cookie:
        name, _, value = cookie.partition("=")
        browser.set_cookie(name, value)
    return browser.get(f"/slack/oauth_redirect?{query}")


def _installations() -> list[SlackInstallation]:
    with unit_of_work(service=True) as session:
        return list(session.scalars(select(SlackInstallation)))


def test_install_stores_the_workspace_with_encrypted_tokens(web: FlaskClient, fake: FakeSlack) -> None:
    state, cookie = _start_install(web)
    assert "scope=chat:write,commands,im:history,im:write,users:read,users:read.email&amp;user_scope=&amp;" in \
        web.get("/slack/install").get_data(as_text=True)
    response = _callback(web, f"code=code-1&state={state}", cookie)
    assert response.status_code == 200
    (exchange,) = fake.calls_to("oauth.v2.access")
    assert exchange.args["code"] == "code-1"
    assert exchange.args["redirect_uri"] == "https://nbm.test/slack/oauth_redirect"
    (row,) = _installations()
    assert (row.team_id, row.team_name, row.bot_user_id, row.installer_user_id) == ("T1", "Acme", "UBOT", "UINSTALLER")
    assert row.bot_token == Secret("xoxb-installed-secret")
    assert row.bot_refresh_token == Secret("xoxe-1-first-refresh")
    with unit_of_work(service=True) as session:
        raw = session.execute(text("SELECT bot_token, bot_refresh_token FROM slack_installations")).one()
    assert "xoxb-installed-secret" not in raw.bot_token and "xoxe" not in raw.bot_refresh_token
    assert raw.bot_token.startswith("v1:")


def test_the_store_finds_the_installation_it_saved(web: FlaskClient, fake: FakeSlack) -> None:
    state, cookie = _start_install(web)
    _callback(web, f"code=code-1&state={state}", cookie)
    found = DbInstallationStore().find_installation(enterprise_id=None, team_id="T1")
    assert (found.bot_token, found.bot_refresh_token, found.bot_user_id) == (
        "xoxb-installed-secret", "xoxe-1-first-refresh", "UBOT")
    assert DbInstallationStore().find_installation(enterprise_id=None, team_id="T2") is None


def test_reinstalling_updates_the_same_workspace(web: FlaskClient, fake: FakeSlack) -> None:
    for code in ("code-1", "code-2"):
        state, cookie = _start_install(web)
        assert _callback(web, f"code={code}&state={state}", cookie).status_code == 200
    assert len(_installations()) == 1


def test_a_forged_state_is_refused_and_nothing_is_exchanged(web: FlaskClient, fake: FakeSlack) -> None:
    state, _ = _start_install(web)
    forged = state[:-2] + ("AA" if not state.endswith("AA") else "BB")
    response = _callback(web, f"code=code-1&state={forged}", f"slack-app-oauth-state={forged}")
    assert response.status_code == 401
    assert fake.calls_to("oauth.v2.access") == [] and _installations() == []


def test_a_state_from_another_browser_is_refused(web: FlaskClient, fake: FakeSlack) -> None:
    state, _ = _start_install(web)
    response = _callback(web, f"code=code-1&state={state}")
    assert response.status_code == 400
    assert fake.calls_to("oauth.v2.access") == [] and _installations() == []


def test_an_expired_state_is_refused(web: FlaskClient, fake: FakeSlack) -> None:
    with time_machine.travel(NOW, tick=False):
        state, cookie = _start_install(web)
    with time_machine.travel(NOW + timedelta(minutes=11), tick=False):
        response = _callback(web, f"code=code-1&state={state}", cookie)
    assert response.status_code == 401
    assert _installations() == []


def test_an_expiring_token_is_rotated_once_and_saved_back(web: FlaskClient, fake: FakeSlack, ann: User,
                                                          installed: SlackInstallation, service: Session) -> None:
    installed.bot_refresh_token = "xoxe-1-old-refresh"
    installed.bot_token_expires_at = NOW + timedelta(minutes=30)
    service.flush()
    with time_machine.travel(NOW, tick=False):
        command(web, fake, "today")
        command(web, fake, "today")
    (refresh,) = fake.calls_to("oauth.v2.access")
    assert (refresh.args["grant_type"], refresh.args["refresh_token"]) == ("refresh_token", "xoxe-1-old-refresh")
    (row,) = _installations()
    new_token = row.bot_token.reveal()
    assert new_token.startswith("xoxb-rotated-") and row.bot_refresh_token.reveal().startswith("xoxe-1-refresh-")
    assert row.bot_token_expires_at == NOW + timedelta(hours=12)
    assert {call.token for call in fake.calls_to("chat.postMessage")} == {new_token}


def test_a_token_that_cannot_be_refreshed_asks_to_reinstall(web: FlaskClient, fake: FakeSlack, ann: User,
                                                            installed: SlackInstallation, service: Session) -> None:
    installed.bot_refresh_token = "xoxe-1-used"
    installed.bot_token_expires_at = datetime.now(UTC) - timedelta(minutes=1)
    service.flush()
    fake.queue("oauth.v2.access", {"ok": False, "error": "invalid_grant"})
    command(web, fake, "today")
    assert fake.calls_to("chat.postMessage") == []
    assert "reinstall" in fake.calls_to("respond")[0].args["text"]


def test_uninstall_forgets_the_workspace_but_keeps_the_users_data(web: FlaskClient, fake: FakeSlack,
                                                                   ann: User) -> None:
    assert event(web, {"type": "app_uninstalled"}).status_code == 200
    assert _installations() == []
    with unit_of_work(service=True) as session:
        assert session.scalars(select(SlackUserLink)).all() == []
        assert session.get_one(User, ann.id).email == "ann@example.com"
        assert session.get_one(UserSettings, ann.id).slack_enabled is False


def test_revoked_bot_tokens_forget_the_workspace_but_user_tokens_do_not(web: FlaskClient, fake: FakeSlack,
                                                                        ann: User) -> None:
    event(web, {"type": "tokens_revoked", "tokens": {"oauth": ["U1"]}}, event_id="Ev1")
    assert len(_installations()) == 1
    event(web, {"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}}, event_id="Ev2")
    assert _installations() == []


def test_an_event_slack_sends_again_is_acted_on_once(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    home = {"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home"}
    event(web, home, event_id="Ev9")
    retry = event(web, home, event_id="Ev9", headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert retry.status_code == 200
    assert len(fake.calls_to("views.publish")) == 1
    event(web, home, event_id="Ev10")
    assert len(fake.calls_to("views.publish")) == 2


def test_an_event_that_failed_is_done_when_slack_retries_it(web: FlaskClient, fake: FakeSlack,
                                                            installed: SlackInstallation) -> None:
    home = {"type": "app_home_opened", "user": "U7", "channel": "DU7", "tab": "home"}
    event(web, home, event_id="Ev11")  # users.info does not know U7 yet: the first attempt fails
    (apology,) = fake.calls_to("views.publish")
    assert APOLOGY in str(apology.args["view"]["blocks"]), "the tab says so rather than staying blank"
    fake.add_user("U7", email="gus@example.com", name="Gus Hill")
    event(web, home, event_id="Ev11", headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"})
    (_, home_tab) = fake.calls_to("views.publish")
    assert home_tab.args["view"]["blocks"][0]["text"]["text"].startswith("Today · ")


def test_single_workspace_mode_uses_the_bot_token_and_has_nothing_to_install(
        slack_env: Callable[..., None], fake: FakeSlack, connection: Connection) -> None:
    slack_env(SLACK_BOT_TOKEN="xoxb-single-workspace")
    web = create_app().test_client()
    assert web.get("/slack/install").status_code == 404
    fake.add_user("U1", email="solo@example.com", name="Solo Doe")
    command(web, fake, "today")
    assert {call.token for call in fake.calls if call.method != "respond"} == {"xoxb-single-workspace"}
    assert len(fake.calls_to("chat.postMessage")) == 1


def test_forgetting_a_workspace_needs_to_know_which(ann: User) -> None:
    assert forget_workspace(enterprise_id=None, team_id=None) == 0
    assert len(_installations()) == 1
    with unit_of_work(service=True) as session:
        assert [link.user_id for link in session.scalars(select(SlackUserLink))] == [ann.id]
