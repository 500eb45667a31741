"""Slack installations in our own table, tokens encrypted at rest (slack_installations).

Bolt's stock SQLAlchemy store keeps tokens in clear text; this one keeps them in columns of
:class:`core.crypto.EncryptedText` (AES-256-GCM, key rotation with ``nbm keys rotate``). Only bot
tokens are kept: the app asks for no user scopes. One row per workspace, or per Enterprise Grid
organisation for an org-wide install; installing again (new scopes, reinstall) updates the row.

Every read and write runs in its own service-context unit of work: installations belong to no user.
Each save or removal bumps this process's :func:`generation`, which tells the authorizations
remembered here (``bot.slack.tokens``) that they may be stale.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from sqlalchemy import ColumnElement, Select, delete, select
from sqlalchemy.orm import Session

from core.crypto import Secret
from core.db import unit_of_work
from core.models import SlackInstallation, SlackUserLink, UserSettings

log = logging.getLogger("nbm.slack.installations")

_generation = 0


def generation() -> int:
    """How many times this process has saved or removed an installation."""
    return _generation


def _changed() -> None:
    global _generation
    _generation += 1


def workspace_filter(enterprise_id: str | None, team_id: str | None,
                     is_enterprise_install: bool | None) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """The WHERE clause of one workspace: an org-wide install is keyed by the organisation alone."""
    if is_enterprise_install:
        team_id = None
    return (
        SlackInstallation.enterprise_id.is_(None) if enterprise_id is None
        else SlackInstallation.enterprise_id == enterprise_id,
        SlackInstallation.team_id.is_(None) if team_id is None else SlackInstallation.team_id == team_id,
    )


def find_row(session: Session, *, enterprise_id: str | None, team_id: str | None,
             is_enterprise_install: bool | None = False, lock: bool = False) -> SlackInstallation | None:
    """The workspace's installation; for a workspace of an organisation that installed the app
    org-wide (it has no row of its own), the organisation's."""
    row = None
    if not is_enterprise_install:
        row = session.scalar(_locked(select(SlackInstallation).where(
            *workspace_filter(enterprise_id, team_id, False)), lock))
    if row is None and enterprise_id is not None:
        row = session.scalar(_locked(select(SlackInstallation).where(
            *workspace_filter(enterprise_id, None, True), SlackInstallation.is_enterprise_install.is_(True)), lock))
    return row


def _locked(query: Select[SlackInstallation], lock: bool) -> Select[SlackInstallation]:
    """Lock the row, and read it afresh: the version read before the wait may be stale by now."""
    return query.with_for_update().execution_options(populate_existing=True) if lock else query


def _expires(timestamp: int | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, tz=UTC) if timestamp is not None else None


class DbInstallationStore(InstallationStore):
    """The :class:`InstallationStore` Bolt's OAuth flow and token rotation save into."""

    @property
    def logger(self) -> logging.Logger:
        return log

    def save(self, installation: Installation) -> None:
        self.save_bot(installation.to_bot(), installer_user_id=installation.user_id)

    def save_bot(self, bot: Bot, *, installer_user_id: str | None = None) -> None:
        """Insert or update the workspace's row (a reinstall or a rotated token replaces the old one)."""
        with unit_of_work(service=True) as session:
            row = session.scalar(select(SlackInstallation).where(
                *workspace_filter(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)).with_for_update())
            if row is None:
                row = SlackInstallation(enterprise_id=bot.enterprise_id,
                                        team_id=None if bot.is_enterprise_install else bot.team_id)
                session.add(row)
            row.app_id = bot.app_id
            row.team_name = bot.team_name
            row.is_enterprise_install = bot.is_enterprise_install
            row.bot_id = bot.bot_id
            row.bot_user_id = bot.bot_user_id
            row.bot_scopes = ",".join(bot.bot_scopes or [])
            row.bot_token = Secret(bot.bot_token)
            row.bot_refresh_token = Secret(bot.bot_refresh_token) if bot.bot_refresh_token else None
            row.bot_token_expires_at = _expires(bot.bot_token_expires_at)
            if installer_user_id:
                row.installer_user_id = installer_user_id
            session.flush()
        _changed()
        log.info("saved the Slack installation of team %s (enterprise %s)", bot.team_id, bot.enterprise_id)

    def find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                 is_enterprise_install: bool | None = False) -> Bot | None:
        with unit_of_work(service=True) as session:
            row = find_row(session, enterprise_id=enterprise_id, team_id=team_id,
                           is_enterprise_install=is_enterprise_install)
            return to_bot(row) if row is not None else None

    def find_installation(self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None,
                          is_enterprise_install: bool | None = False) -> Installation | None:
        bot = self.find_bot(enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install)
        if bot is None:
            return None
        return Installation(
            app_id=bot.app_id, enterprise_id=bot.enterprise_id, team_id=bot.team_id, team_name=bot.team_name,
            bot_token=bot.bot_token, bot_id=bot.bot_id, bot_user_id=bot.bot_user_id, bot_scopes=bot.bot_scopes,
            bot_refresh_token=bot.bot_refresh_token, bot_token_expires_at=bot.bot_token_expires_at,
            is_enterprise_install=bot.is_enterprise_install, installed_at=bot.installed_at, user_id=user_id or "",
        )

    def delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        forget_workspace(enterprise_id=enterprise_id, team_id=team_id)


def to_bot(row: SlackInstallation) -> Bot:
    return Bot(
        app_id=row.app_id, enterprise_id=row.enterprise_id, team_id=row.team_id, team_name=row.team_name,
        bot_token=row.bot_token.reveal(), bot_id=row.bot_id or "", bot_user_id=row.bot_user_id or "",
        bot_scopes=row.bot_scopes or "",
        bot_refresh_token=row.bot_refresh_token.reveal() if row.bot_refresh_token else None,
        bot_token_expires_at=int(row.bot_token_expires_at.timestamp()) if row.bot_token_expires_at else None,
        is_enterprise_install=row.is_enterprise_install, installed_at=row.installed_at.timestamp(),
    )


def forget_workspace(*, enterprise_id: str | None, team_id: str | None) -> int:
    """The app left a workspace (uninstalled, or its bot token revoked): drop what we held for it.

    The installation and its tokens go, and so do the links of its Slack users (their DM channels
    are gone too). The users themselves and their data stay; a user left with no Slack link has the
    Slack DM turned off, so the morning job does not keep trying to reach them there. Returns how
    many user links were removed. Without a team or an organisation nothing is forgotten: an
    unscoped delete would forget every workspace.
    """
    if team_id is None and enterprise_id is None:
        log.warning("asked to forget a Slack workspace without a team or enterprise id; nothing forgotten")
        return 0
    with unit_of_work(service=True) as session:
        session.execute(delete(SlackInstallation).where(*workspace_filter(enterprise_id, team_id, False)))
        links = delete(SlackUserLink).returning(SlackUserLink.user_id)
        if team_id is not None:
            links = links.where(SlackUserLink.team_id == team_id)
        else:
            links = links.where(SlackUserLink.enterprise_id == enterprise_id)
        user_ids = set(session.scalars(links))
        still_linked = set(session.scalars(select(SlackUserLink.user_id).where(SlackUserLink.user_id.in_(user_ids))))
        for settings in session.scalars(select(UserSettings).where(UserSettings.user_id.in_(user_ids - still_linked))):
            settings.slack_enabled = False
        session.flush()
    _changed()
    log.info("forgot Slack team %s (enterprise %s): %d user links removed", team_id, enterprise_id, len(user_ids))
    return len(user_ids)
