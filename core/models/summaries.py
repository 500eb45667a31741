"""Weekly summaries and the content drafts saved from them."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, created_at, pg_enum, stamped_at, updated_at, uuid_pk
from core.models.enums import ContentPromptStatus, ContentPromptType


class WeeklySummary(Base):
    """The summary of one Monday–Sunday week (``week_start_date`` is that Monday, a local date).

    ``win_post_draft`` and ``insight_post_draft`` are the two content drafts offered with it; saving
    one copies it into ``content_prompts``. ``timezone`` is the user's when it was built, the one its
    week was measured in: the next week starts where this one ended (core.summaries.service).
    """

    __tablename__ = "weekly_summaries"
    __table_args__ = (
        UniqueConstraint("user_id", "week_start_date"),
        UniqueConstraint("id", "user_id"),  # what same-user references point at (migration 0012)
        Index("idx_weekly_summaries_user_id", "user_id"),
        Index("idx_weekly_summaries_week_start", "week_start_date"),
        Index("idx_weekly_summaries_user_week", "user_id", text("week_start_date DESC")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    week_start_date: Mapped[date]
    timezone: Mapped[str] = mapped_column(Text)
    days_active: Mapped[int] = mapped_column(server_default=text("0"), default=0)
    actions_completed: Mapped[int] = mapped_column(server_default=text("0"), default=0)
    replies: Mapped[int] = mapped_column(server_default=text("0"), default=0)
    calls_booked: Mapped[int] = mapped_column(server_default=text("0"), default=0)
    insight_text: Mapped[str] = mapped_column(Text)
    narrative_summary: Mapped[str | None] = mapped_column(Text)
    next_week_focus: Mapped[str] = mapped_column(Text)
    win_post_draft: Mapped[str | None] = mapped_column(Text)
    insight_post_draft: Mapped[str | None] = mapped_column(Text)
    generated_at: Mapped[datetime] = stamped_at()
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class ContentPrompt(Base):
    """A saved content draft. Saving the same draft of the same summary twice keeps one row."""

    __tablename__ = "content_prompts"
    __table_args__ = (
        ForeignKeyConstraint(["weekly_summary_id", "user_id"], ["weekly_summaries.id", "weekly_summaries.user_id"],
                             ondelete="SET NULL (weekly_summary_id)"),
        Index("idx_content_prompts_user_id", "user_id"),
        Index("idx_content_prompts_status", "status"),
        Index("idx_content_prompts_user_status", "user_id", "status"),
        Index(
            "content_prompts_summary_type_key",
            "weekly_summary_id",
            "type",
            unique=True,
            postgresql_where="weekly_summary_id IS NOT NULL",
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    weekly_summary_id: Mapped[uuid.UUID | None]
    type: Mapped[ContentPromptType] = mapped_column(pg_enum(ContentPromptType, "content_prompt_type"))
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[ContentPromptStatus] = mapped_column(
        pg_enum(ContentPromptStatus, "content_prompt_status"),
        server_default=ContentPromptStatus.DRAFT.value,
        default=ContentPromptStatus.DRAFT,
    )
    saved_at: Mapped[datetime] = stamped_at()
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
