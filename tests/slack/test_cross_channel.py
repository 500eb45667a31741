"""A change made outside Slack (an email link, the CLI) redraws this morning's plan DM and App Home."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.orm import Session

from bot.cli import main
from bot.email.links import EmailLinks
from core import queue as queue_module
from core.actions import marks
from core.models import ActionState, Channel, Delivery, DeliveryKind, DeliveryStatus, User
from tests.slack.conftest import add_leads, plan_of, run_redraws, state_of
from tests.slack.fake_slack import FakeSlack


def _delivered_dm(service: Session, user: User, day: date) -> None:
    """The morning job sent today's plan DM (recorded as the jobs record it)."""
    service.add(Delivery(user_id=user.id, kind=DeliveryKind.PLAN, channel=Channel.SLACK, period=day,
                         status=DeliveryStatus.SENT, external_id="DU1:1700000000.000042"))
    service.flush()


def test_marking_done_from_an_email_link_redraws_the_slack_plan_dm_and_home(
    web: FlaskClient, fake: FakeSlack, ann: User, service: Session, clock: None
) -> None:
    add_leads(ann, "Priya Raman")
    item = plan_of(ann).items[0]
    _delivered_dm(service, ann, plan_of(ann).date)
    token_url = EmailLinks.from_settings().action_url(user_id=ann.id, action_id=item.action_id,
                                                      mark=marks.DONE)
    fake.calls.clear()
    response = web.post(urlsplit(token_url).path)
    assert response.status_code == 200
    assert state_of(ann, item.action_id) == ActionState.DONE
    assert fake.calls == []  # nothing of Slack inside the email request: the redraw job does it
    run_redraws()
    (update,) = fake.calls_to("chat.update")
    assert (update.args["channel"], update.args["ts"]) == ("DU1", "1700000000.000042")
    assert "Priya Raman" in str(update.args["blocks"])
    assert [call.args["user_id"] for call in fake.calls_to("views.publish")] == ["U1"]


def test_a_change_from_an_email_page_asks_the_coalesced_redraw_job(
    web: FlaskClient, fake: FakeSlack, ann: User, service: Session, clock: None
) -> None:
    add_leads(ann, "Priya Raman")
    item = plan_of(ann).items[0]
    _delivered_dm(service, ann, plan_of(ann).date)
    url = EmailLinks.from_settings().action_url(user_id=ann.id, action_id=item.action_id, mark=marks.SENT)
    assert web.post(urlsplit(url).path).status_code == 200
    (job,) = queue_module.get_queue().scheduled_job_registry.get_job_ids()
    assert job.startswith(f"slack-redraw-{ann.id}-")
    fake.calls.clear()
    run_redraws()
    (update,) = fake.calls_to("chat.update")
    assert (update.args["channel"], update.args["ts"]) == ("DU1", "1700000000.000042")
    assert [call.args["user_id"] for call in fake.calls_to("views.publish")] == ["U1"]


def test_redis_out_of_reach_still_applies_and_answers_an_email_change(
    web: FlaskClient, ann: User, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, clock: None
) -> None:
    add_leads(ann, "Priya Raman")
    item = plan_of(ann).items[0]

    def unreachable(*_: Any, **__: Any) -> None:
        raise RedisConnectionError("Redis is down")

    monkeypatch.setattr("bot.web.redraw_slack.request_redraw", unreachable)
    url = EmailLinks.from_settings().action_url(user_id=ann.id, action_id=item.action_id, mark=marks.DONE)
    with caplog.at_level(logging.WARNING, logger="nbm.web.slack"):
        page = web.post(urlsplit(url).path)
    assert page.status_code == 200 and "Marked done" in page.text
    assert state_of(ann, item.action_id) == ActionState.DONE
    assert "could not schedule the Slack redraw" in caplog.text


def test_a_change_from_the_cli_redraws_slack_too(web: FlaskClient, fake: FakeSlack, ann: User, service: Session,
                                                 clock: None) -> None:
    add_leads(ann, "Tom Okafor")
    item = plan_of(ann).items[0]
    _delivered_dm(service, ann, plan_of(ann).date)
    fake.calls.clear()
    result = CliRunner().invoke(main, ["mark", "--user", ann.email, str(item.action_id), "sent"])
    assert result.exit_code == 0, result.output
    assert len(fake.calls_to("chat.update")) == 1 and len(fake.calls_to("views.publish")) == 1


@pytest.mark.parametrize(("command", "size"), [
    (["leads", "archive", "--user", "ann@example.com", "Tom Okafor"], "1 action, ~10 min"),
    (["leads", "snooze", "--user", "ann@example.com", "Tom Okafor", "--until", "2026-12-07"], "1 action, ~10 min"),
    (["plan", "--user", "ann@example.com", "--capacity", "micro"], "1 action, ~10 min"),
    (["plan", "--user", "ann@example.com", "--refresh"], "2 actions, ~20 min"),
], ids=["archive a lead", "snooze a lead", "capacity", "refresh"])
def test_a_plan_changed_from_the_cli_is_redrawn_in_slack(web: FlaskClient, fake: FakeSlack, ann: User,
                                                         service: Session, clock: None, command: list[str],
                                                         size: str) -> None:
    """Changing a lead or the plan itself from the CLI refreshes today's plan; this morning's DM and
    App Home show the refreshed plan at once, as after a mark (they went on showing the old one)."""
    add_leads(ann, "Tom Okafor", "Uma Patel")
    _delivered_dm(service, ann, plan_of(ann).date)
    fake.calls.clear()
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 0, result.output
    (update,) = fake.calls_to("chat.update")
    (home,) = fake.calls_to("views.publish")
    assert update.args["text"] == f"Your next best moves for Wed 25 Nov: {size}"
    titles = {item.title for item in plan_of(ann).items}
    assert len(titles) == int(size[0])
    for drawn in (str(update.args["blocks"]), str(home.args["view"])):
        assert all(title in drawn for title in titles)


def test_a_user_who_never_used_slack_gets_no_slack_call(web: FlaskClient, fake: FakeSlack, service: Session,
                                                        clock: None) -> None:
    from tests.factories import make_user

    bob = make_user(service, email="bob@example.com")
    add_leads(bob, "Dana")
    fake.calls.clear()
    result = CliRunner().invoke(main, ["mark", "--user", bob.email, str(plan_of(bob).items[0].action_id), "done"])
    assert result.exit_code == 0, result.output
    assert fake.calls == []


def test_leads_imported_from_the_cli_join_todays_plan_and_slack_is_redrawn_once(
    web: FlaskClient, fake: FakeSlack, ann: User, service: Session, clock: None, tmp_path: Path
) -> None:
    """As `nbm leads add` does, once for the whole file: the imported leads' outreach, due today, sat
    outside today's plan until the next morning, and this morning's DM and App Home never showed it."""
    add_leads(ann, "Tom Okafor")
    _delivered_dm(service, ann, plan_of(ann).date)
    fake.calls.clear()
    path = tmp_path / "leads.csv"
    path.write_text("name,url\nUma Patel,https://x.io/uma\nVic Moss,https://x.io/vic\nTom again,"
                    "https://www.linkedin.com/in/tom-okafor\n")

    result = CliRunner().invoke(main, ["leads", "import", "--user", ann.email, str(path)])

    assert result.exit_code == 0, result.output
    assert {item.title for item in plan_of(ann).items} == {
        "Reach out to Tom Okafor", "Reach out to Uma Patel", "Reach out to Vic Moss"}
    (update,) = fake.calls_to("chat.update")
    (home,) = fake.calls_to("views.publish")
    assert update.args["text"] == "Your next best moves for Wed 25 Nov: 3 actions, ~30 min"
    for drawn in (str(update.args["blocks"]), str(home.args["view"])):
        assert "Uma Patel" in drawn and "Vic Moss" in drawn


def test_an_import_that_adds_nobody_leaves_the_plan_and_slack_alone(
    web: FlaskClient, fake: FakeSlack, ann: User, service: Session, clock: None, tmp_path: Path
) -> None:
    add_leads(ann, "Tom Okafor")
    _delivered_dm(service, ann, plan_of(ann).date)
    fake.calls.clear()
    path = tmp_path / "leads.csv"
    path.write_text("name,url\nTom again,https://www.linkedin.com/in/tom-okafor\n")

    result = CliRunner().invoke(main, ["leads", "import", "--user", ann.email, str(path)])

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("imported 0 leads, 1 already there")
    assert fake.calls == []
