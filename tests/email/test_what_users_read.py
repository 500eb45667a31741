"""What the digest and its pages say is true: everyone waiting is counted and reachable, snoozes
land on work days, the streak line fits the day, and notes are there where the user acts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.email.backends import get_backend
from bot.email.links import EmailLinks
from bot.email.render import render_digest
from core.actions import marks
from core.actions.service import change_state
from core.clock import local_today
from core.db import set_context
from core.models import Action, ActionState, ActionType, Channel
from core.planner.view import plan_view_building_if_missing
from tests.email.pages import TODAY, action_path, forms, hrefs, path, text_of
from tests.email.sending import mail_digest
from tests.factories import NINE_WORK_DAYS, make_action, make_lead, make_plan, make_streak, make_user

pytestmark = pytest.mark.usefixtures("email_settings")

SATURDAY = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _waiting_user(session: Session, count: int) -> Any:
    """A London user with ``count`` first messages sent (each lead waiting for a reply)."""
    user = make_user(session, name="Wendy Wait", timezone="Europe/London")
    for n in range(count):
        lead = make_lead(session, user, name=f"Lead {n:02d}", url=f"https://x.io/{n}")
        outreach = make_action(session, user, lead, action_type=ActionType.OUTREACH, due_date=TODAY)
        change_state(session, user=user, action_id=outreach.id, to=ActionState.SENT, channel=Channel.CLI)
    return user


@pytest.mark.usefixtures("clock")
def test_the_digest_counts_everyone_waiting_and_links_to_all_of_them(
    client: Any, links: EmailLinks, service: Session
) -> None:
    user = _waiting_user(service, 30)
    digest = render_digest(plan_view_building_if_missing(service, user=user), links=links)
    assert "Waiting for a reply (30)" in text_of(digest.html) and "Waiting for a reply (30)" in digest.text
    assert "…and 20 more. See everyone who is waiting" in text_of(digest.html)
    (everyone,) = [h for h in hrefs(digest.html) if "/waiting/" in h]
    assert f"...and 20 more: {everyone}" in digest.text

    page = client.get(path(everyone))
    assert page.status_code == 200 and "Waiting for a reply (30)" in text_of(page.text)
    buttons = forms(page.text)
    assert [label for label, _ in buttons] == ["Replied"] * 30
    replied = client.post(buttons[-1][1])
    assert "Marked replied" in text_of(replied.text)


@pytest.mark.usefixtures("clock")
def test_a_waiting_link_for_nobody_or_tampered_is_not_valid(client: Any, links: EmailLinks, service: Session) -> None:
    user = _waiting_user(service, 0)
    everyone = path(links.waiting_url(user_id=user.id))
    assert "You are not waiting for a reply from anyone right now" in text_of(client.get(everyone).text)
    assert client.get(everyone[:-3] + "abc").status_code == 404


def test_on_a_saturday_snooze_a_week_lands_on_monday_and_the_streak_does_not_nag(
    client: Any, links: EmailLinks, service: Session
) -> None:
    with time_machine.travel(SATURDAY, tick=False):
        user = make_user(service, name="Sam Sat", timezone="Europe/London", streak_count=8,
                         last_action_date=SATURDAY.date() - timedelta(days=1))
        lead = make_lead(service, user, name="Bea Stone", url="https://x.io/bea")
        action = make_action(service, user, lead, action_type=ActionType.OUTREACH, due_date=SATURDAY.date())
        make_plan(service, user, [action], date=SATURDAY.date())
        confirm = client.get(action_path(links, user, action, marks.SNOOZE))
        set_context(service, service=True)
        digest = render_digest(plan_view_building_if_missing(service, user=user), links=links)
    assert "Snooze until Mon 7 Dec" in [label for label, _ in forms(confirm.text)]
    assert "You are on an 8-day streak. Today is not a work day, so it is safe without one." in digest.text
    assert "keeps it going" not in digest.text


@pytest.mark.usefixtures("clock")
def test_notes_are_in_the_digest_and_on_the_confirm_page(client: Any, links: EmailLinks, service: Session) -> None:
    user = make_user(service, name="Nora Notes", timezone="Europe/London")
    lead = make_lead(service, user, name="Priya Raman", url="https://x.io/priya", notes="met at SaaStr")
    action = make_action(service, user, lead, action_type=ActionType.OUTREACH, due_date=TODAY)
    make_plan(service, user, [action], date=TODAY)
    digest = render_digest(plan_view_building_if_missing(service, user=user), links=links)
    assert "met at SaaStr" in text_of(digest.html) and "   Note: met at SaaStr" in digest.text
    confirm = client.get(action_path(links, user, action, marks.DONE))
    assert "met at SaaStr" in text_of(confirm.text)


@pytest.mark.usefixtures("clock")
def test_a_follow_up_closed_by_a_reply_says_so_in_the_digest(links: EmailLinks, service: Session) -> None:
    user = make_user(service, name="Carla Closed", timezone="Europe/London")
    lead = make_lead(service, user, name="Bea Stone", url="https://x.io/bea")
    sent = make_action(service, user, lead, action_type=ActionType.OUTREACH, due_date=TODAY)
    change_state(service, user=user, action_id=sent.id, to=ActionState.SENT, channel=Channel.CLI)
    follow_up = service.scalars(select(Action).where(Action.action_type == ActionType.FOLLOW_UP,
                                                     Action.person_id == lead.id)).one()
    follow_up.due_date = TODAY
    make_plan(service, user, [follow_up], date=TODAY)
    change_state(service, user=user, action_id=sent.id, to=ActionState.REPLIED, channel=Channel.SLACK)
    digest = render_digest(plan_view_building_if_missing(service, user=user), links=links)
    assert "Closed — they replied" in text_of(digest.html) and "Archived" not in text_of(digest.html)


def test_the_digest_and_the_today_page_show_the_streak_as_of_the_users_today(
    client: Any, links: EmailLinks, service: Session
) -> None:
    """The stored streak is set to 0 by the hourly housekeeping once a work day has passed with nothing
    done; until that has run, it still held yesterday's 9. What is shown is the streak as of the user's
    today: 9 on Wednesday morning (Wednesday is not over), none on Thursday morning after an empty
    Wednesday, in the digest mailed by the morning job and on the page its link opens."""
    user = make_user(service, name="Nina Nine", timezone="Europe/London")
    make_streak(user, NINE_WORK_DAYS)
    for morning in (datetime(2026, 11, 25, 7, 30, tzinfo=UTC), datetime(2026, 11, 26, 7, 30, tzinfo=UTC)):
        with time_machine.travel(morning, tick=False):
            mail_digest(user.id)
            page = text_of(client.get(path(links.plan_url(user_id=user.id, day=local_today(user.timezone)))).text)
    outbox = get_backend()
    wednesday, thursday = (outbox.read(entry.id).get_body(("plain",)).get_content()
                           for entry in reversed(outbox.entries()))  # newest first
    assert "You are on a 9-day streak. One action done today keeps it going." in wednesday
    assert "Finish one action today to start a streak." in thursday and "9-day" not in thursday
    assert "Streak" not in page
