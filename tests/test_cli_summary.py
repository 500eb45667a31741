"""Machine-readable output names the lead by id, and `nbm summary send` mails last week's summary the
way the Monday job does: through the configured backend, never to someone whose email is off, and
never twice for a week, whichever of the two sends it first."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from click.testing import CliRunner
from sqlalchemy import Connection, select

from bot.channels import register_all
from bot.cli import main
from bot.email.backends import OutboxEntry, get_backend
from core import config
from core.db import unit_of_work
from core.jobs.tasks import deliver
from core.models import Delivery, WeeklySummary
from core.preferences import unsubscribe
from core.users import get_user_by_email
from tests.cli import nbm
from tests.factories import JOINED

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # Wed 25 Nov, noon in London: last week is Mon 16 – Sun 22 Nov
EMAIL = "ann@example.com"


@pytest.fixture(autouse=True)
def pinned_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def outbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Email goes to an outbox of this test's own (the default backend), as an operator's machine has it."""
    monkeypatch.setenv("NBM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EMAIL_BACKEND", "outbox")
    monkeypatch.setenv("BASE_URL", "https://nbm.example.com")
    config.get_settings.cache_clear()
    yield
    monkeypatch.undo()
    config.get_settings.cache_clear()


def added(email: str, name: str) -> uuid.UUID:
    """A user in London, added with the CLI now; their id."""
    assert nbm("users", "add", email, "--name", name, "--tz", "Europe/London").exit_code == 0
    with unit_of_work(service=True) as session:
        return get_user_by_email(session, email).id


@pytest.fixture()
def ann(connection: Connection) -> uuid.UUID:
    """A user in London, added with the CLI on 1 Oct (she lived last week); her id."""
    with time_machine.travel(JOINED, tick=False):
        return added(EMAIL, "Ann Lee")


def mailed() -> list[OutboxEntry]:
    return get_backend().entries()


def monday_job(user_id: uuid.UUID) -> str:
    """What the worker runs for last week's summary email (register_all: as every process starts)."""
    register_all()
    return deliver("weekly_summary", "email", str(user_id), "2026-11-16")


def test_plan_json_names_each_items_lead_by_id(ann: uuid.UUID) -> None:
    added = nbm("leads", "add", "--user", EMAIL, "Priya Raman", "https://www.linkedin.com/in/priya", "--json")
    plan = nbm("plan", "--user", EMAIL, "--json")
    assert plan.exit_code == 0, plan.output
    (item,) = json.loads(plan.output)["items"]
    assert (item["lead_id"], item["lead"]) == (json.loads(added.output)["id"], "Priya Raman")


def test_summary_send_mails_last_weeks_summary_through_the_configured_backend(ann: uuid.UUID) -> None:
    result = nbm("summary", "send", "--user", EMAIL)
    assert result.exit_code == 0, result.output
    (entry,) = mailed()
    assert "16–22 Nov" in entry.subject and EMAIL in entry.to
    assert f"Sent last week's summary to {EMAIL} via outbox (see https://nbm.example.com/dev/outbox)" in result.output
    assert "Message-ID <" in result.output


def test_summary_send_sends_nothing_when_the_monday_job_already_sent_it(ann: uuid.UUID) -> None:
    assert monday_job(ann).startswith("sent")
    result = nbm("summary", "send", "--user", EMAIL)
    assert result.exit_code == 0, result.output
    assert "already sent" in result.output and "nothing was sent again" in result.output
    assert len(mailed()) == 1


def test_the_monday_job_sends_nothing_after_summary_send_and_neither_does_a_second_send(ann: uuid.UUID) -> None:
    first = nbm("summary", "send", "--user", EMAIL)
    assert first.exit_code == 0, first.output
    message_id = first.output.split("Message-ID ")[1].strip()
    assert monday_job(ann) == f"already sent ({message_id})"
    again = nbm("summary", "send", "--user", EMAIL)
    assert again.exit_code == 0 and "already sent" in again.output and message_id in again.output
    assert len(mailed()) == 1


def test_summary_send_is_refused_when_email_is_off(ann: uuid.UUID) -> None:
    with unit_of_work(user_id=ann) as session:
        unsubscribe(session, user=get_user_by_email(session, EMAIL))
    result = nbm("summary", "send", "--user", EMAIL)
    assert result.exit_code == 2
    assert f"email is off for {EMAIL} (turned off or unsubscribed); nothing was sent" in result.output
    assert mailed() == []


def test_summary_send_to_a_user_who_joined_this_week_says_when_their_first_comes_and_records_nothing(
    connection: Connection,
) -> None:
    bea = added("bea@example.com", "Bea Stone")  # today, Wed 25 Nov: last week ended before she came
    result = nbm("summary", "send", "--user", "bea@example.com")
    assert result.exit_code == 2
    assert ("the week of Mon 16 Nov ended before you joined on Wed 25 Nov; your first weekly summary comes on "
            "Mon 30 Nov and covers the week you joined (23–29 Nov)") in result.output
    assert mailed() == []
    with unit_of_work(service=True) as session:
        assert session.scalars(select(Delivery).where(Delivery.user_id == bea)).all() == []
        assert session.scalars(select(WeeklySummary).where(WeeklySummary.user_id == bea)).all() == []


def test_a_week_before_the_first_says_from_which_week_summaries_start(ann: uuid.UUID) -> None:
    result = nbm("summary", "--user", EMAIL, "--week", "2026-09-21")
    assert result.exit_code == 2
    assert ("the week of Mon 21 Sep ended before you joined on Thu 1 Oct; your weekly summaries start with the "
            "week you joined, the week of Mon 28 Sep") in result.output
    first = nbm("summary", "--user", EMAIL, "--week", "2026-09-28", "--json")
    assert first.exit_code == 0 and json.loads(first.output)["week_start"] == "2026-09-28"


@pytest.mark.parametrize(("args", "message"), [
    (["summary", "send", "--user", "nobody@example.com"], "no user with the email 'nobody@example.com'"),
    (["summary", "--user", EMAIL, "send"], "put the options after `send`, e.g. nbm summary send --user EMAIL"),
])
def test_summary_send_refuses_bad_input_saying_what_was_wrong(ann: uuid.UUID, args: list[str], message: str) -> None:
    result = nbm(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert mailed() == []


@pytest.fixture()
def smtp_refusing() -> Iterator[int]:
    """The port of a local SMTP server that turns every connection away for good (554)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        def refuse() -> None:
            connection, _ = server.accept()
            with connection:
                connection.sendall(b"554 5.3.2 Not accepting mail\r\n")

        thread = threading.Thread(target=refuse, daemon=True)
        thread.start()
        yield server.getsockname()[1]
        thread.join(timeout=5)


def test_summary_send_says_plainly_when_the_server_refuses_and_can_be_run_again(
    ann: uuid.UUID, smtp_refusing: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {"EMAIL_BACKEND": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_refusing),
                        "SMTP_SECURITY": "none"}.items():
        monkeypatch.setenv(name, value)
    config.get_settings.cache_clear()
    refused = CliRunner().invoke(main, ["summary", "send", "--user", EMAIL])
    assert refused.exit_code == 1
    assert "nothing was sent" in refused.output and "Not accepting mail" in refused.output
    assert "Traceback" not in refused.output

    monkeypatch.setenv("EMAIL_BACKEND", "outbox")
    config.get_settings.cache_clear()
    sent = nbm("summary", "send", "--user", EMAIL)
    assert sent.exit_code == 0, sent.output
    assert len(mailed()) == 1
