"""The Block Kit builders are pure functions of the plan: what they show, and Slack's limits."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, time

import pytest

from bot.slack.blocks.home import HomeData, home_view
from bot.slack.blocks.plan import WAITING_PAGE, plan_message, waiting_message
from bot.slack.ids import Surface, parse_item_block_id
from core.models import ActionState, ActionType, CapacityLevel, Lead, LeadStatus, UserSettings
from core.planner.view import PlanItem, PlanView, WaitingItem
from tests.slack.block_kit import message_problems, view_problems

TODAY = date(2026, 11, 25)


def _item(position: int, *, state: ActionState = ActionState.NEW, name: str = "Ann Lee",
          action_type: ActionType = ActionType.OUTREACH, minutes: int = 10) -> PlanItem:
    return PlanItem(number=position + 1, action_id=uuid.uuid4(), action_type=action_type, state=state,
                    title=f"Reach out to {name}", lead_id=uuid.uuid4(), lead_name=name,
                    lead_url=f"https://example.com/{position}", is_fast_win=position == 0, minutes=minutes,
                    due_date=TODAY)


def _view(items: list[PlanItem], *, waiting: tuple[WaitingItem, ...] = (), streak: int = 0,
          focus: str | None = None) -> PlanView:
    return PlanView(user_id=uuid.uuid4(), user_name="Ann", date=TODAY, today=TODAY, capacity=CapacityLevel.DEFAULT,
                    free_minutes=None, focus=focus, streak=streak, items=tuple(items), waiting=waiting,
                    waiting_total=len(waiting))


def _waiting(n: int) -> tuple[WaitingItem, ...]:
    return tuple(WaitingItem(action_id=uuid.uuid4(), title=f"Follow up with W{i}", lead_name=f"W{i}",
                             lead_url=None, sent_on=TODAY) for i in range(n))


def _all_text(blocks: list[dict]) -> str:
    return str(blocks)


def test_the_plan_shows_each_action_with_its_controls_and_the_days_numbers() -> None:
    text, blocks = plan_message(_view([_item(0, minutes=2, action_type=ActionType.FAST_WIN), _item(1, name="Bo Li")],
                                      streak=4, focus="Close two pilots"))
    assert text == "Your next best moves for Wed 25 Nov: 2 actions, ~12 min"
    shown = _all_text(blocks)
    assert "2 actions, ~12 min · 🔥 4-day streak" in shown and "🎯 Focus: Close two pilots" in shown
    assert "*1.* ⚡ *Fast Win* · *Reach out to Ann Lee*\\n<https://example.com/0|Ann Lee> · ~2 min" in shown
    assert "*2.* *Reach out to Bo Li*" in shown
    controls = [b for b in blocks if b["type"] == "actions"]
    # A Fast Win is not a message to anyone: Done and Snooze only. An outreach can also be Sent or Replied.
    assert [[e["action_id"] for e in c["elements"]] for c in controls] == [
        ["nbm_done", "nbm_snooze", "nbm_snooze_date"],
        ["nbm_done", "nbm_sent", "nbm_replied", "nbm_snooze", "nbm_snooze_date"]]


def test_a_settled_action_shows_its_state_without_buttons() -> None:
    _, blocks = plan_message(_view([_item(0, state=ActionState.DONE), _item(1, state=ActionState.SENT)]))
    shown = _all_text(blocks)
    assert "~1. Reach out to Ann Lee~  ✅ Done" in shown and "📤 Sent, waiting for a reply" in shown
    assert [b for b in blocks if b["type"] == "actions"] == []


def test_user_text_cannot_break_out_of_the_message() -> None:
    _, blocks = plan_message(_view([_item(0, name="<!channel> & <https://evil.example|click>")]))
    shown = _all_text(blocks)
    assert "<!channel>" not in shown and "&lt;!channel&gt; &amp; &lt;https://evil.example" in shown


def test_an_empty_plan_says_how_to_fill_it_to_a_user_without_an_active_lead() -> None:
    text, blocks = plan_message(replace(_view([]), offers_a_lead=True))
    assert text == "Your next best moves for Wed 25 Nov: nothing due"
    assert "Add a lead with `/nbm add`" in _all_text(blocks)
    assert "Add a lead" not in _all_text(plan_message(_view([]))[1])


def test_a_long_plan_still_renders_within_fifty_blocks() -> None:
    _, blocks = plan_message(_view([_item(i, name=f"Lead {i}") for i in range(60)], waiting=_waiting(10)))
    assert len(blocks) <= 50
    shown = sum(1 for b in blocks if b["type"] == "actions")
    more = blocks[-2]["elements"][0]["text"]
    assert more == f"…and {60 - shown} more actions not shown here. `/nbm done <number>` works for every one."
    assert shown >= 20


def test_a_long_plan_with_everything_done_shows_more_of_it() -> None:
    _, blocks = plan_message(_view([_item(i, state=ActionState.DONE) for i in range(60)]))
    assert len(blocks) <= 50 and blocks[-2]["elements"][0]["text"].startswith("…and 15 more actions")


def test_waiting_items_follow_the_plan_with_a_replied_button() -> None:
    _, blocks = plan_message(_view([_item(0)], waiting=_waiting(2)))
    replied = [b["accessory"]["action_id"] for b in blocks if "accessory" in b]
    assert replied == ["nbm_replied", "nbm_replied"]
    assert "*Waiting for a reply* (2)" in _all_text(blocks)


def test_the_waiting_list_pages_through_every_action_however_long() -> None:
    everyone = _waiting(80)
    text, first = waiting_message(everyone[:WAITING_PAGE], total=80, today=TODAY, page=1)
    _, second = waiting_message(everyone[WAITING_PAGE:], total=80, today=TODAY, page=2)
    assert text == "80 actions waiting for a reply" and len(first) <= 50 and len(second) <= 50
    assert first[0]["text"]["text"] == "*Waiting for a reply* (80) · page 1 of 2"
    assert first[-1]["elements"][0]["text"] == "`/nbm waiting 2` shows the next 35."
    rows = [b for page in (first, second) for b in page if "accessory" in b]
    assert [b["accessory"]["value"] for b in rows] == [str(w.action_id) for w in everyone]
    assert waiting_message((), total=80, today=TODAY, page=3)[1][0]["text"]["text"] == (
        "There is no page 3: 80 actions waiting for a reply, on 2 pages.")


def test_the_plans_waiting_section_counts_those_it_does_not_list() -> None:
    view = _view([_item(0)], waiting=_waiting(10))
    _, blocks = plan_message(PlanView(**{**view.__dict__, "waiting_total": 31}))
    shown = _all_text(blocks)
    assert "*Waiting for a reply* (31)" in shown
    assert "…and 21 more waiting. `/nbm waiting` lists them all." in shown


def test_app_home_stays_within_a_hundred_blocks() -> None:
    settings = UserSettings(delivery_time=time(7, 30), work_days=[1, 2, 3, 4, 5], slack_enabled=True,
                            working_hours_start=time(9), working_hours_end=time(17),
                            email_enabled=False)
    leads = [Lead(name=f"Lead {i}", url=f"https://example.com/{i}", status=LeadStatus.ACTIVE) for i in range(40)]
    view = home_view(HomeData(plan=_view([_item(i) for i in range(60)], waiting=_waiting(10)), leads=leads,
                              settings=settings, timezone="Europe/London", today=TODAY))
    assert len(view["blocks"]) <= 100
    shown = str(view["blocks"])
    assert "…and 25 more not shown: `/nbm leads` lists them all." in shown and "*Delivered by*\\nSlack" in shown


def _mixed_plan(size: int, waiting: int) -> PlanView:
    """``size`` items cycling through every state; the SENT ones are also waiting for a reply, as in
    a real plan once Sent is pressed."""
    states = [ActionState.NEW, ActionState.SENT, ActionState.DONE, ActionState.REPLIED, ActionState.SNOOZED]
    items = [_item(i, state=states[i % len(states)], name=f"Lead {i}") for i in range(size)]
    sent = tuple(WaitingItem(action_id=item.action_id, title=item.title, lead_name=item.lead_name,
                             lead_url=item.lead_url, sent_on=TODAY) for item in items if item.state == ActionState.SENT)
    return _view(items, waiting=(sent + _waiting(waiting))[:10], streak=3, focus="Close two pilots")


@pytest.mark.parametrize("size", [0, 1, 2, 5, 8, 23, 24, 25, 46, 60])
@pytest.mark.parametrize("waiting", [0, 1, 10])
def test_every_plan_shape_is_a_message_and_a_home_slack_accepts(size: int, waiting: int) -> None:
    view = _mixed_plan(size, waiting)
    settings = UserSettings(delivery_time=time(7, 30), work_days=[1, 2, 3, 4, 5], slack_enabled=True,
                            working_hours_start=time(9), working_hours_end=time(17),
                            email_enabled=True)
    leads = [Lead(name=f"Lead {i}", url=f"https://example.com/{i}", status=LeadStatus.ACTIVE) for i in range(size)]
    assert message_problems(plan_message(view)[1]) == []
    home = HomeData(plan=view, leads=leads, settings=settings, timezone="Europe/London", today=TODAY)
    assert view_problems(home_view(home)) == []
    assert message_problems(waiting_message(view.waiting, total=len(view.waiting), today=TODAY)[1]) == []


def test_an_action_sent_today_is_listed_and_waits_for_its_reply_in_one_message() -> None:
    sent = _item(0, state=ActionState.SENT)
    waiting = (WaitingItem(action_id=sent.action_id, title=sent.title, lead_name=sent.lead_name,
                           lead_url=sent.lead_url, sent_on=TODAY),)
    _, blocks = plan_message(_view([sent], waiting=waiting))
    (row,) = [b for b in blocks if "accessory" in b]
    assert parse_item_block_id(row["block_id"]) == (Surface.PLAN, sent.action_id)
    assert row["block_id"] != next(b["block_id"] for b in blocks if "📤 Sent" in str(b))


def test_a_link_slack_would_misread_shows_only_the_name() -> None:
    _, blocks = plan_message(_view([replace(_item(1), lead_url="https://example.com/a<b")]))
    shown = _all_text(blocks)
    assert "<https://example.com/a" not in shown and "Ann Lee · ~10 min" in shown
