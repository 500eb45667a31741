"""A Google Calendar whose grant Google no longer honours is told to its user once, by Slack DM, and
by email when Slack will not post it: through ``nbm calendar sync``, the token refresh answered
``invalid_grant`` by Google's token endpoint (``responses``), the fake Slack Web API refusing the DM."""

from __future__ import annotations

from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, cast

import pytest
import responses
import time_machine
from click.testing import CliRunner
from sqlalchemy.orm import Session

from bot.cli import main
from core.calendars import google
from core.crypto import Secret
from core.models import User
from tests.calendars_oauth.conftest import NOW
from tests.factories import make_calendar_connection
from tests.slack.conftest import ann, fake, fake_server, installed, slack_env
from tests.slack.fake_slack import FakeSlack

#: Fixtures of the Slack tests, used here.
__all__ = ["ann", "fake", "fake_server", "installed", "slack_env"]


def outbox(folder: Path) -> list[EmailMessage]:
    return [cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(p.read_bytes()))
            for p in sorted((folder / "outbox").glob("*.eml"))]


@pytest.mark.parametrize(("answer", "status"), [({"ok": False, "error": "account_inactive"}, 200),
                                                ({"ok": False, "error": "internal_error"}, 500)],
                         ids=["account_inactive", "500"])
def test_an_expiry_slack_would_not_post_is_emailed_once_instead(
    slack_env: Callable[..., None], fake: FakeSlack, ann: User, service: Session, mocked: responses.RequestsMock,
    clock: time_machine.Traveller, tmp_path: Path, answer: dict[str, Any], status: int,
) -> None:
    slack_env(SLACK_CLIENT_ID="111.222", SLACK_CLIENT_SECRET="client-secret", EMAIL_BACKEND="outbox",
              GOOGLE_CLIENT_ID="google-client.apps.googleusercontent.com", GOOGLE_CLIENT_SECRET="google-secret",
              NBM_DATA_DIR=str(tmp_path))
    make_calendar_connection(service, ann, refresh_token=Secret("1//revoked-refresh"),
                             access_token=Secret("ya29.stale"), expires_at=int(NOW.timestamp()) - 60)
    mocked.post(google.TOKEN_URI, status=400,
                json={"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
    fake.queue("chat.postMessage", answer, status=status)

    for _ in range(2):  # told once, however often the calendar is read after
        synced = CliRunner().invoke(main, ["calendar", "sync", "--user", ann.email, "--date", "2026-03-02"],
                                    catch_exceptions=False)
        assert synced.exit_code == 0, synced.output
        assert "could not read google" in synced.output and "(invalid_grant)" in synced.output

    assert len(fake.calls_to("chat.postMessage")) == 1
    (told,) = outbox(tmp_path)
    assert (str(told["To"]), str(told["Subject"])) == ("Ann Lee <ann@example.com>",
                                                       "Your Google Calendar needs reconnecting")
    for kind in ("plain", "html"):
        body = told.get_body(preferencelist=(kind,))
        assert body is not None
        said = " ".join(str(body.get_content()).split())  # a read at any hour: not "this morning"
        assert "We could not read it: Google no longer accepts this connection" in said
        assert ("Until you reconnect it, your next plans use the default capacity of 5 actions a day (or the capacity "
                "you set for a day) instead of the free time in your calendar.") in said


def test_the_expiry_dm_says_what_sizes_the_plans_until_it_is_reconnected(
    slack_env: Callable[..., None], fake: FakeSlack, ann: User, service: Session, mocked: responses.RequestsMock,
    clock: time_machine.Traveller,
) -> None:
    """Whatever capacity Ann set for a day: that capacity still wins over the default."""
    slack_env(SLACK_CLIENT_ID="111.222", SLACK_CLIENT_SECRET="client-secret",
              GOOGLE_CLIENT_ID="google-client.apps.googleusercontent.com", GOOGLE_CLIENT_SECRET="google-secret")
    make_calendar_connection(service, ann, refresh_token=Secret("1//revoked-refresh"),
                             access_token=Secret("ya29.stale"), expires_at=int(NOW.timestamp()) - 60)
    mocked.post(google.TOKEN_URI, status=400,
                json={"error": "invalid_grant", "error_description": "Token has been expired or revoked."})

    synced = CliRunner().invoke(main, ["calendar", "sync", "--user", ann.email], catch_exceptions=False)
    assert synced.exit_code == 0, synced.output

    (told,) = fake.calls_to("chat.postMessage")
    assert told.args["text"] == ("Your Google Calendar needs reconnecting, so until then your next plans use the "
                                 "default capacity of 5 actions a day (or the capacity you set for a day).")
    assert "Reconnect Google Calendar" in str(told.args["blocks"])
