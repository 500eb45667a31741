"""Signed links: bound to user, action and transition; tamper-proof; expiring as promised."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import time_machine

from bot.email.links import EmailLinks, LinkExpired, LinkInvalid
from core.actions import marks
from tests.email.conftest import NOON

LINKS = EmailLinks(base_url="https://nbm.example.com/", secret_key="secret-one")
USER, ACTION = uuid.uuid4(), uuid.uuid4()


def token(transition: marks.Mark = marks.DONE, *, links: EmailLinks = LINKS) -> str:
    return links.action_token(user_id=USER, action_id=ACTION, mark=transition)


def test_an_action_link_carries_user_action_and_transition_under_the_base_url() -> None:
    with time_machine.travel(NOON, tick=False):
        url = LINKS.action_url(user_id=USER, action_id=ACTION, mark=marks.SNOOZE)
        link = LINKS.read_action(url.removeprefix("https://nbm.example.com/a/"))
    assert url.startswith("https://nbm.example.com/a/")
    assert (link.user_id, link.action_id, link.mark, link.signed_at) == (USER, ACTION, marks.SNOOZE, NOON)


def test_each_transition_and_action_gets_its_own_token() -> None:
    tokens = {token(t) for t in marks.MARKS}
    tokens.add(LINKS.action_token(user_id=USER, action_id=uuid.uuid4(), mark=marks.DONE))
    assert len(tokens) == len(marks.MARKS) + 1


@pytest.mark.parametrize("tamper", [
    # signature changed (not its last character, whose low bits are base64 padding)
    lambda t: t[:-5] + ("A" if t[-5] != "A" else "B") + t[-4:],
    lambda t: t[:10] + ("x" if t[10] != "x" else "y") + t[11:],  # payload changed
    lambda t: t[: len(t) // 2],  # truncated by a mail client
    lambda t: "not-a-token",
])
def test_a_tampered_token_is_not_valid(tamper) -> None:
    with pytest.raises(LinkInvalid, match="not valid"):
        LINKS.read_action(tamper(token()))


def test_a_token_from_another_key_or_for_another_purpose_is_not_valid() -> None:
    other = EmailLinks(base_url="https://nbm.example.com", secret_key="secret-two")
    with pytest.raises(LinkInvalid):
        LINKS.read_action(token(links=other))
    unsubscribe = LINKS.unsubscribe_url(user_id=USER).rsplit("/", 1)[1]
    preferences = LINKS.preferences_url(user_id=USER).rsplit("/", 1)[1]
    with pytest.raises(LinkInvalid):
        LINKS.read_action(unsubscribe)
    with pytest.raises(LinkInvalid):
        LINKS.read_preferences(unsubscribe)
    with pytest.raises(LinkInvalid):
        LINKS.read_unsubscribe(preferences)
    with pytest.raises(LinkInvalid):
        LINKS.read_unsubscribe(token())


def test_action_links_work_for_seven_days_then_expire() -> None:
    with time_machine.travel(NOON, tick=False) as traveller:
        issued = token()
        traveller.shift(timedelta(days=7) - timedelta(seconds=1))
        assert LINKS.read_action(issued).action_id == ACTION
        traveller.shift(timedelta(seconds=2))
        with pytest.raises(LinkExpired, match="expired"):
            LINKS.read_action(issued)


def test_unsubscribe_links_never_expire_and_preferences_links_last_ninety_days() -> None:
    with time_machine.travel(NOON, tick=False) as traveller:
        unsubscribe = LINKS.unsubscribe_url(user_id=USER).rsplit("/", 1)[1]
        preferences = LINKS.preferences_url(user_id=USER).rsplit("/", 1)[1]
        traveller.shift(timedelta(days=89))
        assert LINKS.read_preferences(preferences) == USER
        traveller.shift(timedelta(days=2))
        with pytest.raises(LinkExpired):
            LINKS.read_preferences(preferences)
        traveller.shift(timedelta(days=3 * 365))
        assert LINKS.read_unsubscribe(unsubscribe) == USER
