"""Calendar connections, their sync log, and the state of OAuth flows in progress."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, ForeignKeyConstraint, Index, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.crypto import EncryptedText, Secret
from core.models.base import Base, created_at, pg_enum, updated_at, uuid_pk
from core.models.enums import CalendarConnectionStatus, CalendarProvider


class CalendarConnection(Base):
    """One calendar per provider per user. Tokens are AES-256-GCM encrypted (core.crypto).

    ``expires_at`` is a Unix timestamp in BIGINT: the design's INTEGER overflows in January 2038.
    ``token_cache`` holds msal's serialized token cache for Outlook connections.
    ``expired_notified_at`` records that the user was told once about an expired connection.
    ``reads_events`` says whether the grant lets us read events and who attends them (call detection).
    """

    __tablename__ = "calendar_connections"
    __table_args__ = (
        UniqueConstraint("user_id", "provider"),
        UniqueConstraint("id", "user_id"),  # what same-user references point at (migration 0012)
        Index("idx_calendar_connections_user_id", "user_id"),
        Index("idx_calendar_connections_provider", "provider"),
        Index("idx_calendar_connections_status", "status"),
        Index("idx_calendar_connections_user_status", "user_id", "status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[CalendarProvider] = mapped_column(pg_enum(CalendarProvider, "calendar_provider"))
    refresh_token: Mapped[Secret] = mapped_column(EncryptedText("calendar_connections.refresh_token"))
    access_token: Mapped[Secret | None] = mapped_column(EncryptedText("calendar_connections.access_token"))
    token_cache: Mapped[Secret | None] = mapped_column(EncryptedText("calendar_connections.token_cache"))
    expires_at: Mapped[int | None] = mapped_column(BigInteger)
    calendar_id: Mapped[str] = mapped_column(Text)
    status: Mapped[CalendarConnectionStatus] = mapped_column(
        pg_enum(CalendarConnectionStatus, "calendar_connection_status"),
        server_default=CalendarConnectionStatus.ACTIVE.value,
        default=CalendarConnectionStatus.ACTIVE,
    )
    last_sync_at: Mapped[datetime | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    expired_notified_at: Mapped[datetime | None]
    reads_events: Mapped[bool] = mapped_column(server_default=text("false"), default=False)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class CalendarSyncLog(Base):
    """One calendar operation (sync, token refresh, free/busy read); purged after 90 days."""

    __tablename__ = "calendar_sync_logs"
    __table_args__ = (
        Index("idx_calendar_sync_logs_connection_id", "calendar_connection_id"),
        Index("idx_calendar_sync_logs_created_at", text("created_at DESC")),
        Index("idx_calendar_sync_logs_status", "status"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    calendar_connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("calendar_connections.id", ondelete="CASCADE")
    )
    operation: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata")
    created_at: Mapped[datetime] = created_at()


class OAuthFlowState(Base):
    """An OAuth authorization in progress, found again by its ``state`` on the redirect.

    ``payload`` (encrypted) keeps what the callback needs: Google's PKCE code verifier or msal's
    auth-code flow dictionary, as JSON. A state is single-use (``used_at``) and expires.
    """

    __tablename__ = "oauth_flow_states"
    __table_args__ = (Index("idx_oauth_flow_states_user_id", "user_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    provider: Mapped[CalendarProvider] = mapped_column(pg_enum(CalendarProvider, "calendar_provider"))
    state: Mapped[str] = mapped_column(Text, unique=True)
    payload: Mapped[Secret] = mapped_column(EncryptedText("oauth_flow_states.payload"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at()


class CalendarEventCall(Base):
    """The calendar event that made a logged call: one event makes one call however often it is read,
    and a moved or cancelled event finds the call it made. ``event_key`` is the provider's id for the
    event (for a recurring event, the occurrence's)."""

    __tablename__ = "calendar_event_calls"
    __table_args__ = (
        ForeignKeyConstraint(["calendar_connection_id", "user_id"],
                             ["calendar_connections.id", "calendar_connections.user_id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["logged_call_id", "user_id"], ["logged_calls.id", "logged_calls.user_id"],
                             ondelete="CASCADE"),
        UniqueConstraint("calendar_connection_id", "event_key"),
        Index("idx_calendar_event_calls_logged_call", "logged_call_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    calendar_connection_id: Mapped[uuid.UUID]
    event_key: Mapped[str] = mapped_column(Text)
    logged_call_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = created_at()
