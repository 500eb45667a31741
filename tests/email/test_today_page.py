"""The one link of the digest's text part: today's plan, with every action's buttons.

A reader of the plain-text part (a terminal mail client, a watch, a "plain text" setting) gets one
link instead of four long signed links per action; these tests follow the link a real digest carries.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cli import main
from bot.email.backends import get_backend
from bot.email.links import EmailLinks
from core.actions.service import change_state
from core.db import set_context
from core.models import ActionState, ActionType, Channel, DailyPlan, User
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


def test_the_next_morning_before_the_plan_is_built_the_page_says_so_and_builds_none(
    client: Any, service: Session, world: World, clock: time_machine.Coordinates
) -> None:
    link = path(todays_link(world.user))
    clock.shift(timedelta(days=1))
    page = client.get(link)
    assert page.status_code == 200
    assert "Today's plan is not ready yet; it is made at 07:30 on your work days." in text_of(page.text)
    set_context(service, service=True)
    assert service.scalars(select(DailyPlan.date).where(DailyPlan.user_id == world.user.id)).all() == [
        world.actions[0].due_date]


def test_on_a_day_off_the_page_says_no_plan_comes_rather_than_one_is_on_its_way(
    client: Any, world: World, clock: time_machine.Coordinates
) -> None:
    link = path(todays_link(world.user))
    clock.shift(timedelta(days=3))  # Wednesday to Saturday, not one of the default work days
    words = text_of(client.get(link).text)
    assert "Today is not one of your work days, so no plan is made for it." in words
    assert "not ready yet" not in words


def test_with_email_and_slack_off_the_page_says_no_plan_is_made_rather_than_when(
    client: Any, links: EmailLinks, world: World, clock: time_machine.Coordinates
) -> None:
    """The morning run makes a plan only to deliver it: "it is made at 07:30 on your work days" was false
    for a user who gets it neither by email nor in Slack. The time said is the user's own."""
    link = path(todays_link(world.user))
    saved = client.post(path(links.preferences_url(user_id=world.user.id)),
                        data={"delivery_time": "08:15", "work_days": ["1", "2", "3", "4", "5"]})  # every channel off
    assert saved.status_code == 200
    clock.shift(timedelta(days=1))
    words = text_of(client.get(link).text)
    assert ("No plan is made for you in the morning: it goes out by email or in Slack, and you get it by neither "
            "now. Turn email on in your preferences (linked at the bottom of every NextBestMove email) to get it "
            "at 08:15 on your work days.") in words
    assert "not ready yet" not in words
