"""Changing an action's state: the state machine, repeats, the event log, snoozes, and whose action it is.

The clock is pinned at 03:00 UTC on Fri 27 Nov 2026: in Los Angeles it is still Thu 26 Nov, 19:00.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import Engine, delete, func, select, text
from sqlalchemy.orm import Session

from core import db
from core.actions.records import create_action
from core.actions.rules import ALLOWED, Verdict, check_change
from core.actions.service import TransitionResult, change_state, get_action, list_actions, list_waiting
from core.actions.snooze import parse_snooze, snooze_a_week, snooze_presets
from core.errors import InvalidTransition, NotFound, ValidationError
from core.models import Action, ActionEvent, ActionState, ActionType, Channel, User
from tests.factories import make_action, make_lead, make_user, make_user_in_context

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
LOCAL_TODAY = date(2026, 11, 26)  # Thursday in Los Angeles
NEXT_DAY = date(2026, 11, 27)


@pytest.fixture(autouse=True)
def pinned_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture()
def user(service: Session) -> User:
    return make_user_in_context(service, timezone="America/Los_Angeles")


def _action(session: Session, user: User, state: ActionState = ActionState.NEW, **fields: object) -> Action:
    """An OUTREACH to a lead of the user (a message: every change of the state table applies)."""
    if state == ActionState.SNOOZED:
        fields.setdefault("snooze_until", date(2026, 12, 3))
    if state in (ActionState.DONE, ActionState.REPLIED, ActionState.ARCHIVED):
        fields.setdefault("completed_at", NOW)
    fields.setdefault("due_date", LOCAL_TODAY)
    fields.setdefault("created_at", NOW)
    lead = fields.pop("lead", None) or make_lead(session, user)
    return make_action(session, user, lead, state=state, **fields)


def _events(session: Session, action: Action) -> list[tuple[ActionState | None, ActionState, Channel]]:
    rows = session.execute(
        select(ActionEvent.from_state, ActionEvent.to_state, ActionEvent.channel)
        .where(ActionEvent.action_id == action.id).order_by(ActionEvent.created_at, ActionEvent.id)
    )
    return [tuple(row) for row in rows]


PAIRS = [(a, b) for a, b in itertools.product(ActionState, ActionState) if a != b]


@pytest.mark.parametrize(("start", "target"), PAIRS, ids=[f"{a.value}->{b.value}" for a, b in PAIRS])
def test_every_pair_of_the_state_table_is_applied_or_refused_as_the_spec_says(
    service: Session, user: User, start: ActionState, target: ActionState
) -> None:
    action = _action(service, user, start)
    channel = Channel.SYSTEM if target == ActionState.ARCHIVED else Channel.SLACK
    until = NEXT_DAY if target == ActionState.SNOOZED else None
    if target in ALLOWED[start]:
        result = change_state(service, user=user, action_id=action.id, to=target, channel=channel, until=until)
        assert (result.changed, result.action.state) == (True, target)
        assert _events(service, action) == [(start, target, channel)]
    else:
        with pytest.raises(InvalidTransition, match=f"this action is {start.value.lower()}"):
            change_state(service, user=user, action_id=action.id, to=target, channel=channel, until=until)
        service.refresh(action)
        assert action.state == start
        assert _events(service, action) == []


def test_a_refusal_names_what_can_still_be_done(service: Session, user: User) -> None:
    action = _action(service, user, ActionState.REPLIED)
    with pytest.raises(InvalidTransition) as refused:
        change_state(service, user=user, action_id=action.id, to=ActionState.SENT, channel=Channel.SLACK)
    assert str(refused.value) == "this action is replied, so you cannot mark it sent; you can: mark it done"


def test_pressing_the_same_button_twice_is_a_no_op_that_answers_with_the_state(service: Session, user: User) -> None:
    action = _action(service, user)
    first = change_state(service, user=user, action_id=action.id, to=ActionState.DONE, channel=Channel.SLACK)
    again = change_state(service, user=user, action_id=action.id, to=ActionState.DONE, channel=Channel.EMAIL)
    assert (first.changed, again.changed) == (True, False)
    assert again.action.state == ActionState.DONE
    assert _events(service, action) == [(ActionState.NEW, ActionState.DONE, Channel.SLACK)]


def test_each_change_is_logged_with_the_channel_it_came_from(service: Session, user: User) -> None:
    action = _action(service, user)
    steps = [(ActionState.SENT, Channel.EMAIL), (ActionState.REPLIED, Channel.SLACK), (ActionState.DONE, Channel.CLI)]
    for minutes, (target, channel) in enumerate(steps, start=1):
        with time_machine.travel(NOW + timedelta(minutes=minutes), tick=False):
            change_state(service, user=user, action_id=action.id, to=target, channel=channel)
    assert _events(service, action) == [
        (ActionState.NEW, ActionState.SENT, Channel.EMAIL),
        (ActionState.SENT, ActionState.REPLIED, Channel.SLACK),
        (ActionState.REPLIED, ActionState.DONE, Channel.CLI),
    ]
    stamped = service.scalars(select(ActionEvent.created_at).where(ActionEvent.action_id == action.id)
                              .order_by(ActionEvent.created_at)).all()
    assert stamped == [NOW + timedelta(minutes=m) for m in (1, 2, 3)]


@pytest.mark.parametrize("target", [ActionState.DONE, ActionState.REPLIED])
def test_a_completion_is_stamped_and_counts_for_the_streak_on_the_users_own_day(
    service: Session, user: User, target: ActionState
) -> None:
    action = _action(service, user)
    change_state(service, user=user, action_id=action.id, to=target, channel=Channel.SLACK)
    assert action.completed_at == NOW
    assert (user.streak_count, user.last_action_date) == (1, LOCAL_TODAY)


def test_a_person_cannot_archive_a_done_action(service: Session, user: User) -> None:
    action = _action(service, user, ActionState.DONE)
    with pytest.raises(InvalidTransition, match="archived automatically 90 days"):
        change_state(service, user=user, action_id=action.id, to=ActionState.ARCHIVED, channel=Channel.CLI)
    assert _events(service, action) == []


def test_the_check_of_a_change_answers_repeat_refused_or_allowed_and_changes_nothing(
    service: Session, user: User
) -> None:
    """The check channels show before acting (the email's confirmation page), and change_state acts on."""
    new, done = _action(service, user), _action(service, user, ActionState.DONE)
    assert check_change(new, ActionState.SENT, channel=Channel.EMAIL).verdict is Verdict.ALLOWED
    assert check_change(done, ActionState.DONE, channel=Channel.EMAIL).verdict is Verdict.REPEAT
    refused = check_change(done, ActionState.SENT, channel=Channel.EMAIL)
    assert (refused.verdict, refused.reason) == (
        Verdict.REFUSED, "this action is done, so you cannot mark it sent; nothing more can be done with it")
    by_hand = check_change(done, ActionState.ARCHIVED, channel=Channel.CLI)
    assert (by_hand.verdict, check_change(done, ActionState.ARCHIVED, channel=Channel.SYSTEM).verdict) == (
        Verdict.REFUSED, Verdict.ALLOWED)
    assert (new.state, done.state) == (ActionState.NEW, ActionState.DONE)
    assert _events(service, new) == _events(service, done) == []


def test_a_snooze_must_end_after_the_users_local_today(service: Session, user: User) -> None:
    action = _action(service, user)
    for past in (LOCAL_TODAY, date(2026, 11, 20)):
        with pytest.raises(ValidationError, match="must end after today \\(Thu 26 Nov\\)"):
            change_state(service, user=user, action_id=action.id, to=ActionState.SNOOZED,
                         channel=Channel.SLACK, until=past)
    with pytest.raises(ValidationError, match="pick a date"):
        change_state(service, user=user, action_id=action.id, to=ActionState.SNOOZED, channel=Channel.SLACK)
    service.refresh(action)
    assert (action.state, action.snooze_until, _events(service, action)) == (ActionState.NEW, None, [])
    # The UTC date is already the 27th, but in Los Angeles that is tomorrow: accepted.
    result = change_state(service, user=user, action_id=action.id, to=ActionState.SNOOZED,
                          channel=Channel.SLACK, until=NEXT_DAY)
    assert (result.action.state, result.action.snooze_until, result.action.due_date) == (
        ActionState.SNOOZED, NEXT_DAY, NEXT_DAY)


def test_only_a_snooze_takes_a_date(service: Session, user: User) -> None:
    action = _action(service, user)
    with pytest.raises(ValidationError, match="only a snooze takes a date"):
        change_state(service, user=user, action_id=action.id, to=ActionState.DONE, channel=Channel.SLACK,
                     until=NEXT_DAY)
    service.refresh(action)
    assert action.state == ActionState.NEW


def test_snoozing_again_moves_the_date_and_the_same_date_changes_nothing(service: Session, user: User) -> None:
    """A move is logged (SNOOZED to SNOOZED, with the date it replaced, for Undo); a repeat is not."""
    action = _action(service, user, ActionState.SNOOZED, snooze_until=NEXT_DAY, due_date=NEXT_DAY)
    moved = change_state(service, user=user, action_id=action.id, to=ActionState.SNOOZED,
                         channel=Channel.SLACK, until=date(2026, 12, 7))
    same = change_state(service, user=user, action_id=action.id, to=ActionState.SNOOZED,
                        channel=Channel.EMAIL, until=date(2026, 12, 7))
    assert (moved.changed, same.changed, same.change) == (True, False, None)
    assert (action.snooze_until, action.due_date) == (date(2026, 12, 7), date(2026, 12, 7))
    assert _events(service, action) == [(ActionState.SNOOZED, ActionState.SNOOZED, Channel.SLACK)]
    assert moved.change is not None and moved.change.due_date_before == NEXT_DAY


def test_unsnoozing_by_hand_clears_the_snooze_and_makes_it_due_today(service: Session, user: User) -> None:
    action = _action(service, user, ActionState.SNOOZED, snooze_until=date(2026, 12, 3), due_date=date(2026, 12, 3))
    change_state(service, user=user, action_id=action.id, to=ActionState.NEW, channel=Channel.SLACK)
    assert (action.state, action.snooze_until, action.due_date) == (ActionState.NEW, None, LOCAL_TODAY)


def test_another_users_action_is_as_unknown_as_one_that_never_existed(service: Session, user: User) -> None:
    db.set_context(service, service=True)
    other = make_user(service)
    theirs = _action(service, other)
    db.set_context(service, user_id=user.id)
    with pytest.raises(NotFound) as for_theirs:
        change_state(service, user=user, action_id=theirs.id, to=ActionState.DONE, channel=Channel.SLACK)
    with pytest.raises(NotFound) as for_unknown:
        get_action(service, user=user, action_id=uuid.uuid4())
    with pytest.raises(NotFound) as for_get:
        get_action(service, user=user, action_id=theirs.id)
    assert str(for_theirs.value) == str(for_unknown.value) == str(for_get.value)
    assert str(for_theirs.value).startswith("no such action")
    db.set_context(service, service=True)
    service.refresh(theirs)
    assert theirs.state == ActionState.NEW


def test_even_the_service_context_cannot_act_on_one_users_action_as_another(service: Session) -> None:
    alice, bob = make_user(service), make_user(service)
    bobs = _action(service, bob)
    with pytest.raises(NotFound):
        change_state(service, user=alice, action_id=bobs.id, to=ActionState.DONE, channel=Channel.CLI)
    assert bobs.state == ActionState.NEW


def test_actions_are_listed_by_due_date_then_age_and_can_be_filtered(service: Session, user: User) -> None:
    later = _action(service, user, due_date=date(2026, 12, 1))
    older = _action(service, user, created_at=datetime(2026, 11, 26, 1, tzinfo=UTC))
    newer = _action(service, user)
    done = _action(service, user, ActionState.DONE, created_at=NOW + timedelta(minutes=1))
    assert [a.id for a in list_actions(service, user=user)] == [older.id, newer.id, done.id, later.id]
    assert [a.id for a in list_actions(service, user=user, state=ActionState.DONE)] == [done.id]


def test_waiting_lists_sent_actions_the_longest_waiting_first(service: Session, user: User) -> None:
    first_lead, second_lead = make_lead(service, user), make_lead(service, user)
    sent_last = _action(service, user, lead=first_lead, action_type=ActionType.OUTREACH)
    sent_first = _action(service, user, lead=second_lead, created_at=datetime(2026, 11, 27, 2, tzinfo=UTC))
    # created later, sent earlier: waiting is ordered by when it was sent
    _action(service, user)
    with time_machine.travel(datetime(2026, 11, 27, 4, tzinfo=UTC), tick=False):
        change_state(service, user=user, action_id=sent_first.id, to=ActionState.SENT, channel=Channel.SLACK)
    with time_machine.travel(datetime(2026, 11, 27, 5, tzinfo=UTC), tick=False):
        change_state(service, user=user, action_id=sent_last.id, to=ActionState.SENT, channel=Channel.SLACK)
    assert [a.id for a in list_waiting(service, user=user)] == [sent_first.id, sent_last.id]


# --- snooze dates ---------------------------------------------------------------------------------

THURSDAY = date(2026, 11, 26)
MONDAY = date(2026, 11, 30)


MON_TO_FRI = (1, 2, 3, 4, 5)


def test_the_presets_land_on_work_days_in_date_order() -> None:
    assert snooze_presets(THURSDAY, MON_TO_FRI) == [
        ("Tomorrow", date(2026, 11, 27)), ("Next Monday", MONDAY),
        ("In 3 work days", date(2026, 12, 1)), ("In 2 weeks", date(2026, 12, 10)),
    ]


def test_on_a_saturday_tomorrow_is_the_next_work_day_and_says_so() -> None:
    saturday = date(2026, 11, 28)
    assert snooze_presets(saturday, MON_TO_FRI) == [
        ("Next work day", MONDAY), ("In 3 work days", date(2026, 12, 2)), ("In 2 weeks", date(2026, 12, 14)),
    ]
    # Someone who works Tuesday to Saturday: Monday is not offered, "next week" starts on Tuesday.
    assert snooze_presets(date(2026, 11, 27), (2, 3, 4, 5, 6)) == [
        ("Tomorrow", saturday), ("Next week", date(2026, 12, 1)), ("In 3 work days", date(2026, 12, 2)),
        ("In 2 weeks", date(2026, 12, 11)),
    ]


def test_snooze_a_week_lands_on_a_work_day() -> None:
    assert snooze_a_week(THURSDAY, MON_TO_FRI) == date(2026, 12, 3)
    assert snooze_a_week(date(2026, 11, 28), MON_TO_FRI) == date(2026, 12, 7)


def test_next_monday_on_a_monday_is_a_week_away_never_today() -> None:
    assert dict(snooze_presets(MONDAY, MON_TO_FRI))["Next Monday"] == date(2026, 12, 7)
    assert parse_snooze("monday", today=MONDAY, work_days=MON_TO_FRI) == date(2026, 12, 7)


@pytest.mark.parametrize(("typed", "expected"), [
    ("tomorrow", date(2026, 11, 27)), ("  Tomorrow ", date(2026, 11, 27)),
    ("3d", date(2026, 11, 29)), ("3 days", date(2026, 11, 29)), ("In 3 days", date(2026, 11, 29)),
    ("1 day", date(2026, 11, 27)), ("next monday", MONDAY), ("Monday", MONDAY), ("next Friday", date(2026, 11, 27)),
    ("2w", date(2026, 12, 10)), ("2 weeks", date(2026, 12, 10)), ("in 2 weeks", date(2026, 12, 10)),
    ("2026-12-24", date(2026, 12, 24)),
])
def test_typed_snooze_dates(typed: str, expected: date) -> None:
    assert parse_snooze(typed, today=THURSDAY, work_days=MON_TO_FRI) == expected


@pytest.mark.parametrize("today", [THURSDAY + timedelta(days=n) for n in range(7)], ids=lambda day: f"{day:%A}")
@pytest.mark.parametrize("work_days", [MON_TO_FRI, (2, 3, 4, 5, 6)], ids=["Mon-Fri", "Tue-Sat"])
def test_every_preset_label_typed_in_any_case_gives_the_presets_date(today: date, work_days: tuple[int, ...]) -> None:
    """The menu's labels ("Next work day", "In 3 work days", "Next week", …) are what a person types
    back; a moved preset ("In 2 weeks" from a Saturday is a Monday) gives the date the menu shows."""
    for label, until in snooze_presets(today, work_days):
        for typed in (label, label.lower(), label.upper()):
            assert parse_snooze(typed, today=today, work_days=work_days) == until, typed


@pytest.mark.parametrize(("typed", "expected"), [
    ("next work day", date(2026, 11, 27)), ("3 work days", date(2026, 12, 1)), ("in 1 workday", date(2026, 11, 27)),
    ("next week", MONDAY),
])
def test_work_day_words_count_the_users_work_days_on_any_day(typed: str, expected: date) -> None:
    """Typed on a Thursday, when no preset has these labels: they still mean what the labels mean."""
    assert parse_snooze(typed, today=THURSDAY, work_days=MON_TO_FRI) == expected


@pytest.mark.parametrize("typed", ["later", "", "3 months", "next weekend", "24/12/2026", "-3d"])
def test_unknown_snooze_words_are_refused_with_the_accepted_forms(typed: str) -> None:
    with pytest.raises(ValidationError, match=r"'tomorrow', '3d' or '3 days', '2w' or '2 weeks'.*'next work day', "
                                              r"'3 work days', 'next week'.*YYYY-MM-DD"):
        parse_snooze(typed, today=THURSDAY, work_days=MON_TO_FRI)


@pytest.mark.parametrize(("typed", "message"), [
    ("2026-11-26", "must end after today"), ("2026-01-01", "must end after today"), ("0d", "must end after today"),
    ("2026-02-30", "not a real date"), ("2062-01-01", "at most 365 days"), ("9999d", "at most 365 days"),
])
def test_snooze_dates_that_are_not_after_today_or_too_far_are_refused(typed: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_snooze(typed, today=THURSDAY, work_days=MON_TO_FRI)


# --- two presses at once --------------------------------------------------------------------------

def _lock_wait_of(engine: Engine, pid: int) -> str:
    """The statement backend ``pid`` is blocked in, waiting for a row lock; polled, bounded, no sleep.

    Asks the server what it is doing rather than giving it a ``lock_timeout``: timeouts run on
    the server's clock, and this suite must pass whatever that clock says.
    """
    with engine.connect() as observer:
        for _ in range(100_000):
            row = observer.execute(text(
                "SELECT wait_event_type, query FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}).one()
            if row.wait_event_type == "Lock":
                return row.query
            observer.rollback()  # a fresh snapshot of pg_stat_activity for the next look
    raise AssertionError("the second press never waited for the first one's lock")


def test_a_simultaneous_second_press_waits_for_the_first_and_then_is_a_repeat(engine: Engine) -> None:
    """Two real connections: the first press holds the row locks until it commits."""
    opened: list[Session] = []

    def unit(**context: object) -> Session:
        session = Session(engine, expire_on_commit=False)
        opened.append(session)
        session.begin()
        db.set_context(session, **context)  # type: ignore[arg-type]
        return session

    setup = unit(service=True)
    user = make_user(setup, timezone="America/Los_Angeles")
    lead = make_lead(setup, user, created_at=NOW)
    action = create_action(setup, user=user, lead=lead, action_type=ActionType.OUTREACH, due_date=LOCAL_TODAY,
                           channel=Channel.CLI)
    setup.commit()
    try:
        first = unit(user_id=user.id)
        assert change_state(first, user=user, action_id=action.id, to=ActionState.SENT, channel=Channel.SLACK).changed
        second = unit(user_id=user.id)
        second_pid = second.execute(text("SELECT pg_backend_pid()")).scalar_one()
        outcome: list[object] = []

        def press_again() -> None:
            try:
                outcome.append(change_state(second, user=user, action_id=action.id, to=ActionState.SENT,
                                            channel=Channel.EMAIL))
                second.commit()
            except Exception as error:  # reported by the assertion below, not lost in the thread
                outcome.append(error)

        pressing = threading.Thread(target=press_again)
        pressing.start()
        try:
            waiting_in = _lock_wait_of(engine, second_pid)
        finally:
            first.commit()
            pressing.join(timeout=30)
        # It waited at the locking read, before it had looked at the state, not at a later write.
        assert waiting_in.lstrip().startswith("SELECT") and "UPDATE" in waiting_in
        assert not pressing.is_alive()
        (again,) = outcome
        assert isinstance(again, TransitionResult)
        assert (again.changed, again.action.state, again.created) == (False, ActionState.SENT, ())

        check = unit(user_id=user.id)
        sent_events = check.scalar(select(func.count()).select_from(ActionEvent).where(
            ActionEvent.action_id == action.id, ActionEvent.to_state == ActionState.SENT))
        follow_ups = check.scalar(select(func.count()).select_from(Action).where(
            Action.person_id == lead.id, Action.action_type == ActionType.FOLLOW_UP))
        assert (sent_events, follow_ups) == (1, 1)
    finally:
        for session in opened:
            session.close()
        cleanup = unit(service=True)
        cleanup.execute(delete(User).where(User.id == user.id))
        cleanup.commit()
        cleanup.close()
