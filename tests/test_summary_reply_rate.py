"""The weekly summary says only what the event log supports: the reply rate of the week's own messages,
replies to earlier weeks counted as replies and nothing more, no percentage from too few messages, and
actions never called follow-ups. The weeks are built through the real services, as a user makes them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actions.records import create_action
from core.actions.service import change_state
from core.demo import seed_demo
from core.leads import add_lead
from core.models import Action, ActionState, ActionType, Channel, User, WeeklySummary
from core.streaks import refresh_streak
from core.summaries.insights import BuiltinInsights
from core.summaries.service import build_weekly_summary, week_facts
from tests.factories import JOINED, make_user
from tests.test_summaries import LA, MONDAY_MORNING, WEEK, local

SENT, REPLIED, DONE = ActionState.SENT, ActionState.REPLIED, ActionState.DONE
#: A count of follow-ups ("3 follow-ups", "1 follow-up done"): never true of actions of any type.
FOLLOW_UP_COUNT = re.compile(r"\d+ follow-ups?\b")


@pytest.fixture()
def user(service: Session) -> User:
    return make_user(service, name="Ann Lee", timezone="America/Los_Angeles", created_at=JOINED)


def travel(moment: datetime) -> time_machine.travel:
    return time_machine.travel(moment, tick=False)


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


def fast_win_done(service: Session, user: User, when: datetime) -> None:
    with travel(when):
        action = create_action(service, user=user, action_type=ActionType.FAST_WIN, due_date=when.date(),
                               channel=Channel.SLACK, description="Accept pending invitations")
    mark(service, user, action, DONE, when)


def summary(service: Session, user: User) -> WeeklySummary:
    with travel(MONDAY_MORNING):
        return build_weekly_summary(service, user=user, generator=BuiltinInsights())


def texts(built: WeeklySummary) -> Iterator[str]:
    yield from (built.insight_text, built.narrative_summary or "", built.next_week_focus,
                built.win_post_draft or "", built.insight_post_draft or "")


def test_replies_to_last_weeks_messages_are_not_a_reply_rate_of_this_weeks(service: Session, user: User) -> None:
    # The demo's week: both replies answer messages of the week before; this week's two got none.
    for name, replied_on in (("Bo Chen", 18), ("Cy Diaz", 19)):
        sent_last_week = outreach(service, user, name, local(10))
        mark(service, user, sent_last_week, SENT, local(10, 11))
        mark(service, user, sent_last_week, REPLIED, local(replied_on))
    for name, sent_on in (("Di Ross", 20), ("Ed Wood", 21)):
        mark(service, user, outreach(service, user, name, local(sent_on)), SENT, local(sent_on, 11))

    built = summary(service, user)

    assert built.insight_text == "You completed 2 actions after a week with none. 2 replies came in."
    assert built.narrative_summary.startswith(
        "Ann, you were active on 4 days and completed 2 actions, with 2 messages sent and 2 replies.")
    assert "Last week: 2 replies." in built.win_post_draft
    for text in texts(built):
        assert "%" not in text and "reply rate" not in text, text
    with travel(MONDAY_MORNING):
        facts = week_facts(service, user=user, week_start=WEEK)
    assert (facts.replies, facts.sent, facts.answered, facts.reply_rate) == (2, 2, 0, None)


def test_a_rate_of_this_weeks_messages_is_not_lifted_by_replies_to_older_ones(service: Session, user: User) -> None:
    older = outreach(service, user, "Bo Chen", local(9))
    mark(service, user, older, SENT, local(9, 11))
    mark(service, user, older, REPLIED, local(17))
    for name in ("Cy Diaz", "Di Ross", "Ed Wood"):
        mark(service, user, outreach(service, user, name, local(18)), SENT, local(18, 11))

    built = summary(service, user)

    assert built.insight_text.endswith("1 reply came in; none of the 3 people you wrote to has replied yet.")
    for text in (built.win_post_draft, built.insight_post_draft):
        assert "%" not in text, text  # a 0% rate is the user's to know, not to publish


def test_the_rate_counts_replies_on_any_action_of_the_lead_until_the_summary_is_built(
    service: Session, user: User
) -> None:
    al, bo, cy, di = (outreach(service, user, name, local(16)) for name in ("Al Ng", "Bo Chen", "Cy Diaz", "Di Ross"))
    follow_ups = {action.id: mark(service, user, action, SENT, local(16, 11)) for action in (al, bo, cy, di)}
    mark(service, user, al, REPLIED, local(18))
    (bo_follow_up,) = follow_ups[bo.id]
    mark(service, user, bo_follow_up, SENT, local(19))  # the follow-up closes the outreach (the system's)
    mark(service, user, bo_follow_up, REPLIED, local(23, 6))  # Monday, before the 07:00 summary
    mark(service, user, cy, REPLIED, local(23, 9))  # Monday, after it

    built = summary(service, user)

    # 4 people written to (Bo twice, once each); Al and Bo replied by 07:00 Monday, Cy after it.
    assert built.replies == 1
    assert built.insight_text.endswith("1 reply came in; 2 of the 4 people you wrote to have replied so far (50%).")
    assert built.insight_post_draft.startswith(
        "Last week I wrote to 4 leads, and 2 of them have replied so far: 50%.")


def test_a_week_of_messages_and_no_replies_says_what_was_sent(service: Session, user: User) -> None:
    for day in range(9, 14):  # the week before: five actions done
        fast_win_done(service, user, local(day))
    for name, day in (("Bo Chen", 17), ("Cy Diaz", 18)):
        mark(service, user, outreach(service, user, name, local(day)), SENT, local(day, 11))

    built = summary(service, user)

    assert built.insight_text == (
        "No actions were completed this week; the week before, you completed 5 actions. You did send 2 messages.")
    assert built.narrative_summary.startswith(
        "Ann, you were active on 2 days, with 2 messages sent, but completed no actions.")
    assert built.next_week_focus == "Get back to 5 actions a week"
    assert built.win_post_draft.startswith(
        "No replies last week, and that is fine.\n\nI still kept at it: 2 messages sent.")
    for text in texts(built):
        assert "%" not in text, text


def test_a_first_week_that_started_mid_week_states_no_rate_from_two_messages(service: Session, user: User) -> None:
    user.created_at = local(18, 9)  # she joined on Wednesday
    bo = outreach(service, user, "Bo Chen", local(18))
    mark(service, user, bo, SENT, local(18, 11))
    mark(service, user, outreach(service, user, "Cy Diaz", local(19)), SENT, local(19, 11))
    mark(service, user, bo, REPLIED, local(20))
    fast_win_done(service, user, local(20, 12))

    built = summary(service, user)

    assert built.insight_text == "Your first week: 2 actions completed. 1 reply came in."
    assert built.win_post_draft.startswith("One conversation moved forward.\n\nLast week: 1 reply.")
    for text in texts(built):
        assert "%" not in text and "week before" not in text, text


def test_a_week_of_only_fast_wins_calls_them_actions(service: Session, user: User) -> None:
    fast_win_done(service, user, local(10))  # the week before
    for day in (18, 19, 20):  # Wed–Fri, one a day: no day stands out
        fast_win_done(service, user, local(day))

    built = summary(service, user)

    assert built.insight_text == "You completed 3 actions, up from 1 the week before. You reached a 3-day streak."
    assert "I still kept at it: 3 actions done." in built.win_post_draft
    assert built.insight_post_draft.startswith(
        "I reached a 3-day streak: not one work day without a business-development action.")
    for text in texts(built):
        assert not FOLLOW_UP_COUNT.search(text) and "outreach" not in text and "%" not in text, text


def test_the_demo_summary_claims_no_reply_rate(service: Session) -> None:
    """``nbm demo`` on a Tuesday: last week's two replies answer the week before's messages."""
    tuesday = datetime(2026, 11, 24, 9, tzinfo=LA)
    with travel(tuesday):
        demo = seed_demo(service, timezone="America/Los_Angeles")
        user = service.get_one(User, demo.user_id)
        refresh_streak(service, user=user)
        facts = week_facts(service, user=user, week_start=WEEK)
        built = build_weekly_summary(service, user=user, generator=BuiltinInsights())
    assert built.insight_text.endswith(" 2 replies came in.")
    for text in texts(built):
        assert "%" not in text and not FOLLOW_UP_COUNT.search(text), text
    assert (facts.replies, facts.sent, facts.answered, facts.reply_rate) == (2, 2, 0, None)
