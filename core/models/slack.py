"""Slack workspaces the app is installed in, the link from a Slack user to our user, and the plan
message a user had posted in their DM on request."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from core.crypto import EncryptedText, Secret
from core.models.base import Base, created_at, stamped_at, updated_at, uuid_pk


class SlackInstallation(Base):
    """One installation per workspace (or per Enterprise Grid org for org-wide installs).

    Bot tokens are encrypted. With token rotation on, ``bot_token`` expires at
    ``bot_token_expires_at`` and ``bot_refresh_token`` gets a new one, saved back here.
    """

    __tablename__ = "slack_installations"
    __table_args__ = (
        Index(
            "slack_installations_workspace_key",
            func.coalesce(text("enterprise_id"), text("''")),
            func.coalesce(text("team_id"), text("''")),
            unique=True,
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    app_id: Mapped[str | None] = mapped_column(Text)
    enterprise_id: Mapped[str | None] = mapped_column(Text)
    team_id: Mapped[str | None] = mapped_column(Text)
    team_name: Mapped[str | None] = mapped_column(Text)
    is_enterprise_install: Mapped[bool] = mapped_column(server_default=text("false"), default=False)
    bot_id: Mapped[str | None] = mapped_column(Text)
    bot_user_id: Mapped[str | None] = mapped_column(Text)
    bot_scopes: Mapped[str | None] = mapped_column(Text)
    bot_token: Mapped[Secret] = mapped_column(EncryptedText("slack_installations.bot_token"))
    bot_refresh_token: Mapped[Secret | None] = mapped_column(
        EncryptedText("slack_installations.bot_refresh_token")
    )
    bot_token_expires_at: Mapped[datetime | None]
    installer_user_id: Mapped[str | None] = mapped_column(Text)
    installed_at: Mapped[datetime] = stamped_at()
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class SlackUserLink(Base):
    """Slack user (team id, user id) → NextBestMove user; ``dm_channel_id`` once a DM was opened."""

    __tablename__ = "slack_user_links"
    __table_args__ = (
        UniqueConstraint("team_id", "slack_user_id"),
        Index("idx_slack_user_links_user_id", "user_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    team_id: Mapped[str] = mapped_column(Text)
    enterprise_id: Mapped[str | None] = mapped_column(Text)
    slack_user_id: Mapped[str] = mapped_column(Text)
    dm_channel_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class SlackPlanMessage(Base):
    """The plan message posted in a user's Slack DM on request (``/nbm today``), not by the morning
    delivery (which ``deliveries.external_id`` records): where it is and the day whose plan it shows,
    so that every redraw of that day reaches it and the day's morning delivery takes it over instead
    of posting a second copy (``bot.slack.plan_dm``). One a user: a later one replaces it, since only
    today's is redrawn; ``created_at`` is when the one kept was posted."""

    __tablename__ = "slack_plan_messages"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date]
    channel: Mapped[str] = mapped_column(Text)
    ts: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
