"""Content drafts saved from a weekly summary ("Save draft" in the summary DM).

Rules:

* Saving copies the summary's draft text into ``content_prompts`` as a DRAFT. Saving the same draft
  of the same summary again returns the row already saved (a double click or a second "Save draft"
  press must not make two drafts).
* Someone else's summary is NotFound, never "forbidden": we do not confirm it exists.

No channel marks a draft POSTED or ARCHIVED yet; the schema keeps those statuses for when one does.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.clock import local_today, utcnow
from core.errors import NotFound, ValidationError
from core.models import ContentPrompt, ContentPromptStatus, ContentPromptType, User, WeeklySummary
from core.text import week_range

_KIND_NAMES = {ContentPromptType.WIN_POST: "win post", ContentPromptType.INSIGHT_POST: "insight post"}

def _draft_text(summary: WeeklySummary, kind: ContentPromptType) -> str | None:
    return summary.win_post_draft if kind == ContentPromptType.WIN_POST else summary.insight_post_draft


def save_draft(session: Session, *, user: User, summary_id: uuid.UUID, kind: ContentPromptType) -> ContentPrompt:
    """Save the summary's ``kind`` draft as a DRAFT content prompt, once per summary and kind."""
    summary = session.get(WeeklySummary, summary_id)
    if summary is None or summary.user_id != user.id:
        raise NotFound("that weekly summary does not exist")
    content = _draft_text(summary, kind)
    if not content:
        week = week_range(summary.week_start_date, today=local_today(user.timezone))
        raise ValidationError(f"the summary of the week of {week} has no {_KIND_NAMES[kind]}")
    session.execute(
        insert(ContentPrompt)
        .values(id=uuid.uuid4(), user_id=user.id, weekly_summary_id=summary.id, type=kind, content=content,
                status=ContentPromptStatus.DRAFT, saved_at=utcnow())
        .on_conflict_do_nothing(
            index_elements=["weekly_summary_id", "type"], index_where=ContentPrompt.weekly_summary_id.is_not(None)
        )
    )
    return session.scalars(
        select(ContentPrompt).where(ContentPrompt.weekly_summary_id == summary.id, ContentPrompt.type == kind)
    ).one()


def list_prompts(session: Session, *, user: User) -> list[ContentPrompt]:
    """The user's saved drafts, newest first."""
    return list(session.scalars(select(ContentPrompt).where(ContentPrompt.user_id == user.id)
                                .order_by(ContentPrompt.saved_at.desc(), ContentPrompt.id)))
