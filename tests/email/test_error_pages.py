"""What a person reads when a request goes wrong outside a page's own answers: a wrong address, an
address opened the wrong way (a form's, from the address bar), a crash. Each in the pages' look, with
their private headers, saying what to do; none changes anything."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from bot.web.email_pages import pages
from core.actions import marks
from core.models import ActionState
from tests.email.pages import World, action_path, make_world, state_of, text_of

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
