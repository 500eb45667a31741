"""Deliveries: the record that makes each morning's send happen once per user, channel and period."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, created_at, pg_enum, updated_at, uuid_pk
from core.models.enums import Channel, DeliveryKind, DeliveryStatus


class Delivery(Base):
    """One delivery of ``kind`` on ``channel`` for ``period`` (the plan's date, or the summary's week).

    The unique key (user, kind, channel, period) is the real once-only guarantee. A row is written
    as ``pending`` before sending and turned ``sent`` after, with ``external_id`` (the email
    Message-ID, or the Slack ``channel:ts``) so later presses can update the same message.
    ``sending_since`` is the lease of the job sending it (migration 0013).
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        # The status rides along in the key's index: the scheduler's probes read it from there (migration 0014).
        UniqueConstraint("user_id", "kind", "channel", "period", postgresql_include=["status"]),
        Index("idx_deliveries_status", "status", postgresql_where="status <> 'sent'"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[DeliveryKind] = mapped_column(pg_enum(DeliveryKind, "delivery_kind"))
    channel: Mapped[Channel] = mapped_column(pg_enum(Channel, "event_channel"))
    period: Mapped[date]
    status: Mapped[DeliveryStatus] = mapped_column(
        pg_enum(DeliveryStatus, "delivery_status"),
        server_default=DeliveryStatus.PENDING.value,
        default=DeliveryStatus.PENDING,
    )
    attempts: Mapped[int] = mapped_column(server_default=text("0"), default=0)
    external_id: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    #: The lease of the job sending it now (``core.jobs.tasks``), None when no job is.
    sending_since: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
