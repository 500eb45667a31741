"""Identifiers that travel through Slack: action ids, modal callback ids and block ids.

A button or menu carries only ids, never state: the listener asks the core what to do with them.
Plan items put ``<surface>|<action uuid>`` in their block id so every control of the item (buttons,
snooze menu, date picker) knows its action and where it was pressed (the DM plan, App Home, or an
ephemeral "waiting" list), which decides how the surface is redrawn afterwards. A row of the
"waiting for a reply" list adds ``|waiting``: an action sent today is both a settled plan item and
a waiting row of the same message, and Slack refuses a whole message whose block ids repeat; a row
of `/nbm waiting` past its first page adds ``|<page>``, so a press redraws the page it was on. The
answer to a typed mark (``/nbm done 2``) is ``marked|<action uuid>``, and its Undo button's value is
the change the mark made: that Undo takes back that change or nothing (the answer names it).
"""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import Any

from core.actions import marks
from core.actions.marks import Mark
from core.errors import ValidationError
from core.models import ActionState, CalendarProvider, ContentPromptType


class Surface(StrEnum):
    PLAN = "plan"  # the plan DM (chat.update in place)
    HOME = "home"  # App Home (views.publish)
    WAITING = "waiting"  # the ephemeral `/nbm waiting` list (response_url, replace_original)
    MARKED = "marked"  # the ephemeral answer to a typed mark, `/nbm done 2` (response_url, replace_original)


def mark_button(mark: Mark) -> str:
    """The action id of a mark's button: ``nbm_`` and its word. Messages already in Slack carry these
    ids, as the words are never changed (``core.actions.marks``)."""
    return f"nbm_{mark.word}"


# Action ids of the controls on a plan item. A snooze is a menu of presets and a date picker, not a button.
DONE = mark_button(marks.DONE)
SENT = mark_button(marks.SENT)
REPLIED = mark_button(marks.REPLIED)
SNOOZE_PRESET = "nbm_snooze"
SNOOZE_DATE = "nbm_snooze_date"
UNDO = "nbm_undo"

#: Button → the state it asks for: every mark but the snooze.
MARKS: dict[str, ActionState] = {mark_button(mark): mark.target for mark in marks.MARKS if not mark.is_snooze}

# Other controls.
SAVE_DRAFT = "nbm_save_draft"
OPEN_ADD_LEAD = "nbm_open_add_lead"
OPEN_LOG_CALL = "nbm_open_log_call"
OPEN_SETTINGS = "nbm_open_settings"
REFRESH_PLAN = "nbm_refresh_plan"
CONNECT_CALENDAR = "nbm_connect_calendar"  # the expired-calendar DM's Reconnect button
DISCONNECT_CALENDAR = "nbm_disconnect_calendar"  # one per connection, each in its own block
OPEN_LINK = "nbm_open_link"  # a url button: Slack still sends the press, which is acknowledged and ignored

# Modal callback ids.
ADD_LEAD_VIEW = "nbm_add_lead"
LOG_CALL_VIEW = "nbm_log_call"
SETTINGS_VIEW = "nbm_settings"
CONNECT_ICS_VIEW = "nbm_connect_ics"

#: Suffix of a waiting row's block id (see the module docstring).
WAITING_ROW = "waiting"


def connect_calendar(kind: CalendarProvider) -> str:
    """The action id of App Home's Connect (Reconnect, Replace address) button of ``kind``: Slack refuses
    a block whose buttons share an action id, and these share one block. The value names the kind."""
    return f"{CONNECT_CALENDAR}_{kind.value}"


#: Every action id that asks to connect a calendar: the DM's, and App Home's of each kind.
CONNECT_CALENDARS = (CONNECT_CALENDAR, *(connect_calendar(kind) for kind in CalendarProvider))


def item_block_id(surface: Surface, action_id: uuid.UUID, *, waiting_row: bool = False, page: int = 1) -> str:
    """A plan item's or waiting row's block id (see the module docstring); ``page`` is a waiting row's."""
    row = (f"|{WAITING_ROW}" + (f"|{page}" if page > 1 else "")) if waiting_row else ""
    return f"{surface.value}|{action_id}{row}"


def waiting_page_of(block_id: str) -> int:
    """The page of `/nbm waiting` a row's block id says it was on: 1 when it says none (the first
    page's rows, a plan's waiting rows, ids sent before pages were said) or nothing readable."""
    page = block_id.split("|")[3:4]
    return int(page[0]) if page and page[0].isdecimal() and len(page[0]) <= 4 and int(page[0]) >= 1 else 1


def parse_item_block_id(block_id: str) -> tuple[Surface, uuid.UUID]:
    """The surface and action of a plan item's or waiting row's block; a forged or stale id is
    refused plainly."""
    surface, _, rest = block_id.partition("|")
    raw, _, _row = rest.partition("|")
    try:
        return Surface(surface), uuid.UUID(raw)
    except ValueError:
        raise ValidationError("that button no longer matches an action; open /nbm today for a fresh plan") from None


def parse_change_value(value: Any) -> uuid.UUID:
    """The change a typed mark's Undo button names in its value (the event the mark wrote); a forged
    or stale value is refused plainly."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationError("that Undo button no longer matches a change; `/nbm today` shows your plan as it "
                              "is") from None


def plan_header_block_id(day: date) -> str:
    return f"plan|{day.isoformat()}"


def plan_day(blocks: list[dict]) -> date | None:
    """The day a plan message shows (read back from its header), None for any other message."""
    for block in blocks[:1]:
        kind, _, raw = str(block.get("block_id", "")).partition("|")
        if kind == "plan":
            try:
                return date.fromisoformat(raw)
            except ValueError:
                return None
    return None


def draft_value(summary_id: uuid.UUID, kind: ContentPromptType) -> str:
    return f"{summary_id}|{kind.value}"


def parse_draft_value(value: str) -> tuple[uuid.UUID, ContentPromptType]:
    raw_id, _, kind = value.partition("|")
    try:
        return uuid.UUID(raw_id), ContentPromptType(kind)
    except ValueError:
        raise ValidationError("that draft button is not valid any more; run /nbm summary again") from None


def draft_block_id(kind: ContentPromptType, *, saved: bool) -> str:
    return f"draft_{'saved' if saved else 'open'}|{kind.value}"
