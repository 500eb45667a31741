"""Undo: the user's own last change of an action taken back for the rest of that local day, with what
it set off; logged as such, and then counted nowhere."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actions.service import change_state
from core.actions.undo import undo_last_change
from core.models import Action, ActionEvent, ActionState, ActionType, Channel, User
from core.streaks import refresh_streak
from tests.factories import make_action, make_lead, make_user_in_context

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # Wed 25 Nov, noon in London
TODAY = date(2026, 11, 25)


@pytest.fixture(autouse=True)
def pinned() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture()
def user(service: Session) -> User:
    return make_user_in_context(service, timezone="Europe/London")


def _outreach(service: Session, user: User, name: str = "Bea Stone") -> Action:
    lead = make_lead(service, user, name=name, url=f"https://x.io/{name.split()[0].lower()}")
    return make_action(service, user, lead, action_type=ActionType.OUTREACH, due_date=TODAY, created_at=NOW)


def _press(service: Session, user: User, action: Action, to: ActionState, **kw: object):  # type: ignore[no-untyped-def]
    return change_state(service, user=user, action_id=action.id, to=to, channel=Channel.SLACK, **kw)


def _undo(service: Session, user: User, action: Action):  # type: ignore[no-untyped-def]
    return undo_last_change(service, user=user, action_id=action.id, channel=Channel.SLACK)


def _lead_actions(service: Session, action: Action) -> list[Action]:
    return list(service.scalars(select(Action).where(Action.person_id == action.person_id)))


def test_undoing_done_restores_the_action_and_the_streak_and_a_second_undo_changes_nothing(
    service: Session, user: User
) -> None:
    action = _outreach(service, user)
    _press(service, user, action, ActionState.DONE)
    assert user.streak_count == 1
    undone = _undo(service, user, action)
    assert (undone.changed, undone.undone, undone.action.state, undone.action.completed_at) == (
        True, ActionState.DONE, ActionState.NEW, None)
    assert refresh_streak(service, user=user) == 0
    again = _undo(service, user, action)
    assert (again.changed, again.action.state) == (False, ActionState.NEW)
    log = service.scalars(select(ActionEvent).where(ActionEvent.action_id == action.id)
                          .order_by(ActionEvent.created_at, ActionEvent.undoes_event_id.is_not(None))).all()
    assert [(e.from_state, e.to_state, e.undoes_event_id == log[0].id) for e in log] == [
        (ActionState.NEW, ActionState.DONE, False), (ActionState.DONE, ActionState.NEW, True)]


def test_undoing_sent_removes_the_follow_up_it_planned(service: Session, user: User) -> None:
    action = _outreach(service, user)
    assert len(_press(service, user, action, ActionState.SENT).created) == 1
    _undo(service, user, action)
    assert [(a.id, a.state) for a in _lead_actions(service, action)] == [(action.id, ActionState.NEW)]


def test_a_follow_up_the_user_already_acted_on_is_theirs_and_stays(service: Session, user: User) -> None:
    action = _outreach(service, user)
    (follow_up,) = _press(service, user, action, ActionState.SENT).created
    _press(service, user, follow_up, ActionState.SNOOZED, until=date(2026, 12, 9))
    _undo(service, user, action)
    states = {a.id: a.state for a in _lead_actions(service, action)}
    assert states == {action.id: ActionState.NEW, follow_up.id: ActionState.SNOOZED}


def test_undoing_replied_removes_reply_to_and_puts_back_what_the_reply_closed(service: Session, user: User) -> None:
    with time_machine.travel(datetime(2026, 11, 20, 12, 0, tzinfo=UTC), tick=False):
        lead = make_lead(service, user, name="Bea Stone", url="https://x.io/bea")
        first = make_action(service, user, lead, action_type=ActionType.OUTREACH, due_date=date(2026, 11, 20))
        (follow_up,) = _press(service, user, first, ActionState.SENT).created
    # Today, Bea answers the first message: the pending follow-up is closed, "Reply to Bea" planned.
    (reply_to,) = _press(service, user, first, ActionState.REPLIED).created
    service.refresh(follow_up)
    assert follow_up.state == ActionState.ARCHIVED and reply_to.description == "Reply to Bea Stone"
    _undo(service, user, first)
    states = {a.id: a.state for a in _lead_actions(service, first)}
    assert states == {first.id: ActionState.SENT, follow_up.id: ActionState.NEW}


def test_undoing_a_snooze_brings_back_its_due_date(service: Session, user: User) -> None:
    action = _outreach(service, user)
    _press(service, user, action, ActionState.SNOOZED, until=date(2026, 12, 2))
    _undo(service, user, action)
    service.refresh(action)
    assert (action.state, action.snooze_until, action.due_date) == (ActionState.NEW, None, TODAY)


def test_yesterdays_change_cannot_be_undone_today(service: Session, user: User) -> None:
    action = _outreach(service, user)
    _press(service, user, action, ActionState.DONE)
    with time_machine.travel(datetime(2026, 11, 26, 9, 0, tzinfo=UTC), tick=False):
        assert _undo(service, user, action).changed is False
    service.refresh(action)
    assert action.state == ActionState.DONE


def test_an_undone_reply_does_not_count_in_the_week(service: Session, user: User) -> None:
    from core.summaries.service import week_facts

    action = _outreach(service, user)
    _press(service, user, action, ActionState.SENT)
    _press(service, user, action, ActionState.REPLIED)
    _undo(service, user, action)
    facts = week_facts(service, user=user, week_start=date(2026, 11, 23))
    assert (facts.replies, facts.actions_completed, facts.sent) == (0, 0, 1)
