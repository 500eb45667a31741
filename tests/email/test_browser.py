"""End to end in headless Chromium: the digest's Done link, the confirmation, the database, the page.

This test cannot run inside the rolled-back test transaction (the web server answers on its own
threads and connections), so it commits real data through units of work and deletes it afterwards.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from html import unescape

import pytest
from sqlalchemy import select

from bot.email.backends import get_backend
from core.clock import local_today
from core.db import unit_of_work
from core.models import Action, ActionEvent, ActionState, ActionType, Channel, Lead
from tests.email.sending import mail_digest
from tests.factories import deleted_afterwards, make_action, make_lead, make_plan, make_user


@pytest.fixture()
def committed_user(engine) -> Iterator[uuid.UUID]:
    """A user with two actions in today's plan, committed for real; removed with all their rows after."""
    email = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
    with unit_of_work(service=True) as session:
        user = make_user(session, email=email, name="Erin Example", timezone="Europe/London")
        today = local_today(user.timezone)
        actions = [make_action(session, user, make_lead(session, user, name=name), action_type=ActionType.OUTREACH,
                               due_date=today) for name in ("Ann Lee", "Bo Chen")]
        make_plan(session, user, actions, date=today)
        user_id = user.id
    with deleted_afterwards(user_id):
        yield user_id


def test_a_digest_done_link_confirmed_in_chromium_marks_the_action_done(live_server, committed_user, browser) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    mail_digest(committed_user)
    (entry,) = get_backend().entries()
    html = get_backend().read(entry.id).get_body(("html",)).get_content()
    done_links = [unescape(href) for href in re.findall(r'<a [^>]*href="([^"]+)"[^>]*>\s*Done\s*</a>', html)]
    assert len(done_links) == 2 and all(link.startswith(live_server + "/a/") for link in done_links)

    browser.set_window_size(390, 844)  # a phone
    browser.get(done_links[0])
    assert "Mark this as done?" in browser.find_element(By.TAG_NAME, "h1").text
    assert _fits_the_width(browser)
    assert "Reach out to Ann Lee" in browser.find_element(By.TAG_NAME, "body").text
    with unit_of_work(service=True) as session:
        first = session.scalars(select(Action).join(Lead, Lead.id == Action.person_id)
                                .where(Action.user_id == committed_user, Lead.name == "Ann Lee")).one()
        assert first.state == ActionState.NEW

    browser.find_element(By.XPATH, "//button[normalize-space()='Mark done']").click()
    # The title, not an element: an element looked up while the page is being replaced can vanish mid-call.
    WebDriverWait(browser, 15).until(lambda driver: driver.title.startswith("Marked done"))
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Marked done: Reach out to Ann Lee" in body
    assert "Reach out to Bo Chen" in body.split("The rest of today's plan")[1]
    assert _fits_the_width(browser)

    with unit_of_work(service=True) as session:
        action = session.get(Action, first.id)
        assert action.state == ActionState.DONE and action.completed_at is not None
        (event,) = session.scalars(select(ActionEvent).where(ActionEvent.action_id == first.id,
                                                             ActionEvent.to_state == ActionState.DONE))
        assert event.channel == Channel.EMAIL


def _fits_the_width(browser) -> bool:
    """Nothing on the page needs a sideways scroll, and the buttons are wide enough to tap."""
    from selenium.webdriver.common.by import By

    page_width, window_width = browser.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]")
    buttons = browser.find_elements(By.TAG_NAME, "button")
    return page_width <= window_width and bool(buttons) and all(
        0 <= b.rect["x"] and b.rect["x"] + b.rect["width"] <= window_width and b.rect["height"] >= 32 for b in buttons)
