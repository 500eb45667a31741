"""The Block Kit rules Slack enforces when it receives a message or a view, checked by the fake Web
API (tests/slack/fake_slack.py) on every payload the app sends.

Slack refuses the whole payload (``invalid_blocks``) when one rule is broken, and the app then
logs a warning and leaves the old message in place: a bug the person only notices as "the button
did nothing". Checking here makes every test that sends blocks fail on such a payload. The rules
are the ones our builders can break (api.slack.com/reference/block-kit), not all of Slack's.
"""

from __future__ import annotations

from typing import Any

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
_TEXT_LIMITS = {"section": 3000, "header": 150}


def message_problems(blocks: Any) -> list[str]:
    """What Slack would refuse in a message's ``blocks`` (empty: accepted)."""
    return _blocks_problems(blocks, limit=MESSAGE_BLOCKS)


def view_problems(view: Any) -> list[str]:
    """What Slack would refuse in a modal or Home ``view``."""
    if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
        return ["a view is a modal or a home"]
    problems = _blocks_problems(view.get("blocks"), limit=VIEW_BLOCKS)
    if view["type"] == "modal":
        problems += [f"modal {key} is longer than 24 characters" for key in ("title", "submit", "close")
                     if len((view.get(key) or {}).get("text", "")) > 24]
    return problems


def _blocks_problems(blocks: Any, *, limit: int) -> list[str]:
    if not isinstance(blocks, list):
        return ["blocks is not a list"]
    problems = [f"{len(blocks)} blocks; the limit is {limit}"] if len(blocks) > limit else []
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen:
                problems.append(f"block {index}: duplicate block_id {block_id!r}")
            if len(block_id) > 255:
                problems.append(f"block {index}: block_id longer than 255 characters")
            seen.add(block_id)
        problems += [f"block {index}: {problem}" for problem in _block_problems(block)]
    return problems


def _block_problems(block: dict[str, Any]) -> list[str]:
    kind = block.get("type")
    problems = []
    text = (block.get("text") or {}).get("text")
    if kind in _TEXT_LIMITS and text is not None and not 1 <= len(text) <= _TEXT_LIMITS[kind]:
        problems.append(f"{kind} text of {len(text)} characters")
    if kind == "section" and not text and not block.get("fields"):
        problems.append("a section needs text or fields")
    if kind == "context" and not 1 <= len(block.get("elements") or []) <= 10:
        problems.append("a context holds 1 to 10 elements")
    elements = list(block.get("elements") or []) if kind == "actions" else []
    if block.get("accessory"):
        elements.append(block["accessory"])
    if block.get("element"):
        elements.append(block["element"])
    action_ids = [element.get("action_id") for element in elements if element.get("action_id")]
    if len(action_ids) != len(set(action_ids)):
        problems.append(f"duplicate action_id in {action_ids}")
    for element in elements:
        problems += _element_problems(element)
    return problems


def _element_problems(element: dict[str, Any]) -> list[str]:
    problems = []
    if element.get("type") == "button" and len(element["text"]["text"]) > 75:
        problems.append("button text longer than 75 characters")
    options = element.get("options") or []
    if len(options) > 100:
        problems.append(f"{len(options)} options; the limit is 100")
    problems += [f"option text {o['text']['text'][:20]!r}… longer than 75 characters"
                 for o in options if len(o["text"]["text"]) > 75]
    return problems
