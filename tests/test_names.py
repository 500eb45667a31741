"""Names that cannot break mail: a user's or a lead's name with a line break, a tab or another control
character is refused where the person typed it (the CLI, a plain CSV, the add-lead modal) with a
message saying what a name may be, and nothing changes; it is cleaned where someone else wrote it (a
Slack profile, a LinkedIn export). Names stored before the rule are cleaned by migration 0007."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from click.testing import Result
from flask.testing import FlaskClient
from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from core import migrate
from core.db import unit_of_work
from core.models import Lead, SlackInstallation, User
from core.names import ACCEPTED
from tests.cli import nbm
from tests.factories import make_user
from tests.slack.conftest import (  # noqa: F401 - fixtures
    ann,
    command,
    fake,
    fake_server,
    installed,
    interact,
    oauth_env,
    slack_env,
    view_submission,
    web,
)
from tests.slack.fake_slack import FakeSlack

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
#: Names as they may be typed or pasted, each holding a character that breaks a mail header or a log line.
BREAKERS = ["Ann\nLee", "Ann\r\nBcc: everyone@example.com", "Ann\tLee", "Ann\x1b[31mLee", "Ann\u2028Lee", "Ann\x85Lee"]


@pytest.fixture(autouse=True)
def pinned_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _users() -> list[tuple[str, str]]:
    with unit_of_work(service=True) as session:
        return [(user.email, user.name) for user in session.scalars(select(User).order_by(User.email))]


def _lead_names() -> list[str]:
    with unit_of_work(service=True) as session:
        return list(session.scalars(select(Lead.name).order_by(Lead.name)))


def _refused(result: Result) -> None:
    """Exit code 2, the reason and what a name may be, in a sentence rather than a traceback."""
    assert result.exit_code == 2, result.output
    assert "contains a line break, a tab or another control character" in result.output
    assert ACCEPTED in " ".join(result.output.split())
    assert "Traceback" not in result.output


@pytest.mark.parametrize("name", BREAKERS)
def test_nbm_users_add_refuses_such_a_name_and_adds_nobody(connection: Connection, name: str) -> None:
    _refused(nbm("users", "add", "ann@example.com", "--name", name))
    assert _users() == []


def test_nbm_leads_add_refuses_such_a_name_and_adds_nothing(service: Session) -> None:
    user = make_user(service, email="ann@example.com")
    _refused(nbm("leads", "add", "--user", user.email, "Bea\r\nStone", "https://example.com/bea"))
    assert _lead_names() == []
    assert nbm("leads", "add", "--user", user.email, "Bea Stone", "https://example.com/bea").exit_code == 0


def test_a_plain_csv_row_with_such_a_name_is_refused_by_line_and_the_others_land(service: Session,
                                                                                   tmp_path: Path) -> None:
    user = make_user(service, email="ann@example.com")
    csv = tmp_path / "leads.csv"
    csv.write_text('name,url\n"Bea\nStone",https://example.com/bea\nCy Hill,https://example.com/cy\n')
    result = nbm("leads", "import", "--user", user.email, str(csv))
    assert result.exit_code == 1, result.output  # a refused row makes the import exit 1, saying so
    assert "imported 1 lead, 0 already there, 1 row refused" in result.output
    assert "line 2: 'Bea\\nStone' contains a line break" in result.output
    assert _lead_names() == ["Cy Hill"]


def test_a_linkedin_export_name_with_a_line_break_is_cleaned(service: Session, tmp_path: Path) -> None:
    user = make_user(service, email="ann@example.com")
    csv = tmp_path / "Connections.csv"
    csv.write_text("First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
                   "Bea\x07,Stone,https://www.linkedin.com/in/bea,,,,12 Nov 2026\n"
                   '"Cy\nDan",Hill,https://www.linkedin.com/in/cy,,,,12 Nov 2026\n')
    assert nbm("leads", "import", "--user", user.email, str(csv)).exit_code == 0
    assert _lead_names() == ["Bea Stone", "Cy Dan Hill"]


def test_the_add_lead_modal_refuses_such_a_name_on_its_field(
        web: FlaskClient, fake: FakeSlack, ann: User) -> None:  # noqa: F811
    response = interact(web, view_submission("nbm_add_lead", {
        "name": {"type": "plain_text_input", "value": "Dana\nFox"},
        "url": {"type": "plain_text_input", "value": "https://example.com/dana"}}))
    assert response.json["response_action"] == "errors"
    assert response.json["errors"]["name"].startswith("'Dana\\nFox' contains a line break")
    assert _lead_names() == []


def test_a_slack_profile_name_is_cleaned_on_first_contact(
        web: FlaskClient, fake: FakeSlack, installed: SlackInstallation) -> None:  # noqa: F811
    fake.add_user("U9", email="neo@example.com", name="Neo\r\nPark")
    command(web, fake, "streak", user="U9")
    fake.queue("users.info", {"ok": True, "user": {  # a real name of nothing but control characters
        "id": "U8", "tz": "Europe/Paris", "is_email_confirmed": True, "real_name": "\n\t",
        "profile": {"real_name": "\n\t", "display_name": "Tri\x1b", "email": "tri@example.com"}}})
    command(web, fake, "streak", user="U8")
    assert _users() == [("neo@example.com", "Neo Park"), ("tri@example.com", "Tri")]


def test_migration_0007_cleans_the_names_stored_before_the_rule(connection: Connection, service: Session) -> None:
    """Runs inside the test's transaction (PostgreSQL DDL is transactional), so it is rolled back."""
    migrate.downgrade(connection, "0006")
    # Rows written in SQL, as the schema was at 0006 (the models describe today's).
    connection.execute(text("SELECT set_config('app.service', 'on', true)"))
    people = (("ann@example.com", "Ann\r\nLee"), ("bo.ray@example.com", "\n"), ("cy@example.com", "Cy  Hill"))
    for email, name in people:
        connection.execute(text("INSERT INTO users (email, name) VALUES (:e, :n)"), {"e": email, "n": name})
    for n, name in enumerate(("Bea \n Stone", "\x07")):
        connection.execute(text("INSERT INTO leads (user_id, name, url) SELECT id, :name, :url FROM users "
                                "WHERE email = 'ann@example.com'"), {"name": name, "url": f"https://example.com/{n}"})
    migrate.upgrade(connection)
    assert _users() == [("ann@example.com", "Ann Lee"), ("bo.ray@example.com", "bo.ray"),
                        ("cy@example.com", "Cy  Hill")]
    assert _lead_names() == ["Bea Stone", "Unnamed lead"]


def test_every_channel_stores_a_name_with_its_spaces_folded(service: Session, tmp_path: Path) -> None:
    """Two spaces, a non-breaking space pasted from LinkedIn, a thin space: one plain space, in the CLI,
    a plain CSV and a LinkedIn export alike (Slack's `/nbm add`: tests/slack/test_typed_input.py)."""
    assert nbm("users", "add", "ann@example.com", "--name", "Ann \u00a0Lee ").exit_code == 0
    assert nbm("leads", "add", "--user", "ann@example.com", "Bea\u00a0 Stone", "https://example.com/bea").exit_code == 0
    plain, linkedin = tmp_path / "leads.csv", tmp_path / "Connections.csv"
    plain.write_text("name,url\nCy  Hill,https://example.com/cy\n")
    linkedin.write_text("First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
                        "Dee\u2009\u00a0,Fox,https://www.linkedin.com/in/dee,,,,12 Nov 2026\n")
    for csv in (plain, linkedin):
        assert nbm("leads", "import", "--user", "ann@example.com", str(csv)).exit_code == 0
    assert _users() == [("ann@example.com", "Ann Lee")]
    assert _lead_names() == ["Bea Stone", "Cy Hill", "Dee Fox"]


def test_the_cli_finds_a_lead_whose_name_was_stored_with_odd_spaces(service: Session) -> None:
    user = make_user(service, email="ann@example.com")
    assert nbm("leads", "add", "--user", user.email, "Eve Park", "https://example.com/eve").exit_code == 0
    service.execute(text("UPDATE leads SET name = 'Eve \u00a0 Park'"))  # as stored before names were folded
    result = nbm("leads", "snooze", "--user", user.email, "Eve Park", "--until", "2026-12-15")
    assert result.exit_code == 0, result.output
    with unit_of_work(service=True) as session:
        assert session.scalars(select(Lead.status)).one() == "SNOOZED"
