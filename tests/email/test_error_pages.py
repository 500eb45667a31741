"""What a person reads when a request goes wrong outside a page's own answers: a wrong address, an
address opened the wrong way (a form's, from the address bar), a crash. Each in the pages' look, with
their private headers, saying what to do; none changes anything."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from bot.web.email_pages import pages
from core.actions import marks
from core.models import ActionState
from tests.email.pages import TODAY, World, action_path, forms, hrefs, make_world, path, state_of, tamper, text_of

pytestmark = pytest.mark.usefixtures("email_settings", "clock")


@pytest.fixture()
def world(service: Session) -> World:
    return make_world(service, name="Eve Error")


def test_an_address_that_leads_nowhere_says_so_in_the_pages_look(client) -> None:
    page = client.get("/a")
    assert page.status_code == 404
    assert "There is nothing at this address" in text_of(page.text)
    assert "Use the links in your latest NextBestMove email" in text_of(page.text)
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_a_forms_address_opened_again_says_what_it_is(client, links, world) -> None:
    """The iCal form's address stays in the address bar after the form is sent; opening it is a GET."""
    token = links.preferences_url(user_id=world.user.id).rsplit("/", 1)[1]
    page = client.get(f"/preferences/{token}/calendar/ics")
    assert page.status_code == 405
    assert "This address is not for opening again" in text_of(page.text)
    assert "Go back to that page" in text_of(page.text)
    assert "POST" in page.headers["Allow"]
    assert page.headers["Referrer-Policy"] == "no-referrer" and page.headers["Cache-Control"] == "no-store"


def test_a_crash_says_it_was_logged_and_changes_nothing(client, links, world, service, monkeypatch) -> None:
    ann = world.actions[0]

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in drawing the result page")

    monkeypatch.setattr(pages, "result_page", broken)
    page = client.post(action_path(links, world.user, ann, marks.DONE))
    assert page.status_code == 500
    assert "Something went wrong on our side" in text_of(page.text)
    assert "It has been logged" in text_of(page.text)
    assert "RuntimeError" not in page.text and "Traceback" not in page.text
    assert state_of(service, ann) == ActionState.NEW  # the change was not kept


NOT_VALID = {
    "unsubscribe": "It may have been copied incompletely. Use the Unsubscribe link at the bottom of your latest "
                   "NextBestMove email.",
    "preferences": "It may have been copied incompletely. Use the Email preferences link at the bottom of your "
                   "latest NextBestMove email; in Slack, /nbm settings opens them too.",
    "today": "It may have been copied incompletely. Use the buttons in your latest NextBestMove email instead.",
    "waiting": "It may have been copied incompletely. Your latest morning email lists who is waiting for a reply, "
               "with a link to the whole list when it is longer.",
    "undo": "It may have been copied incompletely, or the action it was for was removed (an Undo removes the "
            "follow-up that the change it takes back had planned). The page after each change you make offers an "
            "Undo of that change.",
    "action": "It may have been copied incompletely, or the action it was for was removed (an Undo removes the "
              "follow-up that the change it takes back had planned). Use the buttons in your latest NextBestMove "
              "email.",
}


@pytest.mark.parametrize("kind", list(NOT_VALID))
def test_a_link_that_is_not_valid_says_what_is_true_of_its_kind(client, links, world, service, kind: str) -> None:
    """One page served every kind and spoke of "the action it was for" and "the buttons" to an
    unsubscribe, preferences, today or waiting link, which are for no action and carry no button."""
    ann, user = world.actions[0], world.user.id
    page = client.post(action_path(links, world.user, ann, marks.SENT))  # a change, so that Undo has a link
    (_, undo), *_ = forms(page.text)
    url = {"unsubscribe": links.unsubscribe_url(user_id=user), "preferences": links.preferences_url(user_id=user),
           "today": links.plan_url(user_id=user, day=TODAY), "waiting": links.waiting_url(user_id=user), "undo": undo,
           "action": action_path(links, world.user, ann, marks.DONE)}[kind]

    for method in ("GET",) if kind in ("today", "waiting") else ("GET", "POST"):
        answered = client.open(path(tamper(url)), method=method)
        assert answered.status_code == 404
        assert f"This link is not valid {NOT_VALID[kind]}" in text_of(answered.text)
    assert state_of(service, ann) == ActionState.SENT


EXPIRED = {
    "preferences": "For your safety, the email preferences link stops working after 90 days. Use the Email "
                   "preferences link at the bottom of your latest NextBestMove email; in Slack, /nbm settings opens "
                   "them too.",
    "today": "For your safety, the link to your plan stops working after 7 days. Use the buttons in your latest "
             "NextBestMove email instead.",
    "waiting": "For your safety, the link to everyone waiting for a reply stops working after 7 days. Your latest "
               "morning email lists who is waiting for a reply, with a link to the whole list when it is longer.",
    "undo": "An Undo link stops working after 7 days, and a change can only be taken back on the day it was made. "
            "The page after each change you make offers an Undo of that change.",
    "action": "For your safety, the buttons in an email stop working after 7 days. Use the buttons in your latest "
              "NextBestMove email.",
}


@pytest.mark.parametrize("kind", list(EXPIRED))
def test_a_link_that_has_expired_says_what_is_true_of_its_kind(client, links, world, service, clock,
                                                                 kind: str) -> None:
    """One page served every kind and spoke of action buttons lasting 7 days and the preferences link
    90 to a today, waiting or undo link, and of today's plan to a preferences link."""
    ann, user = world.actions[0], world.user.id
    page = client.post(action_path(links, world.user, ann, marks.SENT))  # a change, so that Undo has a link
    (_, undo), *_ = forms(page.text)
    url = {"preferences": links.preferences_url(user_id=user), "today": links.plan_url(user_id=user, day=TODAY),
           "waiting": links.waiting_url(user_id=user), "undo": undo,
           "action": action_path(links, world.user, ann, marks.DONE)}[kind]
    clock.shift(timedelta(days=91 if kind == "preferences" else 8))

    for method in ("GET",) if kind in ("today", "waiting") else ("GET", "POST"):
        answered = client.open(path(url), method=method)
        assert answered.status_code == 410
        assert text_of(answered.text).endswith(f"This link has expired {EXPIRED[kind]}")
        assert hrefs(answered.text) == []
    assert state_of(service, ann) == ActionState.SENT
