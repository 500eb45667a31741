"""Undo from the email's result page: the change is taken back through the core; a second Undo, or
the link opened by a mail scanner, changes nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cli import main
from bot.email import links as signed
from core import config
from core.actions import marks
from core.db import set_context
from core.models import Action, ActionState, ActionType, Channel
from tests.email.pages import (
    World,
    action_path,
    events,
    forms,
    make_world,
    outreach_closed_by_its_follow_up,
    reload,
    state_of,
    text_of,
)

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
    assert "Undone, open again: Reach out to Ann Lee" in text_of(undone.text)
    assert state_of(service, ann) == ActionState.NEW
    assert [(e.from_state, e.to_state, e.channel) for e in events(service, ann)][-1] == (
        ActionState.SENT, ActionState.NEW, Channel.EMAIL)
    assert "Follow up with Ann Lee" not in text_of(undone.text)

    again = client.post(undo)
    assert "Nothing to undo" in text_of(again.text) and state_of(service, ann) == ActionState.NEW
    reopened = client.get(undo)  # the link opened again: it says so at once, rather than asking first
    assert "Nothing to undo" in text_of(reopened.text) and "Undo this change?" not in text_of(reopened.text)


@pytest.mark.parametrize("mark", [marks.SENT, marks.REPLIED], ids=["sent", "replied"])
def test_undo_on_a_follow_up_puts_it_back_in_place_of_the_one_it_planned(
    client, links, world, service, mark: marks.Mark
) -> None:
    """Sent on a follow-up plans the next follow-up, Replied plans "Reply to …": either holds the
    lead's one open automatic follow-up (the database allows no more). Undo deletes it and puts the
    first back, so the lead has that one to do again."""
    ann = world.actions[0]
    client.post(action_path(links, world.user, ann, marks.SENT))
    (follow_up,) = open_follow_ups(service, ann)
    page = client.post(action_path(links, world.user, follow_up, mark))
    (next_one,) = open_follow_ups(service, ann)
    assert next_one.id != follow_up.id
    (label, undo), *_ = forms(page.text)
    assert label == "Undo"

    undone = client.post(undo)

    assert undone.status_code == 200
    assert "Undone, open again: Follow up with Ann Lee" in text_of(undone.text)
    assert [action.id for action in open_follow_ups(service, ann)] == [follow_up.id]
    assert state_of(service, ann) == ActionState.SENT  # the first message stays sent


def open_follow_ups(session: Session, action: Action) -> list[Action]:
    session.expire_all()
    return list(session.scalars(select(Action).where(
        Action.person_id == action.person_id, Action.action_type == ActionType.FOLLOW_UP,
        Action.state == ActionState.NEW)))


def test_a_button_for_a_follow_up_an_undo_removed_says_why_it_leads_nowhere(client, links, world, service) -> None:
    """Sent plans a follow-up, with its buttons on the result page; Undo deletes it. Its buttons (there,
    or in an email) then lead nowhere, and the page names that reason among the others (it is the page
    every link to nothing gets, so that it never confirms that an action exists)."""
    ann = world.actions[0]
    page = client.post(action_path(links, world.user, ann, marks.SENT))
    (follow_up,) = open_follow_ups(service, ann)
    done = action_path(links, world.user, follow_up, marks.DONE)
    (_, undo), *_ = forms(page.text)
    client.post(undo)
    assert open_follow_ups(service, ann) == []

    for gone in (client.get(done), client.post(done)):
        assert gone.status_code == 404
        assert "the action it was for was removed (an Undo removes the follow-up" in text_of(gone.text)


def test_undo_of_a_reply_moved_to_the_message_waiting_takes_back_only_that_reply(
    client, links, world, service, clock
) -> None:
    """Replied on the outreach the system closed went to the follow-up waiting now; its Undo puts that
    follow-up back to waiting, deletes the "Reply to" and brings back the chaser the reply archived,
    and the outreach stays closed as it was (each step a minute apart, as a person acts)."""
    outreach, follow_up = outreach_closed_by_its_follow_up(client, links, world, service)
    (chaser,) = open_follow_ups(service, outreach)
    clock.shift(timedelta(minutes=1))
    page = client.post(action_path(links, world.user, outreach, marks.REPLIED))
    assert [a.description for a in open_follow_ups(service, outreach)] == ["Reply to Ann Lee"]
    (label, undo), *_ = forms(page.text)
    assert label == "Undo"
    clock.shift(timedelta(minutes=1))

    undone = client.post(undo)

    assert "Undone, back to waiting for a reply: Follow up with Ann Lee" in text_of(undone.text)
    assert (state_of(service, outreach), state_of(service, follow_up)) == (ActionState.DONE, ActionState.SENT)
    assert [a.id for a in open_follow_ups(service, outreach)] == [chaser.id]
    assert [(e.from_state, e.to_state, e.channel) for e in events(service, outreach)] == [
        (ActionState.NEW, ActionState.SENT, Channel.EMAIL), (ActionState.SENT, ActionState.DONE, Channel.SYSTEM)]
    assert "Streak" not in text_of(undone.text)  # the reply no longer counts
    assert "Your follow-up to Ann Lee sent Wed 25 Nov" in text_of(undone.text).split("Waiting for a reply")[1]


def test_an_undo_after_the_system_changed_the_action_says_nothing_to_undo_and_why(
    client, links, world, service, clock
) -> None:
    """The page's reasons are every channel's (``core.actions.undo.NOTHING_TO_UNDO_WHY``): "already
    taken back, or not changed today" was false of an outreach sent today, then closed by the system
    when its follow-up was sent."""
    outreach = world.actions[0]
    page = client.post(action_path(links, world.user, outreach, marks.SENT))
    (label, undo), *_ = forms(page.text)
    assert label == "Undo"
    clock.shift(timedelta(minutes=1))
    set_context(service, service=True)
    follow_up = service.scalars(select(Action).where(Action.person_id == outreach.person_id,
                                                     Action.action_type == ActionType.FOLLOW_UP)).one()
    client.post(action_path(links, world.user, follow_up, marks.SENT))
    clock.shift(timedelta(minutes=1))

    page = client.post(undo)

    text = text_of(page.text)
    assert page.status_code == 200
    assert "Nothing to undo: Reach out to Ann Lee" in text
    assert "That change was already taken back, was not made today, or the action has changed since." in text
    assert (state_of(service, outreach), state_of(service, follow_up)) == (ActionState.DONE, ActionState.SENT)


def test_the_snooze_pages_undo_after_the_snooze_was_moved_keeps_the_snooze(
    client, links, world, service, clock
) -> None:
    """Snoozed for a week from the email, then moved to another day (here from the terminal): the
    snooze page's Undo names the first snooze, which is no longer the last change, so it takes nothing
    back. It used to unsnooze the action completely, losing the snooze the person had set."""
    ann = world.actions[0]
    page = client.post(action_path(links, world.user, ann, marks.SNOOZE))
    assert "Snoozed until Wed 2 Dec: Reach out to Ann Lee" in text_of(page.text)
    (label, undo), *_ = forms(page.text)
    assert label == "Undo"
    clock.shift(timedelta(minutes=1))
    moved = CliRunner().invoke(main, ["mark", "--user", world.user.email, str(ann.id), "snooze", "--until",
                                      "2026-12-07"], catch_exceptions=False)
    assert moved.exit_code == 0, moved.output
    clock.shift(timedelta(minutes=1))

    assert "Nothing to undo" in text_of(client.post(undo).text)
    ann = reload(service, ann)
    assert (ann.state, ann.snooze_until, ann.due_date) == (ActionState.SNOOZED, date(2026, 12, 7), date(2026, 12, 7))


def test_an_old_pages_undo_cannot_take_back_a_later_change(client, links, world, service, clock) -> None:
    """Done from the email, taken back, then Sent: the Done page's Undo, still in the browser, took
    back the Sent (the link named only the action). It names its change now: nothing to undo."""
    ann = world.actions[0]
    done_page = client.post(action_path(links, world.user, ann, marks.DONE))
    (label, old_undo), *_ = forms(done_page.text)
    assert label == "Undo"
    assert "Undone, open again" in text_of(client.post(old_undo).text)
    clock.shift(timedelta(minutes=1))
    sent_page = client.post(action_path(links, world.user, ann, marks.SENT))
    (_, sent_undo), *_ = forms(sent_page.text)

    shown, pressed = client.get(old_undo), client.post(old_undo)

    for page in (shown, pressed):
        assert page.status_code == 200
        assert "Nothing to undo: Reach out to Ann Lee" in text_of(page.text)
        assert "Undo this change?" not in text_of(page.text)
    assert state_of(service, ann) == ActionState.SENT
    assert [(e.from_state, e.to_state) for e in events(service, ann)][-1] == (ActionState.NEW, ActionState.SENT)
    assert "Undo this change?" in text_of(client.get(sent_undo).text)  # the Sent page's own Undo still works
    assert "Undone, open again: Reach out to Ann Lee" in text_of(client.post(sent_undo).text)
    assert state_of(service, ann) == ActionState.NEW


def test_an_undo_link_from_before_links_named_their_change_says_so_and_takes_nothing_back(
    client, links, world, service
) -> None:
    """Such links (user and action only) are still in inboxes for a week: a clear page, not an error."""
    ann = world.actions[0]
    client.post(action_path(links, world.user, ann, marks.SENT))
    old = URLSafeTimedSerializer(config.get_settings().secret_key).dumps(
        f"{signed._pack(world.user.id)}.{signed._pack(ann.id)}", salt=signed._UNDO)

    shown, pressed = client.get(f"/undo/{old}"), client.post(f"/undo/{old}")

    for page in (shown, pressed):
        assert page.status_code == 200
        text = text_of(page.text)
        assert "Nothing to undo: Reach out to Ann Lee" in text and "Undo this change?" not in text
        assert "This Undo link comes from an older page, which did not record the change it was for" in text
    assert state_of(service, ann) == ActionState.SENT
