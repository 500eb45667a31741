"""The weekly summary as Block Kit: the week's numbers, the insight, next week's focus, and the two
content drafts, each with a "Save draft" button that turns into "Saved" once pressed."""

from __future__ import annotations

from datetime import date

from bot.slack import ids
from bot.slack.blocks.text import Block, button, context, cut, divider, escape, header, mrkdwn, section
from core.models import ContentPromptType, WeeklySummary
from core.text import plural, week_title

DRAFT_TITLES = {ContentPromptType.WIN_POST: "Win post draft", ContentPromptType.INSIGHT_POST: "Insight post draft"}
DRAFTS_SAID = "Save draft marks a draft you mean to post (✅ here); copy it from this message when it suits you."


def summary_message(summary: WeeklySummary, *, today: date, saved: frozenset[ContentPromptType] = frozenset()
                    ) -> tuple[str, list[Block]]:
    """Notification text and blocks of the summary DM; ``saved`` drafts show as saved. The week is
    named as seen from the reader's ``today`` (a DM redrawn months on says its year: core.text.week_title)."""
    title = week_title(summary.week_start_date, today=today)
    text = (f"{title}: {plural(summary.actions_completed, 'action')} completed, "
            f"{plural(summary.replies, 'reply')}, {plural(summary.calls_booked, 'call')} booked")
    return text, summary_blocks(summary, title=title, saved=saved)


def summary_blocks(summary: WeeklySummary, *, title: str,
                   saved: frozenset[ContentPromptType] = frozenset()) -> list[Block]:
    blocks: list[Block] = [
        header(title),
        {"type": "section", "fields": [
            mrkdwn(f"*Days active*\n{summary.days_active}"),
            mrkdwn(f"*Actions completed*\n{summary.actions_completed}"),
            mrkdwn(f"*Replies*\n{summary.replies}"),
            mrkdwn(f"*Calls booked*\n{summary.calls_booked}"),
        ]},
        section(f"💡 {escape(summary.insight_text)}"),
    ]
    if summary.narrative_summary:
        blocks.append(section(escape(summary.narrative_summary)))
    blocks.append(section(f"🎯 *Next week's focus:* {escape(summary.next_week_focus)}"))
    drafts = [(kind, text) for kind, text in ((ContentPromptType.WIN_POST, summary.win_post_draft),
                                               (ContentPromptType.INSIGHT_POST, summary.insight_post_draft)) if text]
    if not drafts:
        return blocks
    # Nothing else lists saved drafts: this message is where a draft is read and copied from.
    return [*blocks, divider(), *(draft_block(summary, kind, text, saved=kind in saved) for kind, text in drafts),
            context(DRAFTS_SAID)]


def draft_block(summary: WeeklySummary, kind: ContentPromptType, text: str, *, saved: bool) -> Block:
    quoted = "\n".join(f">{line}" for line in escape(cut(text, 2500)).splitlines())
    block: Block = section(
        f"*{DRAFT_TITLES[kind]}*{'  ✅ _Saved_' if saved else ''}\n{quoted}",
        block_id=ids.draft_block_id(kind, saved=saved),
    )
    if not saved:
        block["accessory"] = button("Save draft", ids.SAVE_DRAFT, ids.draft_value(summary.id, kind), style="primary")
    return block


