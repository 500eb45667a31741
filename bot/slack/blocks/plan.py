"""The plan as Block Kit: the morning DM, the plan part of App Home, and the "waiting" list.

Per action: its number, title, the lead's link and the estimated minutes; while it is still open,
Done / Sent / Replied buttons, a Snooze menu with the presets and a date picker. An action already
settled today (done, sent, replied, snoozed) stays listed with its state, so the message reads as
the day's progress. The Fast Win is marked.

Slack refuses a message of more than 50 blocks (100 in App Home). An open item takes two blocks, a
settled one one; when the plan does not fit, the items that fit are shown in order followed by a
line saying how many more there are, so even a plan of 60 actions renders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from bot.slack import ids
from bot.slack.blocks.text import (
    MESSAGE_BLOCKS,
    button,
    context,
    cut,
    divider,
    escape,
    header,
    link,
    option,
    section,
)
from core.actions.rules import marks_offered
from core.actions.snooze import snooze_presets
from core.models import ActionState
from core.planner.view import PlanItem, PlanView, WaitingItem
from core.text import plural, short_date

Block = dict[str, Any]

STATE_LABELS = {
    ActionState.DONE: "✅ Done",
    ActionState.SENT: "📤 Sent, waiting for a reply",
    ActionState.REPLIED: "💬 Replied",
    ActionState.SNOOZED: "💤 Snoozed",
    ActionState.ARCHIVED: "🗄️ Archived",
}
FOOTER = "Mark each one as you go. `/nbm help` lists every command."
EMPTY = "Nothing is due today. Add a lead with `/nbm add` and its first outreach shows up here."


def plan_message(view: PlanView) -> tuple[str, list[Block]]:
    """The plan DM: notification text and blocks (at most 50)."""
    return summary_line(view), plan_blocks(view)


def summary_line(view: PlanView) -> str:
    """'Your next best moves for Tue 25 Nov: 5 actions, ~35 min' (the notification text)."""
    if not view.items:
        return f"Your next best moves for {short_date(view.date)}: nothing due today"
    return (f"Your next best moves for {short_date(view.date)}: {plural(len(view.items), 'action')}, "
            f"~{view.total_minutes} min")


def plan_blocks(view: PlanView, *, max_blocks: int = MESSAGE_BLOCKS) -> list[Block]:
    title = header(f"Your next best moves for {short_date(view.date)}")
    top = [{**title, "block_id": ids.plan_header_block_id(view.date)}, overview(view), divider()]
    bottom = [context(FOOTER)]
    budget = max_blocks - len(top) - len(bottom)
    items = plan_section(view, surface=ids.Surface.PLAN, budget=budget)
    waiting = waiting_section(view.waiting, surface=ids.Surface.PLAN, budget=budget - len(items))
    return top + items + waiting + bottom


def overview(view: PlanView) -> Block:
    """Count, minutes, streak and focus in one context line."""
    parts = [f"{plural(len(view.items), 'action')} · ~{view.total_minutes} min"]
    if view.streak:
        parts.append(f"🔥 {view.streak}-day streak")
    texts = [" · ".join(parts)]
    if view.focus:
        texts.append(f"🎯 Focus: {escape(view.focus)}")
    return context(*texts)


def plan_section(view: PlanView, *, surface: ids.Surface, budget: int) -> list[Block]:
    """The items that fit in ``budget`` blocks, then a line counting those left out."""
    if not view.items:
        return [section(EMPTY)] if budget > 0 else []
    rendered = [item_blocks(item, number, today=view.date, surface=surface)
                for number, item in enumerate(view.items, start=1)]
    return _fit(rendered, budget, lambda left: context(
        f"…and {plural(left, 'more action')} not shown here. `/nbm done <number>` works for every one."))


def item_blocks(item: PlanItem, number: int, *, today: date, surface: ids.Surface) -> list[Block]:
    block_id = ids.item_block_id(surface, item.action_id)
    badge = "⚡ *Fast Win* · " if item.is_fast_win else ""
    details = " · ".join(part for part in (link(item.lead_url, item.lead_name) if item.lead_name else "",
                                           f"~{item.minutes} min") if part)
    if not item.is_open:
        label = STATE_LABELS.get(item.state, item.state.value.title())
        return [section(f"~{number}. {escape(item.title)}~  {label}\n{details}", block_id=block_id)]
    text = section(f"*{number}.* {badge}*{escape(item.title)}*\n{details}")
    controls = {"type": "actions", "block_id": block_id, "elements": mark_controls(item, today=today)}
    return [text, controls]


#: Each button: its label, its action id and its Block Kit style.
_BUTTONS = {
    ActionState.DONE: ("Done", ids.DONE, "primary"),
    ActionState.SENT: ("Sent", ids.SENT, None),
    ActionState.REPLIED: ("Replied", ids.REPLIED, None),
}


def mark_controls(item: PlanItem, *, today: date) -> list[Block]:
    """The controls the core offers for this action (Sent and Replied only on a message to a lead)."""
    controls: list[Block] = []
    for state in marks_offered(item.action_type, has_lead=item.lead_id is not None):
        if state == ActionState.SNOOZED:
            controls += snooze_controls(today)
        else:
            label, action_id, style = _BUTTONS[state]
            controls.append(button(label, action_id, str(item.action_id), style=style))
    return controls


def snooze_controls(today: date) -> list[Block]:
    """The presets menu (each labelled with its date) and a date picker for any other day."""
    return [
        {"type": "static_select", "action_id": ids.SNOOZE_PRESET,
         "placeholder": {"type": "plain_text", "text": "Snooze…"},
         "options": [option(f"{label} ({short_date(until)})", until.isoformat())
                     for label, until in snooze_presets(today)]},
        {"type": "datepicker", "action_id": ids.SNOOZE_DATE,
         "placeholder": {"type": "plain_text", "text": "Snooze to a date"}},
    ]


def waiting_section(waiting: Sequence[WaitingItem], *, surface: ids.Surface, budget: int) -> list[Block]:
    """'Waiting for a reply': one line per SENT action with a Replied button, if two blocks fit."""
    if not waiting or budget < 2:
        return []
    rendered = [[waiting_block(item, surface=surface)] for item in waiting]
    title = section(f"*Waiting for a reply* ({len(waiting)})")
    return [title, *_fit(rendered, budget - 1,
                         lambda left: context(f"…and {left} more waiting. `/nbm waiting` lists them."))]


def waiting_block(item: WaitingItem, *, surface: ids.Surface) -> Block:
    who = f" · {link(item.lead_url, item.lead_name)}" if item.lead_name else ""
    return section(
        f"{escape(cut(item.title, 200))}{who}\nSent {short_date(item.sent_on)}",
        block_id=ids.item_block_id(surface, item.action_id, waiting_row=True),
        accessory=button("Replied", ids.REPLIED, str(item.action_id)),
    )


def waiting_message(waiting: Sequence[WaitingItem], *, max_blocks: int = MESSAGE_BLOCKS) -> tuple[str, list[Block]]:
    """The `/nbm waiting` answer: every listed action with its Replied button."""
    if not waiting:
        text = "Nothing is waiting for a reply. Actions you mark Sent show up here."
        return text, [section(text)]
    text = f"{plural(len(waiting), 'action')} waiting for a reply"
    return text, waiting_section(waiting, surface=ids.Surface.WAITING, budget=max_blocks)


def _fit(rendered: list[list[Block]], budget: int, more: Callable[[int], Block]) -> list[Block]:
    """All of ``rendered`` if it fits in ``budget`` blocks; else the leading groups that fit and
    ``more(count_left_out)`` as the last block."""
    if sum(len(group) for group in rendered) <= budget:
        return [block for group in rendered for block in group]
    shown: list[Block] = []
    count = 0
    for group in rendered:
        if len(shown) + len(group) > budget - 1:
            break
        shown += group
        count += 1
    return [*shown, more(len(rendered) - count)] if budget > 0 else []
