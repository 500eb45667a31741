"""Weekly summaries: facts from the event log in the user's week, and the once-only stored summary."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.actions.service import change_state
from core.db import unit_of_work
from core.errors import ValidationError
from core.models import Action, ActionState, Channel, Lead, LeadStatus, User, WeeklySummary
from core.summaries.facts import WeekFacts, WeekNumbers
from core.summaries.insights import BuiltinInsights, Insights
from core.summaries.service import build_weekly_summary, get_summary, previous_monday, week_facts
from tests.factories import JOINED, make_action, make_call, make_event, make_lead, make_user

LA = ZoneInfo("America/Los_Angeles")
WEEK = date(2026, 11, 16)  # Monday 16 – Sunday 22 November 2026
#: Monday 23 Nov, 07:00 in Los Angeles: the morning the summary of WEEK is made.
MONDAY_MORNING = datetime(2026, 11, 23, 15, tzinfo=UTC)


def local(day: int, hour: int = 10, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=LA)


def new_action(session: Session, user: User, at: datetime, lead: Lead | None = None) -> Action:
    return make_action(session, user, lead, due_date=at.astimezone(UTC).date(), created_at=at)


def act(session: Session, user: User, at: datetime, to: ActionState, *, lead: Lead | None = None,
        action: Action | None = None, channel: Channel = Channel.SLACK) -> Action:
    """The user moves ``action`` (a new one unless given) to ``to`` at ``at``."""
    action = action or new_action(session, user, at, lead)
    make_event(session, action, to_state=to, at=at, channel=channel)
    return action


@pytest.fixture()
def user(service: Session) -> User:
    return make_user(service, name="Ann Lee", timezone="America/Los_Angeles", created_at=JOINED)


class Recording:
    """A generator that remembers the facts it was given and answers fixed texts."""

    def __init__(self, tag: str = "fake") -> None:
        self.tag = tag
        self.facts: list[WeekFacts] = []

    def generate(self, facts: WeekFacts) -> Insights:
        self.facts.append(facts)
        return Insights(f"{self.tag} insight", f"{self.tag} story.", f"{self.tag} focus",
                        f"{self.tag} win post", f"{self.tag} insight post")


def test_previous_monday() -> None:
    assert previous_monday(date(2026, 11, 30)) == date(2026, 11, 23)  # a Monday
    assert previous_monday(date(2026, 11, 29)) == date(2026, 11, 16)  # a Sunday
    assert previous_monday(date(2026, 12, 1)) == date(2026, 11, 23)
    assert previous_monday(date(2026, 1, 1)) == date(2025, 12, 22)


def test_numbers_come_from_the_log_in_the_users_week(service: Session, user: User) -> None:
    a = act(service, user, local(16), ActionState.SENT, lead=make_lead(service, user))
    act(service, user, local(17), ActionState.REPLIED, action=a)  # replied then done: one reply,
    act(service, user, local(18), ActionState.DONE, action=a)  # and one completed action
    act(service, user, local(19, 9), ActionState.DONE)
    act(service, user, local(19, 16), ActionState.DONE)
    act(service, user, local(20), ActionState.DONE, channel=Channel.SYSTEM)  # closed by the system
    act(service, user, local(22, 23, 30), ActionState.SENT, lead=make_lead(service, user))  # Sunday night LA
    act(service, user, local(23, 0, 30), ActionState.DONE)  # next week
    act(service, user, local(15, 23), ActionState.DONE)  # the week before
    lead = make_lead(service, user)
    make_call(service, user, lead, local(18))
    make_call(service, user, lead, local(23, 1), call_date=date(2026, 11, 30))  # logged next week

    with time_machine.travel(MONDAY_MORNING, tick=False):
        facts = week_facts(service, user=user, week_start=WEEK)

    assert (facts.days_active, facts.actions_completed, facts.replies, facts.calls_booked) == (5, 3, 1, 1)
    assert (facts.sent, facts.written_to, facts.answered, facts.reply_rate) == (2, 2, 1, None)  # too few for a rate
    assert facts.best_day is None  # Thursday's 2 actions are too few to call it a best day
    assert facts.user_name == "Ann Lee" and facts.week_start == WEEK


def test_the_best_day_is_a_clear_one_of_three_or_more_actions_moved_forward(service: Session, user: User) -> None:
    def best_day() -> str | None:
        with time_machine.travel(MONDAY_MORNING, tick=False):
            return week_facts(service, user=user, week_start=WEEK).best_day

    act(service, user, local(17, 9), ActionState.DONE)
    act(service, user, local(17, 10), ActionState.DONE)
    assert best_day() is None  # Tuesday: 2 actions, too few
    for hour, to in ((9, ActionState.SENT), (10, ActionState.SENT), (11, ActionState.DONE)):
        act(service, user, local(18, hour), to)
    assert best_day() == "Wednesday"  # 3 actions sent or done
    act(service, user, local(17, 11), ActionState.REPLIED)
    assert best_day() is None  # Tuesday has 3 too: a tie


def test_a_week_of_nothing_sent_has_no_reply_rate_and_no_best_day(service: Session, user: User) -> None:
    act(service, user, local(17), ActionState.SNOOZED)
    facts = week_facts(service, user=user, week_start=WEEK)
    assert (facts.days_active, facts.actions_completed, facts.reply_rate, facts.best_day) == (1, 0, None, None)


def test_the_first_week_is_the_one_the_user_joined_in_and_has_no_previous_week(service: Session, user: User) -> None:
    act(service, user, local(17), ActionState.DONE)
    assert week_facts(service, user=user, week_start=WEEK).previous == WeekNumbers(0, 0, 0, 0)  # joined on 1 Oct
    user.created_at = local(18, 9)  # a Wednesday of WEEK
    assert week_facts(service, user=user, week_start=WEEK).previous is None


def test_the_previous_week_is_counted_the_same_way(service: Session, user: User) -> None:
    act(service, user, local(20, month=10), ActionState.SENT)  # long ago: history, not last week
    assert week_facts(service, user=user, week_start=WEEK).previous == WeekNumbers(0, 0, 0, 0)
    a = act(service, user, local(9), ActionState.SENT)
    act(service, user, local(10), ActionState.REPLIED, action=a)
    act(service, user, local(10, 15), ActionState.DONE)
    make_call(service, user, make_lead(service, user), local(13))  # logged by hand on Friday: an active day
    assert week_facts(service, user=user, week_start=WEEK).previous == WeekNumbers(3, 2, 1, 1)


def test_wins_are_the_first_three_leads_who_replied_or_booked_a_call(service: Session, user: User) -> None:
    names = ["Bob Smith", "Cy Young", "Di Ross", "Ed Wood"]
    bob, cy, di, ed = (make_lead(service, user, name=name) for name in names)
    act(service, user, local(17), ActionState.REPLIED, lead=bob)
    act(service, user, local(19), ActionState.REPLIED, lead=bob)
    make_call(service, user, cy, local(18))
    act(service, user, local(20), ActionState.REPLIED, lead=di)
    act(service, user, local(21), ActionState.REPLIED, lead=ed)
    act(service, user, local(16), ActionState.DONE, lead=ed)  # done is not a win
    act(service, user, local(12), ActionState.REPLIED, lead=ed)  # last week's reply
    assert week_facts(service, user=user, week_start=WEEK).wins == ("Bob Smith", "Cy Young", "Di Ross")


def test_cold_leads_are_active_leads_untouched_for_21_days_at_the_end_of_the_week(
    service: Session, user: User
) -> None:
    long_ago = local(1, month=10)

    def lead(last_touch: datetime | None, **fields: object) -> Lead:
        made = make_lead(service, user, created_at=long_ago, **fields)
        if last_touch:
            act(service, user, last_touch, ActionState.SENT, lead=made)
        return made

    lead(local(20, month=10))  # cold: last touch over 3 weeks before Mon 23 Nov
    lead(None)  # cold: never touched
    lead(local(23, 9))  # cold as of the week's end, though touched since
    lead(local(10))  # warm
    lead(None, status=LeadStatus.ARCHIVED)  # not active
    make_lead(service, user, created_at=local(10))  # new, not yet cold
    assert week_facts(service, user=user, week_start=WEEK).cold_leads == 3


def test_the_focus_is_the_users_own_for_that_week_else_last_weeks_summary(service: Session, user: User) -> None:
    assert week_facts(service, user=user, week_start=WEEK).focus is None
    service.add(WeeklySummary(user_id=user.id, week_start_date=WEEK - timedelta(days=7), timezone=user.timezone,
                              insight_text="i",
                              next_week_focus="Warm up 3 leads that have gone quiet"))
    service.flush()
    assert week_facts(service, user=user, week_start=WEEK).focus == "Warm up 3 leads that have gone quiet"
    user.settings.focus_text, user.settings.focus_week_start = "Close the Acme deal", WEEK
    service.flush()
    assert week_facts(service, user=user, week_start=WEEK).focus == "Close the Acme deal"
    user.settings.focus_week_start = WEEK - timedelta(days=7)
    assert week_facts(service, user=user, week_start=WEEK).focus == "Warm up 3 leads that have gone quiet"


def test_the_streak_is_the_weeks_as_of_its_sunday_however_late_the_summary_is_built(
    service: Session, user: User
) -> None:
    for day in (18, 19, 20):  # Wed–Fri; the weekend is off
        act(service, user, local(day), ActionState.DONE)
    user.streak_count = 9  # whatever is stored is the streak of the user's today, not the week's
    service.flush()
    with time_machine.travel(MONDAY_MORNING, tick=False):
        assert week_facts(service, user=user, week_start=WEEK).streak == 3
    with time_machine.travel(local(25), tick=False):  # Tuesday went by with nothing done: broken since
        assert week_facts(service, user=user, week_start=WEEK).streak == 3
    for day in (23, 24, 25, 26):  # the week after: done every work day
        act(service, user, local(day), ActionState.DONE)
    with time_machine.travel(local(27, 18), tick=False):
        assert week_facts(service, user=user, week_start=WEEK).streak == 3  # not the 7 of Friday 27
    service.refresh(user)
    assert user.streak_count == 9  # read, never written


def test_build_stores_last_weeks_numbers_texts_and_drafts(service: Session, user: User) -> None:
    a = act(service, user, local(16), ActionState.SENT)
    act(service, user, local(18), ActionState.REPLIED, action=a)
    act(service, user, local(19), ActionState.DONE)
    with time_machine.travel(MONDAY_MORNING, tick=False):
        summary = build_weekly_summary(service, user=user)
    assert summary.week_start_date == WEEK
    assert (summary.days_active, summary.actions_completed, summary.replies, summary.calls_booked) == (3, 2, 1, 0)
    expected = BuiltinInsights().generate(week_facts(service, user=user, week_start=WEEK))
    assert summary.insight_text == expected.insight_text
    assert "2 actions" in summary.insight_text
    assert summary.narrative_summary == expected.narrative_summary
    assert summary.next_week_focus == "Reply within a day to everyone who answered"
    assert summary.win_post_draft == expected.win_post and summary.insight_post_draft == expected.insight_post
    assert summary.generated_at == MONDAY_MORNING


def test_build_is_idempotent(service: Session, user: User) -> None:
    act(service, user, local(17), ActionState.DONE)
    with time_machine.travel(MONDAY_MORNING, tick=False):
        first = build_weekly_summary(service, user=user, generator=Recording("first"))
        act(service, user, local(18), ActionState.DONE)  # even if the log changed since
        second_generator = Recording("second")
        second = build_weekly_summary(service, user=user, week_start=WEEK, generator=second_generator)
    assert second.id == first.id and second.insight_text == "first insight" and second.actions_completed == 1
    assert second_generator.facts == []
    count = service.scalar(select(func.count()).select_from(WeeklySummary).where(WeeklySummary.user_id == user.id))
    assert count == 1


def test_the_generator_gets_the_weeks_facts(service: Session, user: User) -> None:
    act(service, user, local(17), ActionState.DONE)
    generator = Recording()
    with time_machine.travel(MONDAY_MORNING, tick=False):
        summary = build_weekly_summary(service, user=user, generator=generator)
    (facts,) = generator.facts
    assert facts.actions_completed == 1 and facts.week_start == WEEK
    assert (summary.insight_text, summary.win_post_draft) == ("fake insight", "fake win post")


def test_last_week_is_the_users_last_week(service: Session) -> None:
    # 05:00 UTC Monday 23 Nov: still Sunday in Los Angeles, already Monday afternoon in Tokyo.
    la = make_user(service, timezone="America/Los_Angeles", created_at=JOINED)
    tokyo = make_user(service, timezone="Asia/Tokyo", created_at=JOINED)
    with time_machine.travel(datetime(2026, 11, 23, 5, tzinfo=UTC), tick=False):
        assert build_weekly_summary(service, user=la, generator=Recording()).week_start_date == date(2026, 11, 9)
        assert build_weekly_summary(service, user=tokyo, generator=Recording()).week_start_date == WEEK
        # LA's week of the 16th is not over until its Sunday is.
        with pytest.raises(ValidationError, match=r"not over yet; the latest finished week starts on Mon 9 Nov$"):
            build_weekly_summary(service, user=la, week_start=WEEK)


@pytest.mark.parametrize(("week_start", "message"), [
    (date(2026, 11, 18), "^Wed 18 Nov is a Wednesday; a weekly summary starts on a Monday, such as Mon 16 Nov$"),
    (date(2026, 11, 23), "^the week of Mon 23 Nov is not over yet"),
    (date(2027, 1, 4), "^the week of Mon 4 Jan is not over yet"),  # named as every day is: the year when months away
    (date(2027, 6, 7), "^the week of Mon 7 Jun 2027 is not over yet; the latest finished week starts on Mon 16 Nov$"),
])
def test_a_week_that_is_not_a_finished_monday_to_sunday_is_refused(
    service: Session, user: User, week_start: date, message: str
) -> None:
    with time_machine.travel(MONDAY_MORNING, tick=False), pytest.raises(ValidationError, match=message):
        build_weekly_summary(service, user=user, week_start=week_start, generator=Recording())
    assert service.scalar(select(func.count()).select_from(WeeklySummary)) == 0


def test_a_user_builds_and_reads_only_their_own_summary(service: Session, user: User) -> None:
    other = make_user(service, timezone="America/Los_Angeles", created_at=JOINED)
    act(service, user, local(17), ActionState.DONE)
    act(service, other, local(17), ActionState.DONE)
    act(service, other, local(18), ActionState.DONE)
    with time_machine.travel(MONDAY_MORNING, tick=False):
        with unit_of_work(user_id=other.id) as session:
            theirs = build_weekly_summary(session, user=session.get(User, other.id), generator=Recording())
        with unit_of_work(user_id=user.id) as session:
            me = session.get(User, user.id)
            mine = build_weekly_summary(session, user=me, generator=Recording())
            assert mine.id != theirs.id and mine.actions_completed == 1
            assert get_summary(session, user=me, week_start=WEEK).id == mine.id
            assert get_summary(session, user=me, week_start=WEEK - timedelta(days=7)) is None


def test_a_snooze_moved_to_another_day_is_the_days_activity_and_no_mark(service: Session, user: User) -> None:
    """Moving a snooze is logged (SNOOZED to SNOOZED, so that Undo can put the date back): like the
    first snooze, it makes its day an active one, and it is no completion, reply, send or best day,
    and no day of the streak."""
    action = new_action(service, user, local(16), make_lead(service, user))
    for day, until in ((17, date(2026, 11, 19)), (18, date(2026, 11, 24))):
        with time_machine.travel(local(day), tick=False):
            result = change_state(service, user=user, action_id=action.id, to=ActionState.SNOOZED,
                                  channel=Channel.SLACK, until=until)
            assert result.change is not None
    with time_machine.travel(MONDAY_MORNING, tick=False):
        facts = week_facts(service, user=user, week_start=WEEK)
    assert (facts.days_active, facts.actions_completed, facts.replies, facts.sent, facts.best_day,
            facts.streak) == (2, 0, 0, 0, None, 0)
