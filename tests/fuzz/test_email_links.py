"""Every email page fuzzed through the real routes, GET and POST: random strings for tokens, real
tokens tampered with, truncated or lengthened, tokens of another purpose, expired tokens, tokens
signed with the real key around payloads the app never signs, tokens naming another user's action,
and random form fields. Never a 500; a GET never changes anything; a refused request neither."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import time_machine
from flask.testing import FlaskClient
from hypothesis import event, given
from hypothesis import strategies as st
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from bot.email import links as signed
from bot.email.links import EmailLinks
from core import config
from core.actions import marks
from core.models import ActionEvent, ActionState, Channel, User
from tests.email.pages import World, make_world
from tests.fuzz.conftest import Book, changed, snapshot
from tests.fuzz.strategies import awkward_text, huge_text, json_values, mostly, unicode_text, word
from tests.slack.conftest import NOW

#: Each page: its path (``{t}`` the token), the methods it answers, and the salt of its tokens.
PAGES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "action": ("/a/{t}", ("GET", "POST"), signed._ACTION),
    "undo": ("/undo/{t}", ("GET", "POST"), signed._UNDO),
    "unsubscribe": ("/unsubscribe/{t}", ("GET", "POST"), signed._UNSUBSCRIBE),
    "preferences": ("/preferences/{t}", ("GET", "POST"), signed._PREFERENCES),
    "calendar": ("/preferences/{t}/calendar/{kind}", ("POST",), signed._PREFERENCES),
    "disconnect": ("/preferences/{t}/calendar/{kind}/disconnect", ("POST",), signed._PREFERENCES),
    "waiting": ("/waiting/{t}", ("GET",), signed._WAITING),
    "today": ("/today/{t}", ("GET",), signed._TODAY),
    "billing": ("/billing/{t}", ("GET",), signed._BILLING),
    "billing stripe": ("/billing/{t}/{kind}", ("POST",), signed._BILLING),
}


@pytest.fixture()
def client(billing: Path, connection: Connection) -> FlaskClient:
    """The web app with billing on (its pages are email pages too), against the fake Stripe."""
    from bot.web import create_app

    return create_app().test_client()


@pytest.fixture()
def worlds(service: Session, billing: Path) -> Book:
    """Eve and Bob, each with three leads and today's plan of their outreach; one of Eve's sent
    (so Undo and Replied have something to act on)."""
    from core.actions.service import change_state
    from core.db import unit_of_work

    eve = make_world(service, email="eve@example.com", name="Eve Lane")
    bob = make_world(service, email="bob@example.com", name="Bob Lee", names=("Al Ng", "Di Wu", "Jo Ma"))
    with unit_of_work(user_id=eve.user.id) as session:
        change_state(session, user=session.get_one(User, eve.user.id), action_id=eve.actions[1].id,
                     to=ActionState.SENT, channel=Channel.EMAIL)
        sent = session.scalars(select(ActionEvent.id).where(ActionEvent.action_id == eve.actions[1].id,
                                                            ActionEvent.to_state == ActionState.SENT)).one()
    return Book(eve=eve, bob=bob, changes=(sent, uuid.uuid4()))


def minted(world: World, changes: Sequence[uuid.UUID]) -> dict[str, list[str]]:
    """Every genuine token of ``world``'s user, by page, signed now; its Undo links name ``changes``."""
    links, user = EmailLinks.from_settings(), world.user.id
    action = [links.action_token(user_id=user, action_id=action.id, mark=transition)
              for action in world.actions for transition in marks.MARKS]
    undo = [links.undo_token(user_id=user, action_id=action.id, change_id=change)
            for action in world.actions for change in changes]

    def last(url: str) -> str:
        return url.rsplit("/", 1)[1]

    preferences = [last(links.preferences_url(user_id=user))]
    billing = [last(links.billing_url(user_id=user))]
    return {"action": action, "undo": undo, "unsubscribe": [last(links.unsubscribe_url(user_id=user))],
            "preferences": preferences, "calendar": preferences, "disconnect": preferences,
            "waiting": [last(links.waiting_url(user_id=user))],
            "today": [last(links.plan_url(user_id=user, day=NOW.date()))],
            "billing": billing, "billing stripe": billing}


@pytest.fixture()
def tokens(worlds: Book) -> Book:
    """Eve's tokens signed now and nine days ago (past every link's age but the preferences' and
    the unsubscribe's) and a hundred days ago (past them all); Bob's, now."""
    eve, changes = worlds["eve"], worlds["changes"]
    now = minted(eve, changes)
    with time_machine.travel(NOW - timedelta(days=9), tick=False):
        nine_days = minted(eve, changes)
    with time_machine.travel(NOW - timedelta(days=100), tick=False):
        old = minted(eve, changes)
    return Book(now=now, expired=nine_days, old=old, bob=minted(worlds["bob"], changes))


def pack(value: Any) -> str:
    return signed._pack(value)


@st.composite
def forged_payloads(draw: st.DrawFn, worlds: Book) -> Any:
    """Payloads signed with the real key that the app never signs: any JSON, or ids put together
    wrongly (Eve's user with Bob's action, unknown ids, odd transitions, too many or too few parts)."""
    eve, bob = worlds["eve"], worlds["bob"]
    user = draw(st.sampled_from([pack(eve.user.id), pack(bob.user.id)]) | st.uuids().map(pack) | word())
    action = draw(st.sampled_from([pack(a.id) for a in (*eve.actions, *bob.actions)]) | st.uuids().map(pack) | word())
    transition = draw(st.sampled_from([t.word for t in marks.MARKS] + ["archived", "DONE", "", "new"]) | word())
    parts = draw(st.sampled_from([[user, action, transition], [user, action], [user], [user, action, transition, "x"],
                                  [user, "", transition]]))
    return draw(st.just(".".join(parts)) | json_values())


@st.composite
def tokens_for(draw: st.DrawFn, page: str, tokens: Book, worlds: Book) -> str:
    real = tokens["now"][page]
    how = draw(st.sampled_from(["real", "real", "real", "real", "tampered", "truncated", "lengthened",
                                "other purpose", "expired", "old", "bob", "forged", "random"]))
    if how == "real":
        return draw(st.sampled_from(real))
    if how == "tampered":
        token = draw(st.sampled_from(real))
        at = draw(st.integers(0, len(token) - 1))
        return token[:at] + draw(st.sampled_from("AB_-.x0=")) + token[at + 1:]
    if how == "truncated":
        token = draw(st.sampled_from(real))
        return token[: draw(st.integers(0, len(token) - 1))]
    if how == "lengthened":
        return draw(st.sampled_from(real)) + draw(st.text("ABC.-_=x0", min_size=1, max_size=8))
    if how == "other purpose":
        return draw(st.sampled_from([t for other, ts in tokens["now"].items() for t in ts
                                     if PAGES[other][2] != PAGES[page][2]]))
    if how in ("expired", "old"):
        return draw(st.sampled_from(tokens[how][page]))
    if how == "bob":
        return draw(st.sampled_from(tokens["bob"][page]))
    if how == "forged":
        secret = config.get_settings().secret_key
        return URLSafeTimedSerializer(secret).dumps(draw(forged_payloads(worlds)), salt=PAGES[page][2])
    return draw(st.one_of(word(), unicode_text, awkward_text, huge_text(), st.just("")))


def form_fields() -> st.SearchStrategy[list[tuple[str, str]]]:
    """A form's fields as a browser (or anyone) might post them, repeated names included."""
    value = st.one_of(st.sampled_from(["", "1", "on", "07:30", "25:00", "7", "0", "9" * 5000, "09:00", "17:00",
                                       "https://calendar.test/basic.ics", "https://gone.test/x.ics", "webcal://x"]),
                      word(), unicode_text)
    name = st.sampled_from(["delivery_time", "email", "slack", "work_days", "hours_start", "hours_end",
                            "call_detection", "call_detection_shown", "address", "resubscribe", "csrf"]) | word()
    plausible = st.builds(
        lambda days, time, email, hours, extra: [("delivery_time", time), *(("work_days", d) for d in days),
                                                 ("email", email), ("hours_start", hours[0]), ("hours_end", hours[1]),
                                                 ("call_detection_shown", "1"), *extra],
        st.lists(st.sampled_from("1234567"), max_size=7), st.sampled_from(["07:30", "06:00", "7:30", "24:00"]),
        st.sampled_from(["1", ""]), st.sampled_from([("09:00", "17:00"), ("08:00", "08:00"), ("", "")]),
        st.lists(st.tuples(name, value), max_size=2))
    return plausible | st.lists(st.tuples(name, value), max_size=10)


@st.composite
def requests(draw: st.DrawFn, tokens: Book, worlds: Book) -> tuple[str, str, list[tuple[str, str]]]:
    page = draw(st.sampled_from(sorted(PAGES)))
    path, methods, _ = PAGES[page]
    token = draw(tokens_for(page, tokens, worlds))
    kinds = ["checkout", "portal"] if page == "billing stripe" else ["ics", "ics", "google", "outlook"]
    kind = draw(mostly(st.sampled_from(kinds), word()))
    url = path.format(t=quote(token, safe=""), kind=quote(kind, safe=""))
    return draw(st.sampled_from(methods)), url, draw(form_fields())


@given(data=st.data())
def test_every_email_page_with_any_token_and_form(
    client: FlaskClient, worlds: Book, tokens: Book, in_savepoint: Any, data: st.DataObject
) -> None:
    method, url, fields = data.draw(requests(tokens, worlds), label="request")
    with in_savepoint():
        before = snapshot()
        response = client.open(url, method=method, data=urlencode(fields),
                               content_type="application/x-www-form-urlencoded")
        assert response.status_code < 500, response.get_data(as_text=True)[:300]
        event(f"{method} {response.status_code}")
        if method == "GET" or response.status_code >= 400:
            assert changed(before, snapshot()) == [], f"{method} {response.status_code} changed something"
        if response.status_code >= 400 and response.mimetype == "text/html":
            assert "Traceback" not in response.get_data(as_text=True)


@given(outcome=st.sampled_from(["subscribed", "cancelled", "managed"]) | word() | huge_text(),
       entry=word() | st.sampled_from(["..", ".", "%2e%2e", "x.eml"]))
def test_pages_without_a_token_never_fail(client: FlaskClient, in_savepoint: Any, outcome: str, entry: str) -> None:
    with in_savepoint():
        before = snapshot()
        for url in (f"/billing/return?{urlencode({'outcome': outcome})}", "/dev/outbox",
                    f"/dev/outbox/{quote(entry, safe='')}", f"/dev/outbox/{quote(entry, safe='')}?part=text"):
            assert client.get(url).status_code in (200, 308, 404), url  # 308: werkzeug merging "//"
        assert changed(before, snapshot()) == []


