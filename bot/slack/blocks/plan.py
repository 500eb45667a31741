"""The plan as Block Kit: the morning DM, the plan part of App Home, and the "waiting" list.

Per action: its number, title, the lead's link and the estimated minutes; while it is still open,
Done / Sent / Replied buttons, a Snooze menu with the presets and a date picker. An action already
settled today (done, sent, replied, snoozed) stays listed with its state, so the message reads as
the day's progress. The Fast Win is marked.

Slack refuses a message of more than 50 blocks (100 in App Home). An open item takes two blocks, a
settled one one; when the plan does not fit, the items that fit are shown in order followed by a
line saying how many more there are, so even a plan of 60 actions renders.

A press redraws its own row at once with :func:`with_item_redrawn` (the message as Slack sent it
back with the press, that one row drawn anew); the whole message is drawn again shortly after.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import date

from bot.slack import ids
from bot.slack.blocks.text import (
    MESSAGE_BLOCKS,
    Block,
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
from core.actions import marks
from core.actions.rules import marks_offered
from core.actions.snooze import snooze_presets
from core.models import ActionState
from core.planner.view import PlanItem, PlanView, WaitingItem
from core.text import plural, short_date, short_date_from

STATE_LABELS = {
    ActionState.DONE: "✅ Done",
    ActionState.SENT: "📤 Sent, waiting for a reply",
    ActionState.REPLIED: "💬 Replied",
    ActionState.SNOOZED: "💤 Snoozed",
    ActionState.ARCHIVED: "🗄️ Archived",
}
#: An action the system closed because the lead answered (its pending follow-up is not needed).
CLOSED_BY_REPLY = "💬 Closed — they replied"
FOOTER = "Mark each one as you go. `/nbm help` lists every command."
#: An empty plan, and what it adds when it offers a lead (core.planner.nothing_due: the user has no active one).
EMPTY = "Nothing is due."
ADD_A_LEAD = " Add a lead with `/nbm add` and its first outreach shows up here."


def plan_message(view: PlanView) -> tuple[str, list[Block]]:
    """The plan DM: notification text and blocks (at most 50)."""
    return summary_line(view), plan_blocks(view)


def _plan_title(view: PlanView) -> str:
    """'Your next best moves for Tue 25 Nov': the message's header, its day with the year when it is
    months from the reader's today (an old plan message redrawn after a press: core.text.short_date_from)."""
    return f"Your next best moves for {short_date_from(view.date, today=view.today)}"


def summary_line(view: PlanView) -> str:
    """'Your next best moves for Tue 25 Nov: 5 actions, ~35 min' (the notification text; the size
    is :meth:`core.planner.view.PlanView.size`)."""
    return f"{_plan_title(view)}: {view.size()}"


def plan_blocks(view: PlanView, *, max_blocks: int = MESSAGE_BLOCKS) -> list[Block]:
    title = header(_plan_title(view))
    top = [{**title, "block_id": ids.plan_header_block_id(view.date)}, overview(view), divider()]
    bottom = [context(FOOTER)]
    budget = max_blocks - len(top) - len(bottom)
    items = plan_section(view, surface=ids.Surface.PLAN, budget=budget)
    waiting = waiting_section(view.waiting, total=view.waiting_total, surface=ids.Surface.PLAN,
                              budget=budget - len(items), today=view.today)
    return top + items + waiting + bottom


def overview(view: PlanView) -> Block:
    """Size (:meth:`core.planner.view.PlanView.size`), streak and focus in one context line."""
    parts = [view.size()]
    if view.streak:
        parts.append(f"🔥 {view.streak}-day streak")
    texts = [" · ".join(parts)]
    if view.focus:
        texts.append(f"🎯 Focus: {escape(view.focus)}")
    return context(*texts)


def plan_section(view: PlanView, *, surface: ids.Surface, budget: int) -> list[Block]:
    """The items that fit in ``budget`` blocks, then a line counting those left out."""
    if not view.items:
        return [section(EMPTY + (ADD_A_LEAD if view.offers_a_lead else ""))] if budget > 0 else []
    rendered = [item_blocks(item, item.number, today=view.today, work_days=view.work_days, surface=surface)
                for item in view.items]
    return _fit(rendered, budget, lambda left: context(
        f"…and {plural(left, 'more action')} not shown here. `/nbm done <number>` works for every one."))


FAST_WIN_BADGE = "⚡ *Fast Win* · "
#: The item's number at the start of its row: ``*3.* …`` while open, ``~3. …~`` once settled.
_ROW_NUMBER = re.compile(r"[*~](\d+)\.")


def item_blocks(
    item: PlanItem, number: int, *, today: date, work_days: Collection[int], surface: ids.Surface
) -> list[Block]:
    block_id = ids.item_block_id(surface, item.action_id)
    badge = FAST_WIN_BADGE if item.is_fast_win else ""
    details = " · ".join(part for part in (link(item.lead_url, item.lead_name) if item.lead_name else "",
                                           f"~{item.minutes} min") if part)
    if not item.is_open:
        label = CLOSED_BY_REPLY if item.closed_by_reply else STATE_LABELS.get(item.state, item.state.value.title())
        undo = {"accessory": button("Undo", ids.UNDO, str(item.action_id))} if item.undoable else {}
        return [section(f"~{number}. {escape(item.title)}~  {label}\n{details}", block_id=block_id, **undo)]
    note = f"\n📝 _{escape(item.note)}_" if item.note else ""
    text = section(f"*{number}.* {badge}*{escape(item.title)}*\n{details}{note}")
    controls = {"type": "actions", "block_id": block_id,
                "elements": mark_controls(item, today=today, work_days=work_days)}
    return [text, controls]


def with_item_redrawn(blocks: Sequence[Block], item: PlanItem, *, today: date,
                      work_days: Collection[int]) -> list[Block] | None:
    """A plan message's ``blocks`` with ``item``'s row drawn anew, keeping its number (and its Fast
    Win badge: the badge shows on an open row only, so ``item`` says it when the row was settled);
    None when the message shows no such row. The rest of the message is left as it was."""
    block_id = ids.item_block_id(ids.Surface.PLAN, item.action_id)
    for end, block in enumerate(blocks):
        if block.get("block_id") != block_id:
            continue
        start = end - 1 if block.get("type") == "actions" else end  # an open row's text comes first
        text = str(((blocks[start] if start >= 0 else {}).get("text") or {}).get("text") or "")
        number = _ROW_NUMBER.match(text)
        if number is None:
            return None
        if start < end:
            item = replace(item, is_fast_win=FAST_WIN_BADGE in text)
        row = item_blocks(item, int(number.group(1)), today=today, work_days=work_days, surface=ids.Surface.PLAN)
        return [*blocks[:start], *row, *blocks[end + 1:]]
    return None


#: Each button: its label, its action id and its Block Kit style.
_BUTTONS = {mark.target: (mark.label, ids.mark_button(mark), "primary" if mark is marks.DONE else None)
            for mark in marks.MARKS if not mark.is_snooze}  # a snooze is a menu and a date picker


def mark_controls(item: PlanItem, *, today: date, work_days: Collection[int]) -> list[Block]:
    """The controls the core offers for this action (Sent and Replied only on a message to a lead)."""
    controls: list[Block] = []
    for state in marks_offered(item.action_type, has_lead=item.lead_id is not None):
        if state == ActionState.SNOOZED:
            controls += snooze_controls(today, work_days)
        else:
            label, action_id, style = _BUTTONS[state]
            controls.append(button(label, action_id, str(item.action_id), style=style))
    return controls


def snooze_controls(today: date, work_days: Collection[int]) -> list[Block]:
    """The presets menu (each labelled with its date, all on work days) and a date picker for any other day."""
    return [
        {"type": "static_select", "action_id": ids.SNOOZE_PRESET,
         "placeholder": {"type": "plain_text", "text": "Snooze…"},
         "options": [option(f"{label} ({short_date(until)})", until.isoformat())
                     for label, until in snooze_presets(today, work_days)]},
        {"type": "datepicker", "action_id": ids.SNOOZE_DATE,
         "placeholder": {"type": "plain_text", "text": "Snooze to a date"}},
    ]


def waiting_section(waiting: Sequence[WaitingItem], *, total: int, surface: ids.Surface, budget: int,
                    today: date) -> list[Block]:
    """'Waiting for a reply (total)': a row per listed action with its Replied button, if two blocks
    fit; the ones not shown (beyond ``waiting`` or the block budget) are counted, with where to see them."""
    if not waiting or budget < 2:
        return []
    rows = [waiting_block(item, surface=surface, today=today) for item in waiting]
    room = budget - 1  # the title's block
    if len(rows) + (total > len(rows)) > room:
        rows = rows[: room - 1]
    more = total - len(rows)
    tail = [context(f"…and {more} more waiting. `/nbm waiting` lists them all.")] if more > 0 else []
    return [section(f"*Waiting for a reply* ({total})"), *rows, *tail]


def waiting_block(item: WaitingItem, *, surface: ids.Surface, today: date, page: int = 1) -> Block:
    """A waiting row with its Replied button, its sending day said with its year when far from the
    user's ``today``; ``page``, the page of `/nbm waiting` it is on."""
    who = f" · {link(item.lead_url, item.lead_name)}" if item.lead_name else ""
    return section(
        f"{escape(cut(item.title, 200))}{who}\nSent {short_date_from(item.sent_on, today=today)}",
        block_id=ids.item_block_id(surface, item.action_id, waiting_row=True, page=page),
        accessory=button("Replied", ids.REPLIED, str(item.action_id)),
    )


#: Rows on one page of `/nbm waiting`, so the page, its title and its footer fit a message's 50 blocks.
WAITING_PAGE = 45


def waiting_message(waiting: Sequence[WaitingItem], *, total: int, today: date,
                    page: int = 1) -> tuple[str, list[Block]]:
    """Page ``page`` of the `/nbm waiting` answer (``waiting``: that page's rows, read on the user's
    ``today``), each row with its Replied button, saying which page it is and how to see the next."""
    if not total:
        text = "Nothing is waiting for a reply. Actions you mark Sent show up here."
        return text, [section(text)]
    text = f"{plural(total, 'action')} waiting for a reply"
    pages = -(-total // WAITING_PAGE)
    if not waiting:
        return text, [section(f"There is no page {page}: {text}, on {plural(pages, 'page')}.")]
    title = f"*Waiting for a reply* ({total})" + (f" · page {page} of {pages}" if pages > 1 else "")
    rows = [waiting_block(item, surface=ids.Surface.WAITING, today=today, page=page) for item in waiting]
    if page == pages:
        return text, [section(title), *rows]
    following = min(WAITING_PAGE, total - page * WAITING_PAGE)
    return text, [section(title), *rows, context(f"`/nbm waiting {page + 1}` shows the next {following}.")]


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
