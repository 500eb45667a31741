"""Content drafts saved from a weekly summary: saved once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy.orm import Session

from core.db import unit_of_work
from core.errors import NotFound, ValidationError
from core.models import ContentPromptStatus, ContentPromptType, User, WeeklySummary
from core.summaries.content import list_prompts, save_draft
from tests.factories import make_user

WIN, INSIGHT = ContentPromptType.WIN_POST, ContentPromptType.INSIGHT_POST
DRAFT = ContentPromptStatus.DRAFT


def summary_for(session: Session, user: User, week_start: date = date(2026, 11, 16), **fields: object) -> WeeklySummary:
    fields.setdefault("win_post_draft", f"Win of the week of {week_start}")
    fields.setdefault("insight_post_draft", f"Insight of the week of {week_start}")
    summary = WeeklySummary(user_id=user.id, week_start_date=week_start, timezone=user.timezone, insight_text="i",
                            next_week_focus="f", **fields)
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


def test_a_summary_without_that_draft_is_refused(service: Session, user: User) -> None:
    """The week is named as the summary's title names it, from the user's today (its year months on)."""
    summary = summary_for(service, user, insight_post_draft=None)
    for now, week in ((datetime(2026, 11, 25, 12, tzinfo=UTC), "16–22 Nov"),
                      (datetime(2027, 4, 7, 12, tzinfo=UTC), "16–22 Nov 2026")):
        with time_machine.travel(now, tick=False), pytest.raises(
                ValidationError, match=f"^the summary of the week of {week} has no insight post$"):
            save_draft(service, user=user, summary_id=summary.id, kind=INSIGHT)
    assert list_prompts(service, user=user) == []


def test_someone_elses_summary_is_not_found(service: Session, user: User) -> None:
    other = make_user(service)
    theirs = save_draft(service, user=other, summary_id=summary_for(service, other).id, kind=WIN)
    with pytest.raises(NotFound, match="that weekly summary does not exist"):
        save_draft(service, user=user, summary_id=theirs.weekly_summary_id, kind=WIN)
    assert list_prompts(service, user=user) == []


def test_list_is_newest_first(service: Session, user: User) -> None:
    weeks = [date(2026, 11, 2) + timedelta(weeks=n) for n in range(3)]
    prompts = []
    for week in weeks:
        prompt = save_draft(service, user=user, summary_id=summary_for(service, user, week).id, kind=WIN)
        prompt.saved_at = prompt.saved_at + timedelta(minutes=len(prompts))  # one transaction: same now()
        prompts.append(prompt)
    service.flush()
    assert [p.id for p in list_prompts(service, user=user)] == [p.id for p in reversed(prompts)]


def test_a_user_saves_under_row_level_security(service: Session, user: User) -> None:
    summary_id = summary_for(service, user).id
    with unit_of_work(user_id=user.id) as session:
        me = session.get(User, user.id)
        prompt = save_draft(session, user=me, summary_id=summary_id, kind=WIN)
        assert [(p.id, p.status) for p in list_prompts(session, user=me)] == [(prompt.id, DRAFT)]
