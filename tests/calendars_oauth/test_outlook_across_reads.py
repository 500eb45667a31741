"""Outlook across reads: what the process keeps (Microsoft's sign-in metadata) and what the morning,
reading with no unit of work open, writes back (the tokens a refresh rotated)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import responses
import time_machine
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cli import main
from core import config
from core.calendars import outlook
from core.calendars.http import ConnectRefused
from core.calendars.morning import free_minutes_for_users
from core.calendars.oauth_state import new_state
from core.config import Settings
from core.crypto import Secret
from core.db import unit_of_work
from core.models import CalendarConnection, CalendarConnectionStatus, User
from tests.calendars_oauth.conftest import NOW
from tests.calendars_oauth.microsoft import (
    DISCOVERY,
    LOGIN,
    OPENID_CONFIGURATION,
    Microsoft,
    calendar_view,
    connect,
    event,
)
from tests.factories import deleted_afterwards, make_user

pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended")


def test_tokens_microsoft_refreshed_during_the_morning_read_are_kept(
    engine: object, settings: Settings, microsoft: Microsoft, mocked: responses.RequestsMock,
    clock: time_machine.Traveller, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The morning reads without holding the connection's row: what the refresh rotated is written back."""
    for name in ("MICROSOFT_CLIENT_ID", "MICROSOFT_CLIENT_SECRET"):  # the provider reads the process's settings
        monkeypatch.setenv(name, str(getattr(settings, name.lower())))
    config.get_settings.cache_clear()
    with unit_of_work(service=True) as session:
        user_id = make_user(session, timezone="UTC", email=f"outlook-{uuid.uuid4().hex[:8]}@example.com").id
    with deleted_afterwards(user_id):
        with unit_of_work(service=True) as session:
            cache_before = connect(session, settings, microsoft, session.get_one(User, user_id)).token_cache
        clock.shift(timedelta(hours=2))  # 09:30: this morning's access token has expired
        microsoft.refresh_answers.append((200, microsoft.tokens(2)))
        calendar_view(mocked, {"value": [event("10:00", "11:00")]})

        assert free_minutes_for_users([user_id], at=NOW + timedelta(hours=2), budget=10) == {user_id: 7 * 60}

        with unit_of_work(service=True) as session:
            row = session.scalars(select(CalendarConnection).where(CalendarConnection.user_id == user_id)).one()
            assert (row.refresh_token, row.access_token) == (Secret("0.refresh-2"), Secret("eyJ0.access-2"))
            assert row.token_cache is not None and row.token_cache != cache_before
            assert row.status == CalendarConnectionStatus.ACTIVE
    config.get_settings.cache_clear()


def test_the_tenant_metadata_is_read_once_for_every_connection_and_read_of_the_process(
    service: Session, settings: Settings, microsoft: Microsoft, mocked: responses.RequestsMock,
    clock: time_machine.Traveller, monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("MICROSOFT_CLIENT_ID", "MICROSOFT_CLIENT_SECRET"):  # what `nbm` reads its settings from
        monkeypatch.setenv(name, str(getattr(settings, name.lower())))
    config.get_settings.cache_clear()
    users = [make_user(service, timezone="UTC") for _ in range(3)]
    for user in users:  # each callback its own unit of work, as the route's: finishing it narrows it to its user
        with unit_of_work(service=True) as session:
            connect(session, settings, microsoft, user)
    calendar_view(mocked, *({"value": [event("10:00", "11:00")]} for _ in users))

    for user in users:
        day = CliRunner().invoke(main, ["calendar", "sync", "--user", user.email, "--date", "2026-03-02"])
        assert day.exit_code == 0, day.output
        assert "busy 10:00-11:00" in day.output

    # Three connections and three reads built six msal applications; Microsoft was asked once.
    assert [call.request.url for call in mocked.calls].count(DISCOVERY) == 1
    config.get_settings.cache_clear()


def test_tenant_metadata_microsoft_failed_to_give_is_asked_for_again(
    service: Session, settings: Settings, mocked: responses.RequestsMock,
) -> None:
    user = make_user(service)
    mocked.get(DISCOVERY, status=503)
    with pytest.raises(ConnectRefused, match="could not be reached; try again in a minute"):
        outlook.authorization_url(service, state=new_state(), user_id=user.id, settings=settings)

    mocked.replace(responses.GET, DISCOVERY, json=OPENID_CONFIGURATION)
    consent = outlook.authorization_url(service, state=new_state(), user_id=user.id, settings=settings)
    assert consent.startswith(f"{LOGIN}/oauth2/v2.0/authorize?")
