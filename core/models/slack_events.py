"""Slack events already acted on, so a retried delivery of the same event does nothing twice."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, created_at, uuid_pk


class SlackEvent(Base):
    """One Events API event, keyed by (team, event id).

    Slack retries an event it thinks was not acknowledged in time (``X-Slack-Retry-Num``) and Bolt
    does not de-duplicate: the unique key turns the second arrival into a no-op. Rows are only
    needed while Slack may still retry (minutes), so old ones are purged as new ones arrive.
    """

    __tablename__ = "slack_events"
    __table_args__ = (
        UniqueConstraint("team_id", "event_id"),
        Index("idx_slack_events_created_at", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    team_id: Mapped[str] = mapped_column(Text)
    event_id: Mapped[str] = mapped_column(Text)
    event_type: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
