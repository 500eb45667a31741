"""Content drafts saved from a weekly summary: DRAFT, then POSTED or ARCHIVED.

Rules:

* Saving copies the summary's draft text into ``content_prompts`` as a DRAFT. Saving the same draft
  of the same summary again returns the row already saved, whatever its status (a double click or
  a second "Save draft" press must not make two drafts, nor bring back one the user archived).
* DRAFT → POSTED, DRAFT → ARCHIVED and POSTED → ARCHIVED (tidying up after posting) are allowed.
  ARCHIVED → POSTED is refused: an archived draft was put away on purpose.
  Asking for the status a prompt already has is a no-op that returns it (a double click).
* Someone else's summary or prompt is NotFound, never "forbidden": we do not confirm it exists.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import InvalidTransition, NotFound, ValidationError
from core.models import ContentPrompt, ContentPromptStatus, ContentPromptType, User, WeeklySummary

_KIND_NAMES = {ContentPromptType.WIN_POST: "win post", ContentPromptType.INSIGHT_POST: "insight post"}

_ALLOWED = {
    ContentPromptStatus.DRAFT: {ContentPromptStatus.POSTED, ContentPromptStatus.ARCHIVED},
    ContentPromptStatus.POSTED: {ContentPromptStatus.ARCHIVED},
    ContentPromptStatus.ARCHIVED: set(),
}


def _draft_text(summary: WeeklySummary, kind: ContentPromptType) -> str | None:
    return summary.win_post_draft if kind == ContentPromptType.WIN_POST else summary.insight_post_draft


def save_draft(session: Session, *, user: User, summary_id: uuid.UUID, kind: ContentPromptType) -> ContentPrompt:
    """Save the summary's ``kind`` draft as a DRAFT content prompt, once per summary and kind."""
    summary = session.get(WeeklySummary, summary_id)
    if summary is None or summary.user_id != user.id:
        raise NotFound("that weekly summary does not exist")
    content = _draft_text(summary, kind)
    if not content:
        raise ValidationError(f"the summary of the week of {summary.week_start_date:%d %b} has no {_KIND_NAMES[kind]}")
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


def _get_prompt(session: Session, user: User, prompt_id: uuid.UUID) -> ContentPrompt:
    prompt = session.get(ContentPrompt, prompt_id)
    if prompt is None or prompt.user_id != user.id:
        raise NotFound("that saved draft does not exist")
    return prompt


def _move(session: Session, user: User, prompt_id: uuid.UUID, target: ContentPromptStatus) -> ContentPrompt:
    prompt = _get_prompt(session, user, prompt_id)
    if prompt.status == target:
        return prompt
    if target not in _ALLOWED[prompt.status]:
        raise InvalidTransition(
            f"this draft is {prompt.status.value.lower()}, so it cannot be marked {target.value.lower()}; "
            "a draft can be marked posted only before it is archived"
        )
    prompt.status = target
    session.flush()
    return prompt


def mark_posted(session: Session, *, user: User, prompt_id: uuid.UUID) -> ContentPrompt:
    """Record that the user posted this draft (allowed from DRAFT only)."""
    return _move(session, user, prompt_id, ContentPromptStatus.POSTED)


def archive_prompt(session: Session, *, user: User, prompt_id: uuid.UUID) -> ContentPrompt:
    """Put a draft away, posted or not."""
    return _move(session, user, prompt_id, ContentPromptStatus.ARCHIVED)


def list_prompts(
    session: Session, *, user: User, status: ContentPromptStatus | None = None
) -> list[ContentPrompt]:
    """The user's saved drafts, newest first, optionally only those with ``status``."""
    query = select(ContentPrompt).where(ContentPrompt.user_id == user.id)
    if status is not None:
        query = query.where(ContentPrompt.status == status)
    return list(session.scalars(query.order_by(ContentPrompt.saved_at.desc(), ContentPrompt.id)))
