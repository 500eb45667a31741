"""What a person sees of a plan: plain data, built once and rendered by the CLI, Slack and email.

Renderers take a :class:`PlanView` and nothing else, so Block Kit builders and email templates are
pure functions of it and easy to test.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from core.models import ActionState, ActionType, CapacityLevel


@dataclass(frozen=True)
class PlanItem:
    """One action of the plan, at its position (0 is the Fast Win)."""

    position: int
    action_id: uuid.UUID
    action_type: ActionType
    state: ActionState
    title: str
    lead_id: uuid.UUID | None
    lead_name: str | None
    lead_url: str | None
    is_fast_win: bool
    minutes: int
    due_date: date

    @property
    def is_open(self) -> bool:
        """Still to act on today (NEW); sent, replied, done and snoozed items are settled for today."""
        return self.state == ActionState.NEW


@dataclass(frozen=True)
class WaitingItem:
    """A SENT action waiting for the lead's reply (listed so the user can mark it Replied)."""

    action_id: uuid.UUID
    title: str
    lead_name: str | None
    lead_url: str | None
    sent_on: date


@dataclass(frozen=True)
class PlanView:
    user_id: uuid.UUID
    user_name: str
    date: date
    capacity: CapacityLevel
    free_minutes: int | None
    focus: str | None
    streak: int
    items: tuple[PlanItem, ...]
    waiting: tuple[WaitingItem, ...]

    @property
    def total_minutes(self) -> int:
        return sum(item.minutes for item in self.items)

    @property
    def open_items(self) -> tuple[PlanItem, ...]:
        return tuple(item for item in self.items if item.is_open)
