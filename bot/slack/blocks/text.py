"""Small text helpers shared by the builders: escaping, links, dates, limits.

Slack's mrkdwn treats ``&``, ``<`` and ``>`` as control characters, so every piece of user data
(a lead's name, a note) is escaped before it is put in a message. Slack refuses a whole message
when one field is too long, so text is cut to the field's limit rather than risking the send.
"""

from __future__ import annotations

from typing import Any

#: A Block Kit block, element, view or composition object, as Slack's JSON.
Block = dict[str, Any]

#: Slack's limits (api.slack.com/reference/block-kit).
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
SECTION_TEXT = 3000
BUTTON_TEXT = 75
OPTION_TEXT = 75
HEADER_TEXT = 150


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def link(url: str | None, label: str) -> str:
    """``<url|label>``; without a URL (or one Slack cannot link) just the escaped label."""
    shown = escape(label)
    if not url or any(char in url for char in "|<> "):
        return shown
    return f"<{url}|{shown.replace('|', '¦')}>"


def plain(text: str, limit: int = BUTTON_TEXT) -> Block:
    return {"type": "plain_text", "text": cut(text, limit), "emoji": True}


def mrkdwn(text: str, limit: int = SECTION_TEXT) -> Block:
    return {"type": "mrkdwn", "text": cut(text, limit)}


def section(text: str, **extra: Any) -> Block:
    return {"type": "section", "text": mrkdwn(text), **extra}


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(t) for t in texts[:10]]}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, HEADER_TEXT)}


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str | None = None, *, style: str | None = None,
           url: str | None = None, confirm: Block | None = None) -> Block:
    element: Block = {"type": "button", "text": plain(text), "action_id": action_id}
    if confirm is not None:
        element["confirm"] = confirm
    if value is not None:
        element["value"] = value
    if style:
        element["style"] = style
    if url:
        element["url"] = url
    return element


def confirm(title: str, text: str, *, yes: str, no: str = "Cancel") -> Block:
    """The dialog Slack shows before sending a press that cannot be taken back (Block Kit ``confirm``)."""
    return {"title": plain(title, 100), "text": plain(text, 300), "confirm": plain(yes, 30), "deny": plain(no, 30),
            "style": "danger"}


def option(text: str, value: str) -> Block:
    return {"text": plain(text, OPTION_TEXT), "value": value}
