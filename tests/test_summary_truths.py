"""What `nbm summary` tells a user is true of the weeks they lived: leads the system only reminded them of
are still cold, a reply counts once, and the week before is the one they were told about."""

from __future__ import annotations

from datetime import datetime

import pytest
import time_machine
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cli import main
from core.actions.service import change_state
from core.db import unit_of_work
from core.housekeeping import run_housekeeping
from core.leads import add_lead
from core.models import Action, ActionState, ActionType, Channel, User
from tests.factories import JOINED, make_lead, make_user
from tests.test_summaries import MONDAY_MORNING, local

EMAIL = "ann@example.com"
SENT, REPLIED = ActionState.SENT, ActionState.REPLIED


def travel(moment: datetime) -> time_machine.travel:
    return time_machine.travel(moment, tick=False)


def nbm_summary(*args: str) -> Result:
    result = CliRunner().invoke(main, ["summary", "--user", EMAIL, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture()
def ann(service: Session) -> User:
    """Ann, in Los Angeles since 1 Oct: she lived the week of 16–22 Nov that `nbm summary` covers on 23 Nov."""
    return make_user(service, email=EMAIL, name="Ann Lee", timezone="America/Los_Angeles", created_at=JOINED)


def outreach(service: Session, user: User, name: str, when: datetime) -> Action:
    """A lead added at ``when``, and the OUTREACH action the product makes for it."""
    with travel(when):
        lead = add_lead(service, user=user, name=name, url=f"https://example.com/{name.replace(' ', '-')}",
                        channel=Channel.SLACK)
    return service.scalars(select(Action).where(Action.person_id == lead.id)).one()


def mark(service: Session, user: User, action: Action, to: ActionState, when: datetime) -> tuple[Action, ...]:
    """The user presses ``to`` on ``action`` at ``when``; returns the actions the follow-up rules made."""
    with travel(when):
        return change_state(service, user=user, action_id=action.id, to=to, channel=Channel.SLACK).created


def test_a_lead_the_system_gave_a_nurture_and_the_user_left_alone_is_counted_cold(
    service: Session, ann: User
) -> None:
    make_lead(service, ann, name="Bo Chen", created_at=JOINED)  # never touched since 1 Oct
    with unit_of_work(service=True) as session:  # Wednesday's housekeeping: Bo has gone cold
        assert run_housekeeping(session, at=local(18, 6)).nurtures_created == 1

    with travel(MONDAY_MORNING):
        shown = nbm_summary().output

    assert "Insight: No actions were completed this week, nor the week before. " \
           "1 lead has gone three weeks without a touch." in shown
    assert "Ann, this was a quiet week: no actions completed. 1 lead has gone three weeks without a touch." in shown


def test_one_reply_to_a_lead_written_to_twice_counts_once_in_the_rate_and_the_post(
    service: Session, ann: User
) -> None:
    leads = [outreach(service, ann, name, local(16, 9)) for name in ("Al Ng", "Bo Chen", "Cara Diaz")]
    follow_ups = [mark(service, ann, action, SENT, local(16, 10)) for action in leads]
    (cara_follow_up,) = follow_ups[2]
    assert cara_follow_up.action_type is ActionType.FOLLOW_UP
    mark(service, ann, cara_follow_up, SENT, local(19, 10))
    mark(service, ann, cara_follow_up, REPLIED, local(20, 10))

    with travel(MONDAY_MORNING):
        shown = nbm_summary().output

    assert "1 reply came in; 1 of the 3 people you wrote to has replied so far (33%)." in shown
    assert "Last week I wrote to 3 leads, and 1 of them has replied so far: 33%." in shown
    assert "Ann, you were active on 3 days and completed 1 action, with 4 messages sent and 1 reply." in shown

