"""The follow-up rules: the chain after a send, the reply, one waiting action per lead, no duplicates,
and the daily cold-lead nurtures. The user lives in Los Angeles; each instant below is pinned at an
hour when the UTC date is already the next day there.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import db
from core.actions.followups import create_cold_lead_nurtures
from core.actions.records import create_action
from core.actions.service import TransitionResult, change_state, list_waiting
from core.models import (
    Action,
    ActionEvent,
    ActionOrigin,
    ActionState,
    ActionType,
    Channel,
    Lead,
    LeadStatus,
    User,
)
from tests.factories import make_action, make_event, make_lead, make_user

LA = "America/Los_Angeles"
THU_EVENING = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # Thu 26 Nov, 19:00 in Los Angeles


def _at_la(day: date, hour: int = 19) -> datetime:
    """``hour``:00 in Los Angeles (PST, UTC-8) on ``day``."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour + 8)


@pytest.fixture()
def user(service: Session) -> User:
    user = make_user(service, timezone=LA)
    db.set_context(service, user_id=user.id)
    return user


@pytest.fixture()
def lead(service: Session, user: User) -> Lead:
    return make_lead(service, user, name="Ann Lee", created_at=datetime(2026, 11, 2, tzinfo=UTC))


def _outreach(session: Session, user: User, lead: Lead, at: datetime = THU_EVENING) -> Action:
    with time_machine.travel(at, tick=False):
        return create_action(session, user=user, lead=lead, action_type=ActionType.OUTREACH,
                             due_date=date(2026, 11, 26), channel=Channel.CLI)


def _press(session: Session, user: User, action: Action, to: ActionState, at: datetime,
           channel: Channel = Channel.SLACK) -> TransitionResult:
    with time_machine.travel(at, tick=False):
        return change_state(session, user=user, action_id=action.id, to=to, channel=channel)


def _lead_actions(session: Session, lead: Lead) -> list[Action]:
    return list(session.scalars(select(Action).where(Action.person_id == lead.id)
                                .order_by(Action.created_at, Action.id)))


def _pending(session: Session, lead: Lead) -> list[tuple[ActionType, ActionOrigin, date]]:
    return [(a.action_type, a.origin, a.due_date) for a in _lead_actions(session, lead)
            if a.state in (ActionState.NEW, ActionState.SNOOZED)]


def _last_event(session: Session, action: Action) -> tuple[ActionState | None, ActionState, Channel]:
    row = session.execute(
        select(ActionEvent.from_state, ActionEvent.to_state, ActionEvent.channel)
        .where(ActionEvent.action_id == action.id).order_by(ActionEvent.created_at.desc()).limit(1)
    ).one()
    return tuple(row)


def test_the_chain_is_3_work_days_then_7_then_14_then_a_nurture_in_30(
    service: Session, user: User, lead: Lead
) -> None:
    outreach = _outreach(service, user, lead)

    # Thursday in Los Angeles (already Friday in UTC): Fri, Mon, Tue → Tuesday 1 Dec.
    sent = _press(service, user, outreach, ActionState.SENT, THU_EVENING)
    (first,) = sent.created
    assert (first.action_type, first.origin, first.auto_created, first.due_date) == (
        ActionType.FOLLOW_UP, ActionOrigin.SENT, True, date(2026, 12, 1))
    assert (first.source_action_id, first.description) == (outreach.id, "Follow up with Ann Lee")
    assert _last_event(service, first) == (None, ActionState.NEW, Channel.SYSTEM)

    # Sent on a Saturday: 7 days later is a Saturday, moved to Monday 14 Dec.
    (second,) = _press(service, user, first, ActionState.SENT, _at_la(date(2026, 12, 5), 10)).created
    assert (second.action_type, second.due_date) == (ActionType.FOLLOW_UP, date(2026, 12, 14))

    (third,) = _press(service, user, second, ActionState.SENT, _at_la(date(2026, 12, 14))).created
    assert (third.action_type, third.due_date) == (ActionType.FOLLOW_UP, date(2026, 12, 28))

    # Three follow-ups unanswered: a NURTURE 30 days on (Wed 27 Jan), no fourth follow-up.
    (nurture,) = _press(service, user, third, ActionState.SENT, _at_la(date(2026, 12, 28))).created
    assert (nurture.action_type, nurture.origin, nurture.due_date, nurture.source_action_id) == (
        ActionType.NURTURE, ActionOrigin.SENT, date(2027, 1, 27), third.id)
    assert nurture.description == "Check in with Ann Lee"

    # The lead stays silent: sending the nurture schedules the next one, 30 days on.
    (again,) = _press(service, user, nurture, ActionState.SENT, _at_la(date(2027, 1, 27))).created
    assert (again.action_type, again.due_date) == (ActionType.NURTURE, date(2027, 2, 26))


def test_a_nurture_landing_on_a_weekend_moves_to_monday(service: Session, user: User, lead: Lead) -> None:
    chain = [_outreach(service, user, lead)]
    for day in (date(2026, 11, 26), date(2026, 12, 1), date(2026, 12, 8)):
        chain += _press(service, user, chain[-1], ActionState.SENT, _at_la(day)).created
    # Fri 18 Dec + 30 days = Sun 17 Jan → Mon 18 Jan.
    (nurture,) = _press(service, user, chain[-1], ActionState.SENT, _at_la(date(2026, 12, 18))).created
    assert (nurture.action_type, nurture.due_date) == (ActionType.NURTURE, date(2027, 1, 18))


def test_work_days_are_the_users_own(service: Session, user: User, lead: Lead) -> None:
    user.settings.work_days = [1, 2, 3]  # Monday to Wednesday
    service.flush()
    (follow_up,) = _press(service, user, _outreach(service, user, lead), ActionState.SENT, THU_EVENING).created
    assert follow_up.due_date == date(2026, 12, 2)  # from Thursday: Mon 30, Tue 1, Wed 2
    user.settings.work_days = [1, 3, 5]
    service.flush()
    (second,) = _press(service, user, follow_up, ActionState.SENT, _at_la(date(2026, 12, 1))).created
    assert second.due_date == date(2026, 12, 9)  # Tue 1 + 7 = Tue 8, not a work day → Wed 9


def test_a_send_closes_the_leads_earlier_waiting_action_as_the_system(
    service: Session, user: User, lead: Lead
) -> None:
    outreach = _outreach(service, user, lead)
    (follow_up,) = _press(service, user, outreach, ActionState.SENT, THU_EVENING).created
    later = _at_la(date(2026, 12, 1))
    _press(service, user, follow_up, ActionState.SENT, later)
    assert (outreach.state, outreach.completed_at) == (ActionState.DONE, later)
    assert _last_event(service, outreach) == (ActionState.SENT, ActionState.DONE, Channel.SYSTEM)
    assert [a.id for a in list_waiting(service, user=user)] == [follow_up.id]
    # Two sends, no completion by the user: the streak does not move.
    service.refresh(user)
    assert user.streak_count == 0


def test_a_reply_archives_the_chasers_and_asks_for_a_reply_today(service: Session, user: User, lead: Lead) -> None:
    outreach = _outreach(service, user, lead)
    (follow_up,) = _press(service, user, outreach, ActionState.SENT, THU_EVENING).created
    with time_machine.travel(THU_EVENING, tick=False):
        snoozed_nurture = make_action(service, user, lead, action_type=ActionType.NURTURE, auto_created=True,
                                      origin=ActionOrigin.COLD, state=ActionState.SNOOZED,
                                      snooze_until=date(2026, 12, 10), due_date=date(2026, 12, 10),
                                      created_at=THU_EVENING)
        own_follow_up = make_action(service, user, lead, action_type=ActionType.FOLLOW_UP, due_date=date(2026, 12, 2),
                                    created_at=THU_EVENING)
    other_lead = make_lead(service, user)
    (others_follow_up,) = _press(service, user, _outreach(service, user, other_lead), ActionState.SENT,
                                 THU_EVENING).created

    replied_at = _at_la(date(2026, 11, 30), 20)  # Mon 30 Nov 20:00 in LA, Tue 1 Dec in UTC
    result = _press(service, user, outreach, ActionState.REPLIED, replied_at)

    (reply,) = result.created
    assert (reply.action_type, reply.origin, reply.auto_created, reply.due_date, reply.description) == (
        ActionType.FOLLOW_UP, ActionOrigin.REPLY, True, date(2026, 11, 30), "Reply to Ann Lee")
    assert reply.source_action_id == outreach.id
    for chaser in (follow_up, snoozed_nurture):
        assert (chaser.state, chaser.snooze_until) == (ActionState.ARCHIVED, None)
        assert _last_event(service, chaser)[1:] == (ActionState.ARCHIVED, Channel.SYSTEM)
    assert own_follow_up.state == ActionState.NEW  # made by the user: theirs to close
    assert others_follow_up.state == ActionState.NEW  # another lead's chain is untouched
    assert (outreach.state, outreach.completed_at) == (ActionState.REPLIED, replied_at)


def test_after_a_reply_the_chain_starts_again_at_3_work_days(service: Session, user: User, lead: Lead) -> None:
    chain = [_outreach(service, user, lead)]
    for day in (date(2026, 11, 26), date(2026, 12, 1), date(2026, 12, 8)):
        chain += _press(service, user, chain[-1], ActionState.SENT, _at_la(day)).created
    (reply,) = _press(service, user, chain[-1], ActionState.REPLIED, _at_la(date(2026, 12, 9))).created
    assert chain[-1].state == ActionState.REPLIED
    (fresh,) = _press(service, user, reply, ActionState.SENT, _at_la(date(2026, 12, 10))).created
    assert (fresh.action_type, fresh.origin, fresh.due_date) == (ActionType.FOLLOW_UP, ActionOrigin.SENT,
                                                                date(2026, 12, 15))


def test_a_reply_to_a_new_action_also_closes_what_was_waiting(service: Session, user: User, lead: Lead) -> None:
    outreach = _outreach(service, user, lead)
    (follow_up,) = _press(service, user, outreach, ActionState.SENT, THU_EVENING).created
    result = _press(service, user, follow_up, ActionState.REPLIED, _at_la(date(2026, 12, 1)))
    assert outreach.state == ActionState.DONE
    assert _last_event(service, outreach) == (ActionState.SENT, ActionState.DONE, Channel.SYSTEM)
    assert [a.description for a in result.created] == ["Reply to Ann Lee"]
    assert list_waiting(service, user=user) == []


def test_no_rule_ever_makes_a_second_pending_auto_action_for_a_lead(service: Session, user: User, lead: Lead) -> None:
    outreach = _outreach(service, user, lead)
    (follow_up,) = _press(service, user, outreach, ActionState.SENT, THU_EVENING).created
    # A second outreach of the user's own is sent while the auto follow-up is still to do.
    with time_machine.travel(THU_EVENING, tick=False):
        second = make_action(service, user, lead, due_date=date(2026, 11, 26), created_at=THU_EVENING)
    assert _press(service, user, second, ActionState.SENT, _at_la(date(2026, 11, 27))).created == ()
    assert (follow_up.state, follow_up.due_date) == (ActionState.NEW, date(2026, 12, 1))

    (reply,) = _press(service, user, second, ActionState.REPLIED, _at_la(date(2026, 11, 30))).created
    # The lead writes again before the user answered: still one "Reply to".
    with time_machine.travel(THU_EVENING, tick=False):
        third = make_action(service, user, lead, due_date=date(2026, 11, 26), created_at=THU_EVENING)
    assert _press(service, user, third, ActionState.REPLIED, _at_la(date(2026, 12, 1))).created == ()
    assert reply.state == ActionState.NEW
    assert _pending(service, lead) == [(ActionType.FOLLOW_UP, ActionOrigin.REPLY, date(2026, 11, 30))]


def test_a_double_press_creates_one_follow_up(service: Session, user: User, lead: Lead) -> None:
    outreach = _outreach(service, user, lead)
    first = _press(service, user, outreach, ActionState.SENT, THU_EVENING)
    again = _press(service, user, outreach, ActionState.SENT, THU_EVENING, Channel.EMAIL)
    assert (len(first.created), again.created, again.changed) == (1, (), False)
    assert len(_pending(service, lead)) == 1


def test_no_rules_for_an_archived_lead_or_an_action_without_one(service: Session, user: User, lead: Lead) -> None:
    outreach = _outreach(service, user, lead)
    lead.status = LeadStatus.ARCHIVED
    service.flush()
    assert _press(service, user, outreach, ActionState.SENT, THU_EVENING).created == ()
    with time_machine.travel(THU_EVENING, tick=False):
        loose = create_action(service, user=user, action_type=ActionType.FAST_WIN, due_date=date(2026, 11, 26),
                              channel=Channel.CLI)
    assert _press(service, user, loose, ActionState.DONE, THU_EVENING).created == ()


# --- cold leads -----------------------------------------------------------------------------------

COLD_RUN = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # Wed 25 Nov, 19:00 in LA; 21 days back: Wed 4 Nov


def _cold_lead(service: Session, user: User, created: datetime, **fields: object) -> Lead:
    return make_lead(service, user, created_at=created, **fields)


def _nurtures(service: Session) -> list[Action]:
    return list(service.scalars(select(Action).where(Action.action_type == ActionType.NURTURE)))


def test_a_lead_untouched_for_21_local_days_gets_a_nurture_due_today(service: Session) -> None:
    user = make_user(service, timezone=LA)
    cold = _cold_lead(service, user, _at_la(date(2026, 11, 4), 23), name="Bo Chen")
    assert create_cold_lead_nurtures(service, at=COLD_RUN) == 1
    (nurture,) = _nurtures(service)
    assert (nurture.person_id, nurture.user_id, nurture.state, nurture.origin, nurture.auto_created) == (
        cold.id, user.id, ActionState.NEW, ActionOrigin.COLD, True)
    assert nurture.due_date == date(2026, 11, 25)  # the user's today, not UTC's 26th
    assert nurture.description == "Reconnect with Bo Chen"
    assert _last_event(service, nurture) == (None, ActionState.NEW, Channel.SYSTEM)


def test_a_lead_is_not_cold_before_its_21st_local_day(service: Session) -> None:
    user = make_user(service, timezone=LA)
    # 5 Nov 10:00 in LA: only 20 local days ago (yet 21 UTC dates before the run's UTC date).
    lead = _cold_lead(service, user, _at_la(date(2026, 11, 5), 10))
    assert create_cold_lead_nurtures(service, at=COLD_RUN) == 0
    assert create_cold_lead_nurtures(service, at=COLD_RUN + timedelta(days=1)) == 1
    assert [n.person_id for n in _nurtures(service)] == [lead.id]


def test_any_event_on_a_leads_actions_is_a_touch(service: Session) -> None:
    user = make_user(service, timezone=LA)
    old = datetime(2026, 10, 1, tzinfo=UTC)
    touched, quiet = _cold_lead(service, user, old), _cold_lead(service, user, old)
    for lead, last_touch in ((touched, _at_la(date(2026, 11, 5), 1)), (quiet, _at_la(date(2026, 11, 4), 23))):
        done = make_action(service, user, lead, state=ActionState.DONE, due_date=date(2026, 10, 1),
                           created_at=old, completed_at=last_touch)
        make_event(service, done, to_state=ActionState.NEW, at=old)
        make_event(service, done, from_state=ActionState.NEW, to_state=ActionState.DONE, at=last_touch)
    assert create_cold_lead_nurtures(service, at=COLD_RUN) == 1
    assert [n.person_id for n in _nurtures(service)] == [quiet.id]


@pytest.mark.parametrize("state", [ActionState.NEW, ActionState.SENT, ActionState.SNOOZED])
def test_a_lead_with_an_open_action_is_not_cold(service: Session, state: ActionState) -> None:
    user = make_user(service, timezone=LA)
    old = datetime(2026, 10, 1, tzinfo=UTC)
    lead = _cold_lead(service, user, old)
    open_action = make_action(service, user, lead, state=state, due_date=date(2026, 10, 1), created_at=old)
    make_event(service, open_action, to_state=ActionState.NEW, at=old)
    assert create_cold_lead_nurtures(service, at=COLD_RUN) == 0


@pytest.mark.parametrize("status", [LeadStatus.SNOOZED, LeadStatus.ARCHIVED])
def test_only_active_leads_go_cold(service: Session, status: LeadStatus) -> None:
    user = make_user(service, timezone=LA)
    _cold_lead(service, user, datetime(2026, 10, 1, tzinfo=UTC), status=status,
               snooze_until=date(2026, 12, 1) if status == LeadStatus.SNOOZED else None)
    assert create_cold_lead_nurtures(service, at=COLD_RUN) == 0


def test_cold_nurtures_are_made_for_every_user_at_once_and_only_once(service: Session) -> None:
    la_user, tokyo_user = make_user(service, timezone=LA), make_user(service, timezone="Asia/Tokyo")
    la_lead = _cold_lead(service, la_user, datetime(2026, 10, 1, tzinfo=UTC))
    tokyo_lead = _cold_lead(service, tokyo_user, datetime(2026, 10, 1, tzinfo=UTC))
    assert create_cold_lead_nurtures(service, at=COLD_RUN) == 2
    assert create_cold_lead_nurtures(service, at=COLD_RUN) == 0
    assert create_cold_lead_nurtures(service, at=COLD_RUN + timedelta(hours=5)) == 0
    due = {n.person_id: (n.user_id, n.due_date) for n in _nurtures(service)}
    assert due == {la_lead.id: (la_user.id, date(2026, 11, 25)), tokyo_lead.id: (tokyo_user.id, date(2026, 11, 26))}
