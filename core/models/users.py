"""Users and their settings."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from sqlalchemy import ARRAY, CheckConstraint, ForeignKey, Index, Integer, Text, func, text
from sqlalchemy.orm import Mapped, attribute_keyed_dict, mapped_column, relationship

from core.models.base import Base, created_at, pg_enum, updated_at, uuid_pk
from core.models.enums import CapacityLevel
from core.workdays import DEFAULT_WORK_DAYS

DEFAULT_TIMEZONE = "America/New_York"


class User(Base):
    """A NextBestMove user. Email is unique regardless of case (``Ann@x.io`` is ``ann@x.io``)."""

    __tablename__ = "users"
    __table_args__ = (
        Index("users_email_lower_key", func.lower(text("email")), unique=True),
        Index("idx_users_last_action_date", "last_action_date"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(Text, server_default=DEFAULT_TIMEZONE, default=DEFAULT_TIMEZONE)
    calendar_connected: Mapped[bool] = mapped_column(server_default=text("false"), default=False)
    streak_count: Mapped[int] = mapped_column(server_default=text("0"), default=0)
    last_action_date: Mapped[date | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    settings: Mapped[UserSettings] = relationship(back_populates="user", uselist=False)
    #: The user's capacity overrides by local date (:class:`CapacityOverride`).
    capacity_overrides: Mapped[dict[date, CapacityOverride]] = relationship(
        collection_class=attribute_keyed_dict("day"), viewonly=True)


class UserSettings(Base):
    """Per-user preferences. Every column has the product's default, so a new row needs only user_id.

    ``work_days`` holds ISO weekdays (1 = Monday … 7 = Sunday). The capacity a user sets for a day is
    not here but in :class:`CapacityOverride`, one per day. ``focus_text`` is the user's own focus for
    the week starting ``focus_week_start``.
    """

    __tablename__ = "user_settings"
    __table_args__ = (
        CheckConstraint(
            "cardinality(work_days) > 0 AND work_days <@ ARRAY[1,2,3,4,5,6,7]", name="valid_work_days"
        ),
        CheckConstraint("working_hours_start < working_hours_end", name="valid_working_hours"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    delivery_time: Mapped[time] = mapped_column(server_default=text("'07:30'"), default=time(7, 30))
    work_days: Mapped[list[int]] = mapped_column(
        ARRAY(Integer), server_default=text("'{1,2,3,4,5}'"), default=lambda: list(DEFAULT_WORK_DAYS)
    )
    working_hours_start: Mapped[time] = mapped_column(server_default=text("'09:00'"), default=time(9))
    working_hours_end: Mapped[time] = mapped_column(server_default=text("'17:00'"), default=time(17))
    email_enabled: Mapped[bool] = mapped_column(server_default=text("true"), default=True)
    slack_enabled: Mapped[bool] = mapped_column(server_default=text("false"), default=False)
    email_unsubscribed_at: Mapped[datetime | None]
    focus_text: Mapped[str | None] = mapped_column(Text)
    call_detection: Mapped[bool] = mapped_column(server_default=text("false"), default=False)
    focus_week_start: Mapped[date | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

    user: Mapped[User] = relationship(back_populates="settings")


class CapacityOverride(Base):
    """The capacity a user chose for one local ``day`` (``/nbm capacity``, ``nbm plan --capacity``):
    it wins over the calendar's on that day only, and each day keeps its own, so setting tomorrow's
    leaves today's as it was (core.planner.service.set_capacity; no row: the calendar decides)."""

    __tablename__ = "capacity_overrides"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    capacity: Mapped[CapacityLevel] = mapped_column(pg_enum(CapacityLevel, "capacity_level"))
    created_at: Mapped[datetime] = created_at()
