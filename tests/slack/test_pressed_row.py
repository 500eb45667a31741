"""Redrawing the pressed row of a plan message from what the press holds: a pure function of the
message's blocks and the item, which must draw the row exactly as the whole message would."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date
from typing import Any

from bot.slack.blocks.plan import plan_message, with_item_redrawn
from core.models import ActionState, ActionType, CapacityLevel
from core.planner.view import PlanItem, PlanView
from tests.slack.block_kit import message_problems

TODAY = date(2026, 11, 25)
WORK_DAYS = (0, 1, 2, 3, 4)


def _item(position: int, **fields: Any) -> PlanItem:
    base = PlanItem(number=position + 1, action_id=uuid.uuid4(), action_type=ActionType.OUTREACH, state=ActionState.NEW,
                    title=f"Reach out to Lead {position}", lead_id=uuid.uuid4(), lead_name=f"Lead {position}",
                    lead_url=f"https://example.com/{position}", is_fast_win=position == 0, minutes=10,
                    due_date=TODAY)
    return replace(base, **fields)


def _message(items: list[PlanItem]) -> list[dict[str, Any]]:
    view = PlanView(user_id=uuid.uuid4(), user_name="Ann", date=TODAY, today=TODAY, capacity=CapacityLevel.DEFAULT,
                    free_minutes=None, focus=None, streak=0, items=tuple(items), waiting=(), work_days=WORK_DAYS)
    return plan_message(view)[1]


def test_a_settled_row_is_drawn_as_the_whole_message_would_draw_it() -> None:
    items = [_item(0), _item(1), _item(2)]
    done = replace(items[1], state=ActionState.DONE, undoable=True)
    redrawn = with_item_redrawn(_message(items), done, today=TODAY, work_days=WORK_DAYS)
    assert redrawn is not None and message_problems(redrawn) == []
    whole = _message([items[0], done, items[2]])
    assert [b for b in redrawn if b["type"] != "context"] == [b for b in whole if b["type"] != "context"]


def test_a_row_opened_again_gets_its_controls_and_its_fast_win_badge() -> None:
    items = [_item(0), _item(1)]
    settled = with_item_redrawn(_message(items), replace(items[0], state=ActionState.SNOOZED, undoable=True),
                                today=TODAY, work_days=WORK_DAYS)
    assert settled is not None
    reopened = with_item_redrawn(settled, items[0], today=TODAY, work_days=WORK_DAYS)
    assert reopened == _message(items)


def test_a_message_without_the_row_is_left_to_the_whole_redraw() -> None:
    assert with_item_redrawn(_message([_item(0)]), _item(1), today=TODAY, work_days=WORK_DAYS) is None
    unnumbered = [{"type": "section", "block_id": "x", "text": {"type": "mrkdwn", "text": "no number"}},
                  {"type": "actions", "block_id": f"plan|{_item(0).action_id}", "elements": []}]
    item = _item(0)
    unnumbered[1]["block_id"] = f"plan|{item.action_id}"
    assert with_item_redrawn(unnumbered, item, today=TODAY, work_days=WORK_DAYS) is None
