"""Logging a call: the prep the work day before, the follow-up the work day after, once per call.

The clock is pinned at 03:00 UTC on Wed 25 Nov 2026: in Los Angeles it is Tue 24 Nov, 19:00.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import db
from core.calls import log_call
from core.errors import NotFound, ValidationError
from core.models import (
    Action,
    ActionEvent,
    ActionOrigin,
    ActionState,
    ActionType,
    Channel,
    Lead,
    LeadStatus,
    LoggedCall,
    User,
)
from tests.factories import make_lead, make_user, make_user_in_context

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
TODAY = date(2026, 11, 24)  # Tuesday in Los Angeles


@pytest.fixture(autouse=True)
def pinned_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture()
def user(service: Session) -> User:
    return make_user_in_context(service, timezone="America/Los_Angeles")


@pytest.fixture()
def lead(service: Session, user: User) -> Lead:
    return make_lead(service, user, name="Ann Lee", created_at=datetime(2026, 11, 2, tzinfo=UTC))


def _counts(session: Session) -> tuple[int, int, int]:
    return (session.scalar(select(func.count()).select_from(LoggedCall)),
            session.scalar(select(func.count()).select_from(Action)),
            session.scalar(select(func.count()).select_from(ActionEvent)))


def test_a_call_gets_a_prep_the_work_day_before_and_a_follow_up_the_work_day_after(
    service: Session, user: User, lead: Lead
) -> None:
    result = log_call(service, user=user, lead_id=lead.id, call_date=date(2026, 11, 30), channel=Channel.SLACK)
    assert result.created
    assert (result.call.lead_id, result.call.user_id, result.call.call_date) == (lead.id, user.id, date(2026, 11, 30))
    prep, post = result.prep, result.post
    assert prep is not None and post is not None
    assert (prep.action_type, prep.due_date, prep.description) == (
        ActionType.CALL_PREP, date(2026, 11, 27), "Prepare for your call with Ann Lee on Mon 30 Nov")  # Friday
    assert (post.action_type, post.due_date, post.description) == (
        ActionType.POST_CALL, date(2026, 12, 1), "Follow up on your call with Ann Lee on Mon 30 Nov")
    for action in (prep, post):
        assert (action.origin, action.auto_created, action.logged_call_id, action.person_id, action.state) == (
            ActionOrigin.CALL, True, result.call.id, lead.id, ActionState.NEW)
        channel = service.scalar(select(ActionEvent.channel).where(ActionEvent.action_id == action.id))
        assert channel == Channel.SYSTEM


def test_a_call_on_a_saturday_is_prepared_on_friday_and_followed_up_on_monday(
    service: Session, user: User, lead: Lead
) -> None:
    result = log_call(service, user=user, lead_id=lead.id, call_date=date(2026, 11, 28), channel=Channel.CLI)
    assert result.prep is not None and result.post is not None
    assert (result.prep.due_date, result.post.due_date) == (date(2026, 11, 27), date(2026, 11, 30))


def test_a_call_tomorrow_is_prepared_today_in_the_users_timezone(service: Session, user: User, lead: Lead) -> None:
    # Wednesday 25 Nov is already "today" in UTC, but tomorrow in Los Angeles.
    result = log_call(service, user=user, lead_id=lead.id, call_date=date(2026, 11, 25), channel=Channel.SLACK)
    assert result.prep is not None and result.post is not None
    assert (result.prep.due_date, result.post.due_date) == (TODAY, date(2026, 11, 26))
    assert result.prep.description == "Prepare for your call with Ann Lee on Wed 25 Nov"


def test_a_call_today_is_prepared_today(service: Session, user: User, lead: Lead) -> None:
    result = log_call(service, user=user, lead_id=lead.id, call_date=TODAY, channel=Channel.SLACK)
    assert result.prep is not None and result.post is not None
    assert (result.prep.due_date, result.post.due_date) == (TODAY, date(2026, 11, 25))


@pytest.mark.parametrize("call_date", [date(2026, 11, 23), date(2026, 11, 20)])
def test_a_past_call_gets_no_prep_and_a_follow_up_no_earlier_than_today(
    service: Session, user: User, lead: Lead, call_date: date
) -> None:
    result = log_call(service, user=user, lead_id=lead.id, call_date=call_date, channel=Channel.SLACK)
    assert result.prep is None
    assert result.post is not None and result.post.due_date == TODAY


def test_a_call_next_year_names_the_year(service: Session, user: User, lead: Lead) -> None:
    result = log_call(service, user=user, lead_id=lead.id, call_date=date(2027, 1, 7), channel=Channel.SLACK)
    assert result.prep is not None
    assert result.prep.description == "Prepare for your call with Ann Lee on Thu 7 Jan 2027"
    assert result.prep.due_date == date(2027, 1, 6)


def test_logging_the_same_call_twice_returns_it_and_creates_nothing(service: Session, user: User, lead: Lead) -> None:
    first = log_call(service, user=user, lead_id=lead.id, call_date=date(2026, 11, 30), channel=Channel.SLACK)
    before = _counts(service)
    again = log_call(service, user=user, lead_id=lead.id, call_date=date(2026, 11, 30), channel=Channel.EMAIL)
    assert _counts(service) == before
    assert again.created is False
    assert again.call.id == first.call.id
    assert (again.prep, again.post) == (first.prep, first.post)


def test_a_second_call_while_the_first_ones_actions_are_pending_adds_no_twin(
    service: Session, user: User, lead: Lead
) -> None:
    """The prep stays with the sooner call; the untouched follow-up moves to the later one."""
    first = log_call(service, user=user, lead_id=lead.id, call_date=date(2026, 11, 30), channel=Channel.SLACK)
    second = log_call(service, user=user, lead_id=lead.id, call_date=date(2026, 12, 3), channel=Channel.SLACK)
    assert second.created and second.prep is None and second.post is not None
    assert [(o.kind, o.call_date, o.held) for o in second.others] == [
        (ActionType.CALL_PREP, date(2026, 11, 30), first.prep), (ActionType.POST_CALL, date(2026, 11, 30), None)]
    pending = service.execute(
        select(Action.action_type, Action.logged_call_id).where(Action.person_id == lead.id)).all()
    assert sorted(pending) == [(ActionType.CALL_PREP, first.call.id), (ActionType.POST_CALL, second.call.id)]


def test_another_users_lead_is_unknown(service: Session, user: User) -> None:
    db.set_context(service, service=True)
    theirs = make_lead(service, make_user(service))
    before = _counts(service)
    db.set_context(service, user_id=user.id)
    for lead_id in (theirs.id, uuid.uuid4()):
        with pytest.raises(NotFound, match="that lead does not exist"):
            log_call(service, user=user, lead_id=lead_id, call_date=date(2026, 11, 30), channel=Channel.SLACK)
    db.set_context(service, service=True)
    assert _counts(service) == before


def test_an_archived_lead_cannot_have_a_call(service: Session, user: User, lead: Lead) -> None:
    lead.status = LeadStatus.ARCHIVED
    service.flush()
    with pytest.raises(ValidationError, match="Ann Lee is archived"):
        log_call(service, user=user, lead_id=lead.id, call_date=date(2026, 11, 30), channel=Channel.SLACK)
    assert _counts(service)[0:2] == (0, 0)


@pytest.mark.parametrize("call_date", [date(2062, 11, 30), date(2025, 11, 20)])
def test_a_call_date_more_than_a_year_away_is_refused(
    service: Session, user: User, lead: Lead, call_date: date
) -> None:
    with pytest.raises(ValidationError, match="within a year of today \\(2026-11-24\\)"):
        log_call(service, user=user, lead_id=lead.id, call_date=call_date, channel=Channel.SLACK)
    assert _counts(service)[0:2] == (0, 0)
