"""What a person types after `/nbm`, sent as Slack sends it: spaces of any kind in a name, `#2` for a
plan number, a lead whose name ends in a date word, a colon in a name, Slack's escapes and wrapped
links, and the snooze menu's own labels typed back in."""

from __future__ import annotations

from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from core.db import unit_of_work
from core.models import Action, ActionState, Lead, User
from tests.slack.conftest import add_leads, command, replies
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")

NBSP = "\u00a0"


def _leads(user: User) -> list[tuple[str, str]]:
    with unit_of_work(user_id=user.id) as session:
        return [(lead.name, lead.url) for lead in session.scalars(select(Lead).where(Lead.user_id == user.id))]


def _snoozed_until(user: User, lead: Lead) -> date | None:
    """Until when the lead's outreach is snoozed (None: not snoozed)."""
    with unit_of_work(user_id=user.id) as session:
        action = session.scalars(select(Action).where(Action.person_id == lead.id)).one()
        return action.snooze_until if action.state == ActionState.SNOOZED else None


def _rename(lead: Lead, name: str) -> None:
    """Store ``name`` as it was stored before names were folded (as typed, spaces and all)."""
    with unit_of_work(service=True) as session:
        session.execute(update(Lead).where(Lead.id == lead.id).values(name=name))


# --- spaces in names ------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["Ann  Lee", f"Ann{NBSP}Lee", f" Ann {NBSP} Lee "],
                         ids=["two spaces", "a non-breaking space", "a mix"])
def test_add_stores_a_name_with_its_spaces_folded(web: FlaskClient, fake: FakeSlack, ann: User, typed: str) -> None:
    command(web, fake, f"add {typed} https://www.linkedin.com/in/ann-lee")
    assert _leads(ann) == [("Ann Lee", "https://www.linkedin.com/in/ann-lee")]
    assert replies(fake) == ["➕ Added <https://www.linkedin.com/in/ann-lee|Ann Lee>. "
                             "Reaching out to them is in today's plan."]


@pytest.mark.parametrize("stored", ["Dana  Fox", f"Dana{NBSP}Fox", "Dana Fox"])
@pytest.mark.parametrize("typed", ["snooze Dana Fox", f"snooze Dana{NBSP}Fox tomorrow", "done Dana   Fox",
                                   f"sent dana{NBSP}{NBSP}fox"])
def test_a_name_is_found_however_its_spaces_were_typed_or_stored(
    web: FlaskClient, fake: FakeSlack, ann: User, stored: str, typed: str
) -> None:
    (dana,) = add_leads(ann, "Dana Fox")
    _rename(dana, stored)
    command(web, fake, typed)
    (reply,) = replies(fake)
    assert reply.startswith(("💤 Snoozed until Thu 26 Nov: Reach out to Dana", "✅ Marked done: Reach out to Dana",
                             "✅ Marked sent: Reach out to Dana")), reply
