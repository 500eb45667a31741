"""A plan item's number is its own for the day, the same on every surface: ``nbm plan`` shows the
number (the Fast Win of a new plan is 1), a refresh that drops an item leaves the others' numbers as
they were and never gives a number twice, and the email digest, and the page its text part links to,
show the numbers the Slack plan DM shows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from click.testing import Result
from flask.testing import FlaskClient
from sqlalchemy import Connection

from bot.email.backends import get_backend
from bot.slack.delivery import plan_sender
from core.models import User
from tests.email import conftest as email_fixtures
from tests.email.pages import path, text_of
from tests.email.sending import mail_digest
from tests.slack import conftest as slack_fixtures
from tests.slack.conftest import NOW, command, deliver_dm, plan_drawn
from tests.slack.fake_slack import FakeSlack
from tests.slack.test_plan_numbers import morning_of_four, numbered_rows
from tests.test_cli_core import nbm

EMAIL = "bo@example.com"

# The fixtures of tests/slack (signed requests, the fake Web API) and tests/email (the outbox), which
# pytest finds here by name.
fake_server, fake, slack_env, oauth_env, web, installed, ann = (
    slack_fixtures.fake_server, slack_fixtures.fake, slack_fixtures.slack_env, slack_fixtures.oauth_env,
    slack_fixtures.web, slack_fixtures.installed, slack_fixtures.ann)
email_settings = email_fixtures.email_settings


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture()
def user(connection: Connection) -> str:
    assert nbm("users", "add", EMAIL, "--name", "Bo Chen", "--tz", "Europe/London").exit_code == 0
    return EMAIL


def shown(result: Result) -> list[str]:
    """The item lines of ``nbm plan`` (``number. title (minutes)``), the Fast Win's mark kept."""
    assert result.exit_code == 0, result.output
    return [line.strip() for line in result.output.splitlines() if re.match(r"^ ?\d+\. ", line)]


def test_nbm_plan_shows_the_fast_win_as_1(user: str) -> None:
    """Before the fix it printed the item's position: ``0. ★ Fast Win: …``."""
    assert nbm("leads", "add", "--user", user, "Bea Stone", "https://x.io/bea").exit_code == 0
    assert shown(nbm("plan", "--user", user)) == ["1. ★ Fast Win: Reach out to Bea Stone (10 min)"]


def test_a_refresh_that_drops_items_keeps_the_others_numbers_and_never_gives_one_twice(
    user: str, clock: time_machine.Traveller
) -> None:
    for name in ("Bea Stone", "Dan Ode", "Carl Diaz", "Eve Park"):  # each added lead refreshes today's plan
        assert nbm("leads", "add", "--user", user, name, f"https://x.io/{name.split()[0].lower()}").exit_code == 0
        clock.shift(timedelta(minutes=1))
    assert shown(nbm("plan", "--user", user)) == [
        "1. ★ Fast Win: Reach out to Bea Stone (10 min)", "2. Reach out to Dan Ode (10 min)",
        "3. Reach out to Carl Diaz (10 min)", "4. Reach out to Eve Park (10 min)"]

    assert nbm("leads", "snooze", "--user", user, "Dan Ode", "--until", "2026-12-01").exit_code == 0
    assert shown(nbm("plan", "--user", user)) == [
        "1. ★ Fast Win: Reach out to Bea Stone (10 min)", "3. Reach out to Carl Diaz (10 min)",
        "4. Reach out to Eve Park (10 min)"]

    # Eve's 4, the highest given, leaves with her; Fay, added next, gets 5.
    assert nbm("leads", "archive", "--user", user, "Eve Park").exit_code == 0
    assert nbm("leads", "add", "--user", user, "Fay Wu", "https://x.io/fay").exit_code == 0
    assert shown(nbm("plan", "--user", user, "--refresh")) == [
        "1. ★ Fast Win: Reach out to Bea Stone (10 min)", "3. Reach out to Carl Diaz (10 min)",
        "5. Reach out to Fay Wu (10 min)"]


@pytest.mark.usefixtures("email_settings")
def test_the_digest_shows_the_numbers_the_slack_plan_dm_shows(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    """A plan made early (``/nbm today`` before the morning's delivery), then a reply joins it: the
    morning's DM (the message `/nbm today` posted, brought up to date) and digest both show it with
    its number, 5, in its place after the Fast Win."""
    morning_of_four(ann)
    command(web, fake, "today")
    command(web, fake, "replied Zed")
    fake.calls.clear()
    deliver_dm(plan_sender, ann, NOW.date())
    mail_digest(ann.id)

    in_slack = numbered_rows(plan_drawn(fake)["blocks"])
    assert in_slack == [(1, "Reach out to Bea Stone"), (5, "Reply to Zed Wolf"), (2, "Reach out to Dan Ode"),
                        (3, "Reach out to Carl Diaz"), (4, "Reach out to Eve Park")]
    outbox = get_backend()
    text = outbox.read(outbox.entries()[0].id).get_body(("plain",)).get_content()
    rows = [re.fullmatch(r"(\d+)\. (?:\[Fast Win\] )?(.+) \(~\d+ min\)", line) for line in text.splitlines()]
    assert [(int(row.group(1)), row.group(2)) for row in rows if row is not None] == in_slack


@pytest.mark.usefixtures("email_settings")
def test_the_page_the_digest_links_to_shows_the_numbers_the_digest_shows(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    """The today page listed the plan's moves without their numbers, so a reader could not tell which
    one `/nbm done 3` would mark. After a reply joins, the page shows each move with its number, in the
    digest's order (the Fast Win first, the reply next as #5), as the digest's HTML part shows them."""
    morning_of_four(ann)
    command(web, fake, "today")
    command(web, fake, "replied Zed")
    mail_digest(ann.id)
    outbox = get_backend()
    message = outbox.read(outbox.entries()[0].id)
    html = text_of(message.get_body(("html",)).get_content())
    rows = re.findall(r"#(\d+) (?:⚡ Fast Win )?~\d+ min (.+?) Open ", html)
    in_digest = [(int(number), title) for number, title in rows]
    assert in_digest == [(1, "Reach out to Bea Stone"), (5, "Reply to Zed Wolf"), (2, "Reach out to Dan Ode"),
                         (3, "Reach out to Carl Diaz"), (4, "Reach out to Eve Park")]

    (link,) = re.findall(r"https://\S+/today/\S+", message.get_body(("plain",)).get_content())
    page = text_of(web.get(path(link)).get_data(as_text=True))
    rows = re.findall(r"#(\d+) (?:⚡ Fast Win )?(.+?) ~\d+ min", page)
    on_page = [(int(number), title) for number, title in rows]
    assert on_page == in_digest
