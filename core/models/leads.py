"""Leads: the people a user follows up with."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, created_at, pg_enum, updated_at, uuid_pk
from core.models.enums import LeadStatus


class Lead(Base):
    """A lead. One lead per URL per user: importing the same file twice adds nobody twice."""

    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("id", "user_id"),  # what same-user references point at (migration 0012)
        CheckConstraint(
            "url LIKE 'https://%' OR url LIKE 'http://%' OR url LIKE 'mailto:%'", name="valid_url"
        ),
        CheckConstraint("email = lower(email) AND email LIKE '%_@_%'", name="leads_email_lower"),
        Index("leads_user_id_url_key", "user_id", "url", unique=True),
        Index("leads_user_id_email_key", "user_id", "email", unique=True, postgresql_where="email IS NOT NULL"),
        Index("idx_leads_user_id", "user_id"),
        Index("idx_leads_status", "status"),
        Index("idx_leads_user_status", "user_id", "status"),
        Index("idx_leads_snooze_until", "snooze_until", postgresql_where="status = 'SNOOZED'"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    status: Mapped[LeadStatus] = mapped_column(
        pg_enum(LeadStatus, "lead_status"), server_default=LeadStatus.ACTIVE.value, default=LeadStatus.ACTIVE
    )
    snooze_until: Mapped[date | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
