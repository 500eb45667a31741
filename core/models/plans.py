"""Daily plans and their ordered actions."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models.actions import Action
from core.models.base import Base, created_at, pg_enum, stamped_at, updated_at, uuid_pk
from core.models.enums import CapacityLevel


class DailyPlan(Base):
    """Exactly one plan per user per local date (the unique constraint is the guarantee)."""

    __tablename__ = "daily_plans"
    __table_args__ = (
        UniqueConstraint("user_id", "date"),
        Index("idx_daily_plans_date", "date"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    date: Mapped[date]
    focus_statement: Mapped[str | None] = mapped_column(Text)
    capacity: Mapped[CapacityLevel] = mapped_column(
        pg_enum(CapacityLevel, "capacity_level"),
        server_default=CapacityLevel.DEFAULT.value,
        default=CapacityLevel.DEFAULT,
    )
    free_minutes: Mapped[int | None]
    #: The highest number given to an item of this plan so far: an item that joins later gets the next
    #: one, so a number, once given, is never given again that day (even after its item left the plan).
    last_number: Mapped[int] = mapped_column(server_default=text("0"), default=0)
    generated_at: Mapped[datetime] = stamped_at()
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    items: Mapped[list[DailyPlanAction]] = relationship(
        back_populates="plan", order_by="DailyPlanAction.position", cascade="all, delete-orphan"
    )


class DailyPlanAction(Base):
    """An action at a position in a plan (0 is the Fast Win, if the day has one), with its number.

    The position is the display order, and moves as the plan changes (a reply joins after the Fast
    Win, a refresh closes gaps). The ``number`` is what the person reads and types (``/nbm done 3``):
    given when the item joins the plan (the morning's items 1..N in display order, a later one the
    plan's ``last_number`` + 1) and kept all day, so a number read in the morning still means the
    same item in the evening. ``UNIQUE(daily_plan_id, position)`` is checked at commit (DEFERRABLE
    INITIALLY DEFERRED) so a refresh can renumber positions row by row without tripping over itself.
    """

    __tablename__ = "daily_plan_actions"
    __table_args__ = (
        UniqueConstraint("daily_plan_id", "action_id"),
        UniqueConstraint("daily_plan_id", "position", deferrable=True, initially="DEFERRED"),
        UniqueConstraint("daily_plan_id", "number"),
        CheckConstraint("number >= 1", name="daily_plan_actions_number_positive"),
        Index("idx_daily_plan_actions_daily_plan_id", "daily_plan_id"),
        Index("idx_daily_plan_actions_action_id", "action_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    daily_plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("daily_plans.id", ondelete="CASCADE"))
    action_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"))
    position: Mapped[int]
    number: Mapped[int]
    is_fast_win: Mapped[bool] = mapped_column(server_default=text("false"), default=False)
    created_at: Mapped[datetime] = created_at()

    plan: Mapped[DailyPlan] = relationship(back_populates="items")
    action: Mapped[Action] = relationship()
