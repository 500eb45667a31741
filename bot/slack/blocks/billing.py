"""Billing in Slack, as pure Block Kit builders: the ``/nbm billing`` answer, App Home's section and
its banner when service has ended, and the notices (trial ending, payment failed, service ended).

Every button opens the signed billing page (bot/web/billing_routes.py), which makes the Stripe
session when pressed: a Portal session lasts minutes, far less than App Home stays on screen.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.slack import ids
from bot.slack.blocks.text import Block, button, context, header, section
from core.billing.notices import NoticeWords
from core.billing.status import BillingStatus


@dataclass(frozen=True)
class BillingView:
    """A user's billing as Slack shows it: the status, its sentence (core.billing.status.describe)
    and the address of their billing page (None while billing is off)."""

    status: BillingStatus
    summary: str
    url: str | None


def _button(view: BillingView) -> Block | None:
    if view.url is None:
        return None
    if view.status.can_subscribe:
        return button("Subscribe", ids.OPEN_LINK, "billing", style="primary", url=view.url)
    return button("Manage billing", ids.OPEN_LINK, "billing", url=view.url)


def billing_reply(view: BillingView) -> tuple[str, list[Block]]:
    """The answer to ``/nbm billing``."""
    icon = "" if view.url is None else ("✅ " if view.status.has_service else "⏸️ ")
    element = _button(view)
    block = section(f"{icon}{view.summary}", **({"accessory": element} if element else {}))
    return view.summary, [block]


def billing_section(view: BillingView) -> list[Block]:
    """App Home's Billing section."""
    element = _button(view)
    if element is None:
        return [header("Billing"), context(view.summary)]
    return [header("Billing"), section(view.summary, accessory=element)]


def paused_banner(view: BillingView) -> list[Block]:
    """Top of App Home when service has ended: the status's sentence (which already says that plans
    are paused and the data is still here) with its button."""
    if view.url is None or view.status.has_service:
        return []
    element = _button(view)
    return [section(f"⏸️ {view.summary}", **({"accessory": element} if element else {}))]


def notice_message(words: NoticeWords, url: str) -> tuple[str, list[Block]]:
    """A billing notice DM: what happened, and one button to the billing page."""
    text = f"{words.title}. {words.message}"
    return text, [section(f"*{words.title}*\n{words.message}",
                          accessory=button(words.button, ids.OPEN_LINK, "billing", style="primary", url=url))]
