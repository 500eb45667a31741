"""The email and its pages offer Sent and Replied only on a message to a lead, and refuse them elsewhere."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlalchemy.orm import Session

from bot.email.links import EmailLinks
from bot.email.render import render_digest
from core.actions import marks
from core.models import Action, ActionState
from core.planner.view import plan_view_building_if_missing
from tests.email.pages import TODAY, World, action_path, forms, state_of, text_of
from tests.factories import make_plan, make_user
from tests.test_marks_fit_the_action import plan_with_a_prep_a_fast_win_and_an_outreach, refusal

pytestmark = pytest.mark.usefixtures("email_settings", "clock")



@pytest.fixture()
def planned(service: Session) -> tuple[World, tuple[Action, Action, Action]]:
    """Zoe's plan for today: the call prep, the lead-less Fast Win, the outreach."""
    world = World(make_user(service, name="Zoe Quinn", timezone="Europe/London"), [], [])
    actions = plan_with_a_prep_a_fast_win_and_an_outreach(service, world.user, TODAY)
    make_plan(service, world.user, list(actions), date=TODAY)
    return world, actions


def _transitions_by_action(links: EmailLinks, html: str) -> dict[uuid.UUID, list[str]]:
    found: dict[uuid.UUID, list[str]] = {}
    for token in re.findall(r'href="[^"]*/a/([^"]+)"', html):
        link = links.read_action(token)
        found.setdefault(link.action_id, []).append(link.mark.word)
    return found


def test_the_digest_and_the_result_page_offer_sent_and_replied_only_on_the_message(
    client: Any, links: EmailLinks, service: Session, planned: tuple[World, tuple[Action, Action, Action]]
) -> None:
    world, (prep, win, outreach) = planned
    digest = render_digest(plan_view_building_if_missing(service, user=world.user), links=links)
    offered = _transitions_by_action(links, digest.html)
    assert offered[prep.id] == offered[win.id] == ["done", "snooze"]
    assert offered[outreach.id] == ["done", "sent", "replied", "snooze"]

    page = client.post(action_path(links, world.user, win, marks.DONE))
    by_action: dict[uuid.UUID, list[str]] = {}
    for label, target in forms(page.text)[1:]:  # after the Undo of the change just made
        by_action.setdefault(links.read_action(target.rsplit("/a/", 1)[1]).action_id, []).append(label)
    assert by_action == {prep.id: ["Done", "Snooze a week"], outreach.id: ["Done", "Sent", "Replied", "Snooze a week"]}


def test_a_sent_link_on_a_call_prep_is_refused_and_changes_nothing(
    client: Any, links: EmailLinks, service: Session, planned: tuple[World, tuple[Action, Action, Action]]
) -> None:
    world, (prep, _, _) = planned
    sent = action_path(links, world.user, prep, marks.SENT)
    for page in (client.get(sent), client.post(sent)):
        assert page.status_code == 409
        assert "Nothing changed" in text_of(page.text) and refusal("sent") in text_of(page.text)
    assert state_of(service, prep) == ActionState.NEW
