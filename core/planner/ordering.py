"""Which actions make today's plan, and in what order: a pure function, no database.

The order (smaller :func:`priority` first) puts people before paperwork:

====  ==========================================================================================
rank  candidates
====  ==========================================================================================
1     FOLLOW_UP created by a reply: someone is waiting on you.
2     CALL_PREP for a call today or tomorrow (sooner call first). A prep made by hand, with no
      logged call, is taken as one of these: it is due, and walking into a call unprepared is the
      costliest miss of the day.
3     POST_CALL.
4     FOLLOW_UP overdue, most overdue first.
5     FOLLOW_UP due today.
6     CALL_PREP for a call two or more days out (a Friday prep for a Monday call): it is due, but
      the call can still wait behind the people who are waiting on you.
7     OUTREACH, oldest lead first (the lead who has waited longest for a first message).
8     NURTURE.
9     FAST_WIN actions other than the day's Fast Win: quick, but the least important relationships.
10    CONTENT, at most one a day.
11    CALL_PREP for a call that has already happened: useless now, offered only on a day with room
      to spare so the user can close it.
====  ==========================================================================================

Ties break by due date, then creation time, then id, so the order is total and the same candidates
always make the same plan. At most one action per lead per plan (the highest ranked).

**The Fast Win** (position 0) is a FAST_WIN action if one is due, else the candidate with the
smallest effort estimate (``EFFORT_MINUTES``; a tie goes to the higher-ranked one). It takes one of
the day's slots and its lead.

**Refresh** passes the items that must stay as ``keep``: they keep their slots, their leads and
their order, and the Fast Win is chosen among them by the same rule, so the morning's Fast Win stays
the Fast Win whether or not it is done. New candidates fill the free slots after them, in rank order.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import IntEnum

from core.actions.rules import EFFORT_MINUTES
from core.models import ActionOrigin, ActionType


class Rank(IntEnum):
    """The ranks of the table above (smaller comes first)."""

    REPLY = 1
    CALL_SOON = 2
    POST_CALL = 3
    OVERDUE_FOLLOW_UP = 4
    FOLLOW_UP = 5
    CALL_LATER = 6
    OUTREACH = 7
    NURTURE = 8
    FAST_WIN = 9
    CONTENT = 10
    CALL_PASSED = 11


@dataclass(frozen=True)
class Candidate:
    """What the ordering needs to know about one action (timestamps are timezone-aware).

    ``call_date`` is the date of the logged call behind a CALL_PREP or POST_CALL (None otherwise);
    ``lead_created_at`` is None for an action without a lead.
    """

    action_id: uuid.UUID
    lead_id: uuid.UUID | None
    action_type: ActionType
    origin: ActionOrigin
    due_date: date
    created_at: datetime
    lead_created_at: datetime | None = None
    call_date: date | None = None

    @property
    def minutes(self) -> int:
        return EFFORT_MINUTES[self.action_type]


@dataclass(frozen=True)
class Chosen:
    """A candidate at its place in the plan; ``is_fast_win`` only for position 0."""

    candidate: Candidate
    is_fast_win: bool


def rank(candidate: Candidate, *, today: date) -> Rank:
    """The rank of ``candidate`` on the user's local ``today`` (see the module's table)."""
    kind = candidate.action_type
    if kind is ActionType.FOLLOW_UP:
        if candidate.origin is ActionOrigin.REPLY:
            return Rank.REPLY
        return Rank.OVERDUE_FOLLOW_UP if candidate.due_date < today else Rank.FOLLOW_UP
    if kind is ActionType.CALL_PREP:
        call = candidate.call_date
        if call is None or today <= call <= today + timedelta(days=1):
            return Rank.CALL_SOON
        return Rank.CALL_PASSED if call < today else Rank.CALL_LATER
    return _RANK_OF_TYPE[kind]


_RANK_OF_TYPE = {
    ActionType.POST_CALL: Rank.POST_CALL,
    ActionType.OUTREACH: Rank.OUTREACH,
    ActionType.NURTURE: Rank.NURTURE,
    ActionType.FAST_WIN: Rank.FAST_WIN,
    ActionType.CONTENT: Rank.CONTENT,
}


def priority(candidate: Candidate, *, today: date) -> tuple:
    """The sort key of ``candidate`` (smaller first): rank, the rank's own order, then the ties.

    Within a rank, calls come soonest call first and outreach oldest lead first (an outreach with
    no lead counts from its own creation); then due date, creation time and id.
    """
    position = rank(candidate, today=today)
    within: float = 0
    if position in (Rank.CALL_SOON, Rank.CALL_LATER, Rank.CALL_PASSED):
        within = (candidate.call_date or today).toordinal()
    elif position is Rank.OUTREACH:
        within = (candidate.lead_created_at or candidate.created_at).timestamp()
    return (position, within, candidate.due_date, candidate.created_at, candidate.action_id)


def fast_win(pool: Sequence[Candidate], *, today: date) -> Candidate | None:
    """The Fast Win of ``pool``: a FAST_WIN action if any, else the smallest effort (rank breaks ties)."""
    if not pool:
        return None
    wins = [c for c in pool if c.action_type is ActionType.FAST_WIN]
    if wins:
        return min(wins, key=lambda c: priority(c, today=today))
    return min(pool, key=lambda c: (c.minutes, priority(c, today=today)))


def choose(
    candidates: Sequence[Candidate], *, slots: int, today: date, keep: Sequence[Candidate] = ()
) -> list[Chosen]:
    """Today's plan, in order: the Fast Win, then the kept items, then the best candidates.

    ``slots`` counts every item, the Fast Win and the kept ones included; ``keep`` is never cut, even
    when it alone fills more than ``slots`` (the caller decides what may be dropped). A candidate
    that is also in ``keep`` is not planned twice.
    """
    kept_ids = {c.action_id for c in keep}
    ranked = sorted((c for c in candidates if c.action_id not in kept_ids), key=lambda c: priority(c, today=today))
    first = fast_win(keep, today=today) if keep else (fast_win(ranked, today=today) if slots > 0 else None)
    plan: list[Candidate] = [first] if first is not None else []
    plan += [c for c in keep if c is not first]
    leads = {c.lead_id for c in plan if c.lead_id is not None}
    has_content = any(c.action_type is ActionType.CONTENT for c in plan)
    for candidate in ranked:
        if len(plan) >= slots:
            break
        if candidate is first or candidate.lead_id in leads:
            continue
        if candidate.action_type is ActionType.CONTENT:
            if has_content:
                continue
            has_content = True
        plan.append(candidate)
        if candidate.lead_id is not None:
            leads.add(candidate.lead_id)
    return [Chosen(candidate, candidate is first) for candidate in plan]
