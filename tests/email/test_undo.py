"""Undo from the email's result page: the change is taken back through the core; a second Undo, or
the link opened by a mail scanner, changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from core.actions import marks
from core.models import ActionState, Channel
from tests.email.pages import World, action_path, events, forms, make_world, state_of, text_of

pytestmark = pytest.mark.usefixtures("email_settings", "clock")


@pytest.fixture()
def world(service: Session) -> World:
    return make_world(service, name="Uma Undo")


def test_undo_after_sent_takes_the_send_and_its_follow_up_back(client, links, world, service) -> None:
    ann = world.actions[0]
    page = client.post(action_path(links, world.user, ann, marks.SENT))
    (label, undo), *_ = forms(page.text)
    assert label == "Undo"
    client.get(undo)  # a link scanner, or a second look: nothing changes
    client.head(undo)  # a link checker
    assert state_of(service, ann) == ActionState.SENT

    undone = client.post(undo)
    assert "Undone, back to to do: Reach out to Ann Lee" in text_of(undone.text)
    assert state_of(service, ann) == ActionState.NEW
    assert [(e.from_state, e.to_state, e.channel) for e in events(service, ann)][-1] == (
        ActionState.SENT, ActionState.NEW, Channel.EMAIL)
    assert "Follow up with Ann Lee" not in text_of(undone.text)

    again = client.post(undo)
    assert "Nothing to undo" in text_of(again.text) and state_of(service, ann) == ActionState.NEW
