"""The one link of the digest's text part: today's plan, with every action's buttons.

A reader of the plain-text part (a terminal mail client, a watch, a "plain text" setting) gets one
link instead of four long signed links per action; these tests follow the link a real digest carries.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from click.testing import CliRunner
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cli import main
from bot.email import links as signed
from bot.email.backends import SmtpBackend, get_backend
from bot.email.links import EmailLinks
from core.actions.service import change_state
from core.config import Settings
from core.db import set_context
from core.models import ActionState, ActionType, Channel, DailyPlan, User
from tests.email.conftest import StartSmtp
from tests.email.pages import TODAY, World, forms, hrefs, make_world, path, state_of, tamper, text_of
from tests.email.sending import mail_digest
from tests.factories import make_action, make_lead

pytestmark = pytest.mark.usefixtures("email_settings", "connection")


def todays_link(user: User) -> str:
    """The link to today's plan in the text part of the digest ``user`` is sent now."""
    mail_digest(user.id)
    outbox = get_backend()
    text = outbox.read(outbox.entries()[0].id).get_body(("plain",)).get_content()
    (link,) = re.findall(r"https://\S+/today/\S+", text)
    return link


def buttons_by_action(links: EmailLinks, html: str) -> dict[uuid.UUID, dict[str, str]]:
    """Each action's buttons on a page, in order: label → where it posts."""
    found: dict[uuid.UUID, dict[str, str]] = {}
    for label, target in forms(html):
        found.setdefault(links.read_action(target.rsplit("/a/", 1)[1]).action_id, {})[label] = target
    return found


@pytest.fixture()
def world(service: Session, clock: Any) -> World:
    """Ann, Bo and Cy in today's plan; the message to Ann went out this morning, so she is waiting for a reply."""
    world = make_world(service, streak_count=2, last_action_date=TODAY - timedelta(days=1))  # done Tue and Mon
    change_state(service, user=world.user, action_id=world.actions[0].id, to=ActionState.SENT, channel=Channel.CLI)
    return world


def test_the_text_part_links_once_to_todays_plan_where_every_action_has_its_buttons(
    client: Any, links: EmailLinks, service: Session, world: World
) -> None:
    ann, bo, cy = world.actions
    page = client.get(path(todays_link(world.user)))
    assert page.status_code == 200
    words = text_of(page.text)
    assert "Today's plan, Wed 25 Nov" in words and "Streak: 2 days" in words
    assert "2 of 3 actions left, ~20 min." in words
    buttons = buttons_by_action(links, page.text)
    assert {action: list(labels) for action, labels in buttons.items()} == {
        bo.id: ["Done", "Sent", "Replied", "Snooze a week"],
        cy.id: ["Done", "Sent", "Replied", "Snooze a week"],
        ann.id: ["Replied"],  # waiting for a reply
    }
    assert [state_of(service, action) for action in (ann, bo, cy)] == [ActionState.SENT, ActionState.NEW,
                                                                      ActionState.NEW]  # opening changed nothing

    pressed = client.post(buttons[bo.id]["Done"])
    assert "Marked done: Reach out to Bo Chen" in text_of(pressed.text)
    assert state_of(service, bo) == ActionState.DONE


def test_a_lead_archived_after_the_digest_went_out_leaves_the_page_and_its_buttons(
    client: Any, links: EmailLinks, world: World
) -> None:
    """The page is read when the reader opens it: Bo, archived from the CLI since, is not offered;
    Ann, already messaged, stays."""
    ann, _, cy = world.actions
    link = path(todays_link(world.user))
    result = CliRunner().invoke(main, ["leads", "archive", "--user", world.user.email, str(world.leads[1].id)])
    assert result.exit_code == 0, result.output
    page = client.get(link)
    assert set(buttons_by_action(links, page.text)) == {ann.id, cy.id}
    assert "Bo Chen" not in text_of(page.text)


def test_more_people_waiting_than_the_page_lists_are_counted_and_linked(
    client: Any, links: EmailLinks, service: Session, world: World
) -> None:
    """Ann and eleven more are waiting: the page lists ten, as the digest does, says how many more,
    and links to the page that lists all twelve."""
    for n in range(11):
        lead = make_lead(service, world.user, name=f"Wait Person {n + 1:02d}")
        make_action(service, world.user, lead, action_type=ActionType.FOLLOW_UP, state=ActionState.SENT,
                    due_date=world.actions[0].due_date)
    page = client.get(path(todays_link(world.user)))
    words = text_of(page.text)
    waiting = words.split("Waiting for a reply")[1]
    assert waiting.count("sent ") == 10
    assert "…and 2 more. See everyone who is waiting" in waiting
    (everyone,) = [href for href in hrefs(page.text) if "/waiting/" in href]
    all_of_them = client.get(path(everyone))
    assert "Waiting for a reply (12)" in text_of(all_of_them.text)


def test_a_link_tampered_with_or_signed_for_another_page_is_not_valid(
    client: Any, links: EmailLinks, world: World
) -> None:
    link = path(todays_link(world.user))
    token = link.rsplit("/", 1)[1]
    assert client.get(tamper(link)).status_code == 404
    for other in (links.waiting_url(user_id=world.user.id), links.unsubscribe_url(user_id=world.user.id)):
        assert client.get(f"/today/{other.rsplit('/', 1)[1]}").status_code == 404
    assert client.get(f"/waiting/{token}").status_code == 404  # nor does it open another page


def test_the_link_expires_with_the_action_links_after_seven_days(
    client: Any, world: World, clock: time_machine.Coordinates
) -> None:
    link = path(todays_link(world.user))
    clock.shift(timedelta(days=7, minutes=1))
    expired = client.get(link)
    assert expired.status_code == 410 and "This link has expired" in text_of(expired.text)


def test_opened_the_next_morning_the_link_shows_its_own_plan_and_builds_none(
    client: Any, links: EmailLinks, service: Session, world: World, clock: time_machine.Coordinates
) -> None:
    """Wednesday's email opened on Thursday, before Thursday's plan is made: its link opens Wednesday's
    plan, whose actions its HTML part's buttons act on too, named by its day, not "today"."""
    ann, bo, cy = world.actions
    link = path(todays_link(world.user))
    clock.shift(timedelta(days=1))
    page = client.get(link)
    assert page.status_code == 200
    words = text_of(page.text)
    assert "Your plan for Wed 25 Nov" in words and "What is left, Wed 25 Nov" in words
    assert "Today's plan" not in words
    assert set(buttons_by_action(links, page.text)) == {ann.id, bo.id, cy.id}
    set_context(service, service=True)
    assert service.scalars(select(DailyPlan.date).where(DailyPlan.user_id == world.user.id)).all() == [
        world.actions[0].due_date]


def test_a_caught_up_digest_links_its_text_part_to_the_plan_its_html_buttons_act_on(
    client: Any, links: EmailLinks, service: Session, world: World, clock: time_machine.Coordinates,
    smtp_server: StartSmtp, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Wednesday's morning, owed after an outage, is caught up at 01:30 on Thursday in London and sent
    over SMTP. Its text part linked to the reader's today, Thursday, whose plan is not made yet ("Today's
    plan is not ready yet"), so a plain-text reader could act on none of the moves it listed; the link
    now opens Wednesday's plan, with the buttons of the same actions the HTML part carries."""
    server = smtp_server()
    monkeypatch.setattr("bot.email.delivery.get_backend", lambda settings=None: SmtpBackend(
        host=server.host, port=server.port, security="none", timeout=5))
    clock.move_to(datetime(2026, 11, 26, 1, 30, tzinfo=UTC))
    mail_digest(world.user.id, TODAY)
    (message,) = server.handler.received
    assert str(message["Subject"]).startswith("Your next best moves for Wed 25 Nov")
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")  # as the wire has it
    (link,) = re.findall(r"https://\S+/today/\S+", text)
    assert f"Your plan for Wed 25 Nov, with a button for each move:\n{link}\n" in text
    html = message.get_body(("html",)).get_content()
    in_html = {links.read_action(token).action_id for token in re.findall(r'href="https://[^"]+/a/([^"]+)"', html)}

    page = client.get(path(link))
    assert page.status_code == 200
    words = text_of(page.text)
    assert "Your plan for Wed 25 Nov" in words and "not ready yet" not in words
    assert set(buttons_by_action(links, page.text)) == in_html == {action.id for action in world.actions}


def test_a_link_naming_no_day_from_before_links_did_opens_todays_plan(
    client: Any, links: EmailLinks, world: World, email_settings: Settings
) -> None:
    """Links mailed before links named their plan's day keep working for their 7 days, as they did."""
    token = URLSafeTimedSerializer(email_settings.secret_key).dumps(signed._pack(world.user.id), salt=signed._TODAY)
    words = text_of(client.get(f"/today/{token}").text)
    assert "Today's plan, Wed 25 Nov" in words and "Reach out to Bo Chen" in words


def test_a_link_to_a_day_without_a_plan_says_so_and_builds_none(
    client: Any, links: EmailLinks, service: Session, world: World
) -> None:
    page = client.get(path(links.plan_url(user_id=world.user.id, day=TODAY - timedelta(days=1))))
    assert page.status_code == 200
    assert "There is no plan for Tue 24 Nov." in text_of(page.text)
    set_context(service, service=True)
    assert service.scalars(select(DailyPlan.date).where(DailyPlan.user_id == world.user.id)).all() == [TODAY]
