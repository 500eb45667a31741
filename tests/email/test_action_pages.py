"""Email action links through Flask's test client: confirm, act once, show the rest of the plan."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.actions import marks, rules
from core.db import set_context
from core.models import ActionState, Channel, DailyPlan
from tests.email.pages import (
    World,
    action_path,
    events,
    forms,
    hrefs,
    make_world,
    outreach_closed_by_its_follow_up,
    path,
    reload,
    state_of,
    tamper,
    text_of,
)

pytestmark = pytest.mark.usefixtures("email_settings", "clock")


@pytest.fixture()
def world(service: Session) -> World:
    return make_world(service, name="Zoe Quinn")


def test_opening_a_link_asks_for_confirmation_and_changes_nothing(client, links, world, service) -> None:
    ann = world.actions[0]
    url = action_path(links, world.user, ann, marks.DONE)
    page = client.get(url)
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Mark this as done?" in text and "Reach out to Ann Lee" in text
    assert 'href="https://www.linkedin.com/in/ann-lee"' in page.text
    assert forms(page.text) == [("Mark done", url)]
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "JavaScript" not in page.text and "<script" not in page.text
    for _ in range(3):  # a mail scanner opening it again and again
        client.get(url)
    assert client.head(url).status_code == 200  # a link checker's HEAD only asks too
    assert state_of(service, ann) == ActionState.NEW
    assert events(service, ann) == []


def test_confirming_marks_it_done_through_the_email_channel_and_shows_the_rest_of_the_plan(
    client, links, world, service
) -> None:
    ann, bo, cy = world.actions
    page = client.post(action_path(links, world.user, ann, marks.DONE))
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Marked done: Reach out to Ann Lee" in text
    assert "Reach out to Bo Chen" in text and "Reach out to Cy Dee" in text
    assert "2 of 3 actions left, ~20 min." in text
    assert "Streak: 1 day" in text

    assert state_of(service, ann) == ActionState.DONE
    (event,) = events(service, ann)
    assert (event.from_state, event.to_state, event.channel) == (ActionState.NEW, ActionState.DONE, Channel.EMAIL)

    (undo, undo_path), *buttons = forms(page.text)
    assert undo == "Undo" and undo_path.startswith("/undo/")  # for the rest of the day
    assert [label for label, _ in buttons] == ["Done", "Sent", "Replied", "Snooze a week"] * 2
    for (_label, target), action in zip(buttons[::4], (bo, cy), strict=True):
        link = links.read_action(target.removeprefix("/a/"))
        assert (link.user_id, link.action_id, link.mark) == (world.user.id, action.id, marks.DONE)


def test_a_button_on_the_result_page_acts_at_once(client, links, world, service) -> None:
    ann, bo, _ = world.actions
    page = client.post(action_path(links, world.user, ann, marks.DONE))
    sent_bo = next(target for label, target in forms(page.text)
                   if label == "Sent" and links.read_action(target.removeprefix("/a/")).action_id == bo.id)
    second = client.post(sent_bo)
    assert "Marked sent: Reach out to Bo Chen" in text_of(second.text)
    assert state_of(service, bo) == ActionState.SENT
    waiting = text_of(second.text).split("Waiting for a reply")[1]
    assert "Your first message to Bo Chen" in waiting
    assert ("Replied", ) == tuple(label for label, target in forms(second.text) if target.startswith("/a/")
                                  and links.read_action(target.removeprefix("/a/")).action_id == bo.id)


def test_a_second_use_answers_already_done_and_changes_nothing_twice(client, links, world, service) -> None:
    ann = world.actions[0]
    url = action_path(links, world.user, ann, marks.DONE)
    client.post(url)
    completed_at = reload(service, ann).completed_at
    again = client.post(url)
    assert again.status_code == 200
    assert "Already done: Reach out to Ann Lee" in text_of(again.text)
    assert len(events(service, ann)) == 1
    assert reload(service, ann).completed_at == completed_at
    reopened = client.get(url)
    assert "Already done: Reach out to Ann Lee" in text_of(reopened.text)
    assert not [target for _, target in forms(reopened.text) if target == url]


def test_a_sent_link_used_twice_says_already_sent_as_slack_does(client, links, world, service) -> None:
    ann = world.actions[0]
    url = action_path(links, world.user, ann, marks.SENT)
    client.post(url)
    again = client.post(url)
    assert "Already sent: Reach out to Ann Lee" in text_of(again.text)  # Slack's words for a repeat
    assert len(events(service, ann)) == 1


def test_snooze_a_week_comes_back_seven_local_days_later_and_a_repeat_keeps_the_date(
    client, links, world, service, clock
) -> None:
    ann = world.actions[0]
    url = action_path(links, world.user, ann, marks.SNOOZE)
    assert "Snooze until Wed 2 Dec" in text_of(client.get(url).text)
    page = client.post(url)
    assert "Snoozed until Wed 2 Dec: Reach out to Ann Lee" in text_of(page.text)
    assert reload(service, ann).state == ActionState.SNOOZED
    assert ann.snooze_until == date(2026, 12, 2)
    clock.shift(timedelta(days=2))
    again = client.post(url)
    assert "Already snoozed until Wed 2 Dec" in text_of(again.text)
    assert reload(service, ann).snooze_until == date(2026, 12, 2)
    assert len(events(service, ann)) == 1


def test_a_transition_the_state_machine_refuses_changes_nothing_and_says_why(client, links, world, service) -> None:
    ann = world.actions[0]
    client.post(action_path(links, world.user, ann, marks.DONE))
    sent = action_path(links, world.user, ann, marks.SENT)
    for page in (client.get(sent), client.post(sent)):
        assert page.status_code == 409
        text = text_of(page.text)
        assert "Nothing changed" in text and "This action is done, so you cannot mark it sent" in text
        assert ("Mark sent", sent) not in forms(page.text)
    assert state_of(service, ann) == ActionState.DONE
    assert len(events(service, ann)) == 1


def test_a_mark_of_a_snoozed_action_says_when_it_comes_back_and_offers_no_unsnooze(
    client, links, world, service
) -> None:
    """Done, Sent or Replied from an email on a snoozed action was refused with "or unsnooze it now",
    which only Slack's /nbm and the CLI can do: an email reader has no such link or button."""
    ann = world.actions[0]
    client.post(action_path(links, world.user, ann, marks.SNOOZE))
    for mark in (marks.DONE, marks.SENT, marks.REPLIED):
        url = action_path(links, world.user, ann, mark)
        for page in (client.get(url), client.post(url)):
            assert page.status_code == 409
            text = text_of(page.text)
            assert (f"This action is snoozed, so you cannot {mark.verb} yet; it comes back in your plan on "
                    "Wed 2 Dec.") in text
            assert "unsnooze" not in text.lower()
    assert state_of(service, ann) == ActionState.SNOOZED
    assert len(events(service, ann)) == 1


def test_a_link_for_another_users_action_is_not_valid_and_changes_nothing(client, links, world, service) -> None:
    mallory = make_world(service, names=("Max Moe",), name="Mallory")
    victim_action = world.actions[0]
    # Mallory's genuine token, pointed at Zoe's action, as a bug or a guess might produce.
    forged = action_path(links, mallory.user, victim_action, marks.DONE)
    tampered = tamper(action_path(links, world.user, victim_action, marks.DONE))
    pages = [client.get(forged), client.post(forged), client.get(tampered), client.post(tampered)]
    assert {page.status_code for page in pages} == {404}
    assert {text_of(page.text) for page in pages} == {text_of(pages[0].text)}
    assert "This link is not valid" in text_of(pages[0].text)
    assert "Reach out to Ann Lee" not in pages[1].text
    assert state_of(service, victim_action) == ActionState.NEW
    assert events(service, victim_action) == []


def test_an_expired_link_says_so_mints_no_fresh_link_and_changes_nothing(client, links, world, service, clock) -> None:
    ann = world.actions[0]
    url = action_path(links, world.user, ann, marks.DONE)
    clock.shift(timedelta(days=8))
    for page in (client.get(url), client.post(url)):
        assert page.status_code == 410
        assert "This link has expired" in text_of(page.text)
        assert [href for href in hrefs(page.text) if "/preferences/" in href] == []
    assert state_of(service, ann) == ActionState.NEW


def test_the_replied_link_of_a_waiting_message_asks_about_it_by_the_name_the_list_gives(client, links, world) -> None:
    """The waiting list says "Your first message to Ann Lee"; its Replied link asked "Did they reply?
    Reach out to Ann Lee", a to-do, as if about something else."""
    ann = world.actions[0]
    client.post(action_path(links, world.user, ann, marks.SENT))
    asked = text_of(client.get(action_path(links, world.user, ann, marks.REPLIED)).text)
    assert "Did they reply? Your first message to Ann Lee" in asked
    assert "Reach out to Ann Lee" not in asked


def test_replied_from_the_waiting_section_marks_the_sent_action_replied(client, links, world, service) -> None:
    ann = world.actions[0]
    client.post(action_path(links, world.user, ann, marks.SENT))
    page = client.post(action_path(links, world.user, ann, marks.REPLIED))
    text = text_of(page.text)
    assert "Marked replied: Reach out to Ann Lee" in text
    assert "Just added for today" not in text  # the reply is part of today's plan now, first after the Fast Win
    assert "Reply to Ann Lee ~5 min Open Ann Lee" in text.split("The rest of today's plan")[1]
    first_four = [links.read_action(target.removeprefix("/a/")) for _, target in forms(page.text)[1:5]]
    assert len({link.action_id for link in first_four}) == 1 and first_four[0].action_id != ann.id
    assert state_of(service, ann) == ActionState.REPLIED
    assert [e.to_state for e in events(service, ann)] == [ActionState.SENT, ActionState.REPLIED]
    assert {e.channel for e in events(service, ann)} == {Channel.EMAIL}


def test_replied_on_a_message_the_system_closed_goes_to_the_message_waiting_now(
    client, links, world, service, clock
) -> None:
    """The outreach's Replied link, from this morning's email, after its follow-up was sent: the page
    asks about the link's message and says where the reply will go; confirming marks the follow-up
    replied, with the rules of any reply; a second use, with nothing waiting, is a repeat of it."""
    clock.shift(timedelta(days=1))  # the follow-up is sent on Thursday, and the reply marked on Friday
    outreach, follow_up = outreach_closed_by_its_follow_up(client, links, world, service)
    clock.shift(timedelta(days=1))
    url = action_path(links, world.user, outreach, marks.REPLIED)

    asked = text_of(client.get(url).text)
    assert "Did they reply? Reach out to Ann Lee" in asked
    assert ("This message is closed: your message to Ann Lee sent Thu 26 Nov is the one waiting for their reply "
            "now, so the reply will be marked on it.") in asked
    assert state_of(service, follow_up) == ActionState.SENT

    page = client.post(url)
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Ann Lee replied: marked on your message sent Thu 26 Nov, the one that was waiting for their reply" in text
    assert "Just added for today Reply to Ann Lee" in text
    assert (state_of(service, outreach), state_of(service, follow_up)) == (ActionState.DONE, ActionState.REPLIED)
    assert [(e.to_state, e.channel) for e in events(service, follow_up)] == [
        (ActionState.SENT, Channel.EMAIL), (ActionState.REPLIED, Channel.EMAIL)]

    for again in (client.get(url), client.post(url)):  # a repeat: answered with the reply as it stands
        assert again.status_code == 200
        assert "Already replied: Follow up with Ann Lee" in text_of(again.text)
    assert len(events(service, follow_up)) == 2


def test_without_a_plan_today_the_page_says_so_instead_of_building_one(client, links, service) -> None:
    world = make_world(service, names=("Ann Lee",))
    service.execute(delete(DailyPlan).where(DailyPlan.user_id == world.user.id))
    page = client.post(action_path(links, world.user, world.actions[0], marks.DONE))
    assert "Marked done: Reach out to Ann Lee" in text_of(page.text)
    assert "Today's plan is not ready yet" in text_of(page.text)
    set_context(service, service=True)
    assert service.scalar(select(func.count()).select_from(DailyPlan).where(DailyPlan.user_id == world.user.id)) == 0


def test_pressed_on_a_day_off_the_page_says_no_plan_comes_rather_than_one_is_on_its_way(
    client, links, world, clock
) -> None:
    clock.shift(timedelta(days=3))  # Wednesday to Saturday, not one of the default work days
    words = text_of(client.post(action_path(links, world.user, world.actions[1], marks.DONE)).text)
    assert "Marked done: Reach out to Bo Chen" in words
    assert "Today is not one of your work days, so no plan is made for it." in words
    assert "not ready yet" not in words


def test_with_email_and_slack_off_the_page_says_no_plan_is_made_rather_than_when(
    client, links, world, clock
) -> None:
    """The morning run makes a plan only to deliver it: "it is made at 07:30 on your work days" was false
    for a user who gets it neither by email nor in Slack. The time said is the user's own."""
    saved = client.post(path(links.preferences_url(user_id=world.user.id)),
                        data={"delivery_time": "08:15", "work_days": ["1", "2", "3", "4", "5"]})  # every channel off
    assert saved.status_code == 200
    clock.shift(timedelta(days=1))
    words = text_of(client.post(action_path(links, world.user, world.actions[1], marks.DONE)).text)
    assert ("No plan is made for you in the morning: it goes out by email or in Slack, and you get it by neither "
            "now. Turn email on in your preferences (linked at the bottom of every NextBestMove email) to get it "
            "at 08:15 on your work days.") in words
    assert "not ready yet" not in words


def test_the_core_checks_a_change_once_per_request(client, links, world, monkeypatch) -> None:
    """The page asks the core's check and hands it to the change: the state machine is read once
    when the link is opened and once when it is confirmed, not again by the change."""
    read: list[ActionState] = []

    class Counted(dict):
        def __getitem__(self, state: ActionState) -> frozenset[ActionState]:
            read.append(state)
            return super().__getitem__(state)

    monkeypatch.setattr(rules, "ALLOWED", Counted(rules.ALLOWED))
    url = action_path(links, world.user, world.actions[0], marks.DONE)
    assert client.get(url).status_code == 200
    assert read == [ActionState.NEW]
    assert "Marked done" in text_of(client.post(url).text)
    assert read == [ActionState.NEW, ActionState.NEW]


def test_a_follow_up_sent_is_listed_waiting_as_what_was_sent(client, links, world, service) -> None:
    """The rules name a follow-up by its to-do ("Follow up with Ann Lee"); once sent, the waiting
    list names it as every sent message is named, by what was sent (README: "names what was sent")."""
    outreach_closed_by_its_follow_up(client, links, world, service)
    page = client.get(path(links.waiting_url(user_id=world.user.id)))
    waiting = text_of(page.text)
    assert "Your follow-up to Ann Lee" in waiting
    assert "Follow up with Ann Lee" not in waiting
