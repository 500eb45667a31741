"""Helpers shared by the tests of the email pages: a world of plan and actions, and a page reader."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from html import unescape
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.email.links import EmailLinks
from core.actions import marks
from core.db import set_context
from core.models import Action, ActionEvent, ActionState, ActionType, Lead, User
from tests.factories import make_action, make_lead, make_plan, make_user

TODAY = date(2026, 11, 25)  # the local date at conftest.NOON in Europe/London


@dataclass
class World:
    user: User
    leads: list[Lead]
    actions: list[Action]


def make_world(session: Session, *, names: tuple[str, ...] = ("Ann Lee", "Bo Chen", "Cy Dee"), **user: Any) -> World:
    """A user in London with one OUTREACH per lead, all in today's plan (the first is the Fast Win)."""
    user.setdefault("timezone", "Europe/London")
    owner = make_user(session, **user)
    leads = [make_lead(session, owner, name=name, url=f"https://www.linkedin.com/in/{name.lower().replace(' ', '-')}")
             for name in names]
    actions = [make_action(session, owner, lead, action_type=ActionType.OUTREACH, due_date=TODAY) for lead in leads]
    make_plan(session, owner, actions, date=TODAY)
    return World(owner, leads, actions)


def path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def action_path(links: EmailLinks, user: User, action: Action, transition: marks.Mark) -> str:
    return path(links.action_url(user_id=user.id, action_id=action.id, mark=transition))


def tamper(url: str) -> str:
    """``url`` with one character of its signature changed (not the last: its low bits are padding)."""
    return url[:-5] + ("A" if url[-5] != "A" else "B") + url[-4:]


def reload(session: Session, obj: Any) -> Any:
    """``obj`` as the database has it now (requests leave their user's context on the shared connection)."""
    set_context(session, service=True)
    session.refresh(obj)
    return obj


def events(session: Session, action: Action) -> list[ActionEvent]:
    set_context(session, service=True)
    return list(session.scalars(select(ActionEvent).where(ActionEvent.action_id == action.id,
                                                          ActionEvent.from_state.is_not(None))
                                .order_by(ActionEvent.created_at)))


def text_of(html: str) -> str:
    """The words a reader sees (tags and styles removed, whitespace folded)."""
    html = re.sub(r"<(style|title)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def forms(html: str) -> list[tuple[str, str]]:
    """Each form on the page as (button label, action path)."""
    found = re.findall(r'<form method="post" action="([^"]+)">.*?<button[^>]*>(.*?)</button>', html, flags=re.S)
    return [(unescape(label).strip(), unescape(action)) for action, label in found]


def hrefs(html: str) -> list[str]:
    return [unescape(href) for href in re.findall(r'href="([^"]+)"', html)]


def state_of(session: Session, action: Action) -> ActionState:
    return reload(session, action).state


def outreach_closed_by_its_follow_up(client: Any, links: EmailLinks, world: World,
                                     session: Session) -> tuple[Action, Action]:
    """The first lead's outreach sent from its link, then the follow-up that planned sent from its
    own: the system closes the outreach (one message waits per lead), while this morning's email
    still carries its Replied link. Returns (outreach, follow-up)."""
    outreach = world.actions[0]
    client.post(action_path(links, world.user, outreach, marks.SENT))
    set_context(session, service=True)
    follow_up = session.scalars(select(Action).where(Action.person_id == outreach.person_id,
                                                     Action.action_type == ActionType.FOLLOW_UP)).one()
    client.post(action_path(links, world.user, follow_up, marks.SENT))
    assert state_of(session, outreach) == ActionState.DONE
    return outreach, follow_up
