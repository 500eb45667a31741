"""A Slack user becomes a NextBestMove user on first contact, from their Slack profile."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bot.slack.acting import acting_as_slack_user
from core import clock
from core.db import unit_of_work
from core.jobs.schedule import due_deliveries
from core.models import Channel, DeliveryKind, SlackInstallation, SlackUserLink, User, UserSettings
from tests.factories import make_user
from tests.slack.conftest import TEAM, command, replies
from tests.slack.fake_slack import FakeSlack


def _user_by_email(email: str) -> User | None:
    with unit_of_work(service=True) as session:
        return session.scalar(select(User).where(User.email == email))


def _links() -> list[SlackUserLink]:
    with unit_of_work(service=True) as session:
        return list(session.scalars(select(SlackUserLink)))


def test_first_contact_creates_the_user_from_the_profile(web: FlaskClient, fake: FakeSlack,
                                                         installed: SlackInstallation) -> None:
    fake.add_user("U9", email="neo@example.com", name="Neo Park", tz="America/Los_Angeles")
    command(web, fake, "streak", user="U9")
    command(web, fake, "streak", user="U9")
    user = _user_by_email("neo@example.com")
    assert (user.name, user.timezone) == ("Neo Park", "America/Los_Angeles")
    assert [(link.team_id, link.slack_user_id, link.user_id) for link in _links()] == [("T1", "U9", user.id)]
    with unit_of_work(service=True) as session:
        settings = session.get_one(UserSettings, user.id)
        assert (settings.slack_enabled, settings.email_enabled) == (True, True)
    assert len(fake.calls_to("users.info")) == 1, "the link is found again on the second contact"


@pytest.mark.parametrize("text", ["help", "", "what is this"], ids=["help", "bare", "unknown"])
def test_asking_for_the_help_is_first_contact_too(web: FlaskClient, fake: FakeSlack, installed: SlackInstallation,
                                                  text: str) -> None:
    """README: "say `/nbm help` to the app: you become a user". The help answered without making one,
    so the morning never came for someone who had only asked for it."""
    fake.add_user("U9", email="neo@example.com", name="Neo Park", tz="America/Los_Angeles")
    command(web, fake, text, user="U9")
    user = _user_by_email("neo@example.com")
    assert user is not None and (user.name, user.timezone) == ("Neo Park", "America/Los_Angeles")
    assert [(link.slack_user_id, link.user_id) for link in _links()] == [("U9", user.id)]
    (reply,) = replies(fake)
    assert "`/nbm today`" in reply


@pytest.mark.parametrize(("tz", "stored"), [
    ("Etc/UTC", "UTC"), ("Etc/GMT", "UTC"), ("GMT", "UTC"), ("US/Pacific", "America/Los_Angeles"),
    ("Canada/Newfoundland", "America/St_Johns"),
])
def test_a_slack_timezone_that_is_not_a_place_is_read_as_migration_0008_reads_it(
        web: FlaskClient, fake: FakeSlack, installed: SlackInstallation, tz: str, stored: str) -> None:
    """They all became America/New_York: hours off, where migration 0008 gave the stored names the
    same rules (core.clock.place_for)."""
    fake.add_user("U9", email="neo@example.com", name="Neo Park", tz=tz)
    command(web, fake, "streak", user="U9")
    assert _user_by_email("neo@example.com").timezone == stored


def test_a_slack_timezone_that_is_an_alias_is_its_place_where_the_system_has_no_tz_source(
        web: FlaskClient, fake: FakeSlack, installed: SlackInstallation, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Zone files without the tz database's source (``tzdata.zi``), as on macOS: the links are read
    from the ``tzdata`` package's copy, zoneinfo's own fallback. Read from nowhere, ``US/Pacific``
    became UTC, eight hours off."""
    monkeypatch.setattr(clock, "TZPATH", (str(tmp_path),))
    clock._links.cache_clear()
    try:
        fake.add_user("U9", email="neo@example.com", name="Neo Park", tz="US/Pacific")
        command(web, fake, "streak", user="U9")
    finally:
        clock._links.cache_clear()
    assert _user_by_email("neo@example.com").timezone == "America/Los_Angeles"


def _morning_owed(user_id: uuid.UUID, at: datetime) -> set[date]:
    """The mornings the scheduler owes the user by email at ``at``: the day of each plan due."""
    with unit_of_work(service=True) as session:
        return {due.period for due in due_deliveries(session, at=at, channels=[Channel.EMAIL], user_id=user_id)
                if due.kind == DeliveryKind.PLAN}


@pytest.mark.usefixtures("clock")
@pytest.mark.parametrize(("tz", "place", "morning"), [
    ("CET", "Europe/Brussels", time(6, 30)), ("MET", "Europe/Brussels", time(6, 30)),
    ("EET", "Europe/Athens", time(5, 30)), ("WET", "Europe/Lisbon", time(7, 30)),
    ("EST5EDT", "America/New_York", time(12, 30)), ("CST6CDT", "America/Chicago", time(13, 30)),
    ("MST7MDT", "America/Denver", time(14, 30)), ("PST8PDT", "America/Los_Angeles", time(15, 30)),
    ("EST", "America/Panama", time(12, 30)), ("MST", "America/Phoenix", time(14, 30)),
    ("HST", "Pacific/Honolulu", time(17, 30)),
])
def test_a_slack_timezone_that_is_a_system_v_rule_is_the_place_whose_clock_it_keeps(
        web: FlaskClient, fake: FakeSlack, installed: SlackInstallation, tz: str, place: str, morning: time) -> None:
    """Where the server's tz data has these as zones of their own (before tzdata 2024b made them links
    to these places; Debian's, which keeps them), they linked to no place and became UTC: the morning
    came at 07:30 UTC, 08:30 in Brussels and 02:30 in New York. ``morning`` is 07:30 at ``place`` on
    Thursday 26 November 2026, in UTC: until then the scheduler owes Wednesday's (the day they joined)."""
    fake.add_user("U9", email="neo@example.com", name="Neo Park", tz=tz)
    command(web, fake, "streak", user="U9")
    user = _user_by_email("neo@example.com")
    assert user.timezone == place
    thursday_morning = datetime.combine(date(2026, 11, 26), morning, tzinfo=UTC)
    assert _morning_owed(user.id, thursday_morning - timedelta(minutes=1)) == {date(2026, 11, 25)}
    assert _morning_owed(user.id, thursday_morning) == {date(2026, 11, 26)}


@pytest.mark.parametrize("tz", ["Etc/GMT+5", "Etc/GMT-14"])
def test_a_slack_timezone_that_is_a_fixed_offset_is_kept_as_itself(
        web: FlaskClient, fake: FakeSlack, installed: SlackInstallation, tz: str) -> None:
    """They became UTC, hours off: Etc/GMT+5 is five hours behind UTC (IANA's sign is inverted). The
    settings form shows the timezone kept."""
    fake.add_user("U9", email="neo@example.com", name="Neo Park", tz=tz)
    command(web, fake, "settings", user="U9")
    (opened,) = fake.calls_to("views.open")
    (field,) = [block for block in opened.args["view"]["blocks"] if block["block_id"] == "timezone"]
    assert field["element"]["initial_value"] == tz
    assert _user_by_email("neo@example.com").timezone == tz


def test_an_unknown_slack_timezone_falls_back_to_the_default(web: FlaskClient, fake: FakeSlack,
                                                            installed: SlackInstallation) -> None:
    fake.add_user("U9", email="neo@example.com", name="Neo Park", tz="Mars/Olympus_Mons")
    command(web, fake, "streak", user="U9")
    assert _user_by_email("neo@example.com").timezone == "America/New_York"


def test_an_existing_user_with_a_confirmed_email_is_linked_not_duplicated(
        web: FlaskClient, fake: FakeSlack, installed: SlackInstallation, service: Session) -> None:
    existing = make_user(service, email="Neo@Example.com", name="Neo P.", timezone="Europe/Berlin")
    fake.add_user("U9", email="neo@example.com", name="Neo Park", tz="America/Los_Angeles")
    command(web, fake, "streak", user="U9")
    assert [link.user_id for link in _links()] == [existing.id]
    with unit_of_work(service=True) as session:
        assert session.get_one(User, existing.id).timezone == "Europe/Berlin"
        assert session.get_one(UserSettings, existing.id).slack_enabled is True
        assert len(session.scalars(select(User)).all()) == 1


def test_an_unconfirmed_email_does_not_open_someone_elses_account(
        web: FlaskClient, fake: FakeSlack, installed: SlackInstallation, service: Session) -> None:
    make_user(service, email="neo@example.com", name="Neo")
    fake.add_user("U9", email="neo@example.com", name="Not Neo", confirmed=False)
    command(web, fake, "streak", user="U9")
    assert "Slack has not confirmed that address is yours" in replies(fake)[0]
    assert _links() == []


def test_without_an_email_the_person_is_told_what_is_missing(web: FlaskClient, fake: FakeSlack,
                                                             installed: SlackInstallation) -> None:
    fake.add_user("U9", email=None, name="No Mail")
    command(web, fake, "streak", user="U9")
    assert "could not read your email address from Slack" in replies(fake)[0]
    assert _links() == []


def test_a_slack_request_acts_in_its_users_own_context_only(service: Session, ann: User) -> None:
    """The one statement that finds who is pressing also narrows the unit of work to them: from then
    on it reads no one else's rows, and is no longer the service."""
    bob = make_user(service, name="Bob Stone", email="bob@example.com")
    service.flush()
    with acting_as_slack_user(team_id=TEAM, slack_user_id="U1", first_contact=lambda: bob.id) as (session, user):
        assert user.id == ann.id
        assert [u.id for u in session.scalars(select(User)).all()] == [ann.id]
        assert session.scalar(text("SELECT current_setting('app.service', true)")) == ""
