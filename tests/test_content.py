"""Content drafts saved from a weekly summary: saved once, then posted or archived."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from core.db import unit_of_work
from core.errors import InvalidTransition, NotFound, ValidationError
from core.models import ContentPromptStatus, ContentPromptType, User, WeeklySummary
from core.summaries.content import archive_prompt, list_prompts, mark_posted, save_draft
from tests.factories import make_user

WIN, INSIGHT = ContentPromptType.WIN_POST, ContentPromptType.INSIGHT_POST
DRAFT, POSTED, ARCHIVED = ContentPromptStatus.DRAFT, ContentPromptStatus.POSTED, ContentPromptStatus.ARCHIVED


def summary_for(session: Session, user: User, week_start: date = date(2026, 11, 16), **fields: object) -> WeeklySummary:
    fields.setdefault("win_post_draft", f"Win of the week of {week_start}")
    fields.setdefault("insight_post_draft", f"Insight of the week of {week_start}")
    summary = WeeklySummary(user_id=user.id, week_start_date=week_start, insight_text="i", next_week_focus="f",
                            **fields)
    session.add(summary)
    session.flush()
    return summary


@pytest.fixture()
def user(service: Session) -> User:
    return make_user(service)


def test_saving_a_draft_copies_it_and_saving_it_again_keeps_one(service: Session, user: User) -> None:
    summary = summary_for(service, user)
    win = save_draft(service, user=user, summary_id=summary.id, kind=WIN)
    assert (win.status, win.type, win.content) == (DRAFT, WIN, "Win of the week of 2026-11-16")
    assert win.weekly_summary_id == summary.id and win.user_id == user.id
    assert save_draft(service, user=user, summary_id=summary.id, kind=WIN).id == win.id
    insight = save_draft(service, user=user, summary_id=summary.id, kind=INSIGHT)
    assert insight.id != win.id and insight.content == "Insight of the week of 2026-11-16"
    assert {p.id for p in list_prompts(service, user=user)} == {win.id, insight.id}


def test_saving_again_does_not_bring_back_an_archived_draft(service: Session, user: User) -> None:
    summary = summary_for(service, user)
    prompt = save_draft(service, user=user, summary_id=summary.id, kind=WIN)
    archive_prompt(service, user=user, prompt_id=prompt.id)
    again = save_draft(service, user=user, summary_id=summary.id, kind=WIN)
    assert (again.id, again.status) == (prompt.id, ARCHIVED)


def test_a_summary_without_that_draft_is_refused(service: Session, user: User) -> None:
    summary = summary_for(service, user, insight_post_draft=None)
    with pytest.raises(ValidationError, match="the summary of the week of 16 Nov has no insight post"):
        save_draft(service, user=user, summary_id=summary.id, kind=INSIGHT)
    assert list_prompts(service, user=user) == []


def test_draft_then_posted_then_archived(service: Session, user: User) -> None:
    prompt = save_draft(service, user=user, summary_id=summary_for(service, user).id, kind=WIN)
    assert mark_posted(service, user=user, prompt_id=prompt.id).status == POSTED
    assert mark_posted(service, user=user, prompt_id=prompt.id).status == POSTED  # a double click
    assert archive_prompt(service, user=user, prompt_id=prompt.id).status == ARCHIVED
    assert archive_prompt(service, user=user, prompt_id=prompt.id).status == ARCHIVED


def test_an_archived_draft_cannot_be_marked_posted(service: Session, user: User) -> None:
    prompt = save_draft(service, user=user, summary_id=summary_for(service, user).id, kind=INSIGHT)
    archive_prompt(service, user=user, prompt_id=prompt.id)
    with pytest.raises(InvalidTransition, match="this draft is archived, so it cannot be marked posted"):
        mark_posted(service, user=user, prompt_id=prompt.id)
    service.expire(prompt)
    assert prompt.status == ARCHIVED


def test_someone_elses_summary_or_draft_is_not_found(service: Session, user: User) -> None:
    other = make_user(service)
    theirs = save_draft(service, user=other, summary_id=summary_for(service, other).id, kind=WIN)
    with pytest.raises(NotFound, match="that weekly summary does not exist"):
        save_draft(service, user=user, summary_id=theirs.weekly_summary_id, kind=WIN)
    for change in (mark_posted, archive_prompt):
        with pytest.raises(NotFound, match="that saved draft does not exist"):
            change(service, user=user, prompt_id=theirs.id)
        with pytest.raises(NotFound):
            change(service, user=user, prompt_id=uuid.uuid4())
    service.expire(theirs)
    assert theirs.status == DRAFT
    assert list_prompts(service, user=user) == []


def test_list_filters_by_status_newest_first(service: Session, user: User) -> None:
    weeks = [date(2026, 11, 2) + timedelta(weeks=n) for n in range(3)]
    prompts = []
    for week in weeks:
        prompt = save_draft(service, user=user, summary_id=summary_for(service, user, week).id, kind=WIN)
        prompt.saved_at = prompt.saved_at + timedelta(minutes=len(prompts))  # one transaction: same now()
        prompts.append(prompt)
    service.flush()
    mark_posted(service, user=user, prompt_id=prompts[0].id)
    archive_prompt(service, user=user, prompt_id=prompts[1].id)
    assert [p.id for p in list_prompts(service, user=user)] == [p.id for p in reversed(prompts)]
    assert [p.id for p in list_prompts(service, user=user, status=DRAFT)] == [prompts[2].id]
    assert [p.id for p in list_prompts(service, user=user, status=POSTED)] == [prompts[0].id]
    assert [p.id for p in list_prompts(service, user=user, status=ARCHIVED)] == [prompts[1].id]


def test_a_user_saves_and_posts_under_row_level_security(service: Session, user: User) -> None:
    summary_id = summary_for(service, user).id
    with unit_of_work(user_id=user.id) as session:
        me = session.get(User, user.id)
        prompt = save_draft(session, user=me, summary_id=summary_id, kind=WIN)
        mark_posted(session, user=me, prompt_id=prompt.id)
        assert [p.status for p in list_prompts(session, user=me)] == [POSTED]
