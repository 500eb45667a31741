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
always make the same plan.

**Slots** (``slots``, the day's capacity) count leads: each lead in the plan, and each item without a
lead, takes one slot, and a lead has one action per plan, its highest ranked, replies aside: a
lead's replies never stand in for that action (a lead who replied and has a call tomorrow gets the
reply and the call's prep, in one slot), and no quicker action of the lead takes its place.

**A reply is never left out.** Every due FOLLOW_UP created by a reply is in the plan. When its lead
already holds a slot (the action it answers, now settled, or the Fast Win) it takes that slot: the
plan shows one item more but no lead more, and nothing is pushed out for it. A reply whose lead is
not in the plan takes a free slot; when there is none, the last open item makes room for it (as when
capacity is lowered: the user will reach the reply first); only when nothing open is left to make
room does the plan go past capacity. A reply that joins an existing plan goes straight after the
Fast Win: it is the next thing to do. When a plan is built or refreshed, a lead in it through its
replies alone still takes its own action, in the slot the replies hold (it pushes nothing out).

**The Fast Win** (position 0), as PRODUCT.md has it: a FAST_WIN action if one is due, else the
candidate with the smallest effort estimate (``EFFORT_MINUTES``; a tie goes to the higher-ranked
one), however long that takes: a new user's day of 10-minute outreach starts with one of them, the
oldest lead's. It is chosen among the actions the plan may hold (every reply, each lead's
highest-ranked other action, every item without a lead), so it never pushes out a higher-ranked
action of its own lead. The Fast Win takes one of the day's slots and its lead; when the replies
leave it no slot, it is chosen among them.

**Refresh** passes the items already in the plan as ``keep``, in their order, which they keep.
Settled ones (the user acted on them) are never dropped; open ones are dropped from the end when
they no longer fit (the capacity was lowered, or a reply needs the room). The morning's Fast Win
stays the Fast Win, done or not, as long as it is in the plan; if it left (or the plan never had
one, as a plan made when the Fast Win had to take 5 minutes at most may not), the Fast Win is
chosen by the same rule among the items that stay and the new replies, never among new fill, which
would jump ahead of what the user was shown. New candidates fill the free slots after the kept
items, in rank order. One exception to a kept item holding its lead: the prep of a call today or
tomorrow (rank 2) that came due since (a call just logged) takes the place of its lead's open item,
the lead keeping its one slot and its place, as a plan built afresh would have it; walking into the
call unprepared is the costliest miss of the day. Any other new action of a lead already in the plan
waits for the next plan, so what the user was shown stays put.
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


@dataclass(frozen=True)
class Kept:
    """An item of the plan being refreshed: ``settled`` once the user acted on it (it is never
    dropped), ``is_fast_win`` as the plan has it."""

    candidate: Candidate
    settled: bool = False
    is_fast_win: bool = False


def is_reply(candidate: Candidate) -> bool:
    """A FOLLOW_UP created by a reply: someone is waiting on you."""
    return candidate.action_type is ActionType.FOLLOW_UP and candidate.origin is ActionOrigin.REPLY


def rank(candidate: Candidate, *, today: date) -> Rank:
    """The rank of ``candidate`` on the user's local ``today`` (see the module's table)."""
    kind = candidate.action_type
    if is_reply(candidate):
        return Rank.REPLY
    if kind is ActionType.FOLLOW_UP:
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
    """The Fast Win of ``pool``: a FAST_WIN action if any, else the smallest effort (rank breaks
    ties); None only for an empty pool."""
    return min(pool, key=lambda c: (c.action_type is not ActionType.FAST_WIN, c.minutes, priority(c, today=today)),
               default=None)


def one_per_lead(ranked: Sequence[Candidate]) -> list[Candidate]:
    """What a plan may hold of ``ranked`` (in rank order): every reply, each lead's highest-ranked
    other action, every item without a lead."""
    seen: set[uuid.UUID] = set()
    allowed = []
    for candidate in ranked:
        lead = candidate.lead_id
        if lead is not None and not is_reply(candidate):
            if lead in seen:
                continue
            seen.add(lead)
        allowed.append(candidate)
    return allowed


def slots_taken(items: Sequence[Candidate]) -> int:
    """How many of the day's slots ``items`` fill: one per lead, one per item without a lead."""
    leads = {c.lead_id for c in items if c.lead_id is not None}
    return len(leads) + sum(1 for c in items if c.lead_id is None)


def choose(
    candidates: Sequence[Candidate], *, slots: int, today: date, keep: Sequence[Kept] = ()
) -> list[Chosen]:
    """Today's plan, in order: the Fast Win, new replies, the kept items, then the best candidates.

    ``slots`` is the day's capacity (the module's rules say what a slot is and when a reply goes
    past it); ``keep`` is the plan being refreshed, in its order. A candidate that is also kept is
    not planned twice. A lead in the plan through its replies alone still takes its own action,
    in the slot the replies hold.
    """
    kept_ids = {k.candidate.action_id for k in keep}
    ranked = one_per_lead(sorted((c for c in candidates if c.action_id not in kept_ids),
                                 key=lambda c: priority(c, today=today)))
    keep = _prep_in_place(keep, ranked=ranked, today=today)
    replies = [c for c in ranked if is_reply(c)]
    staying = [k.candidate for k in _staying(keep, replies=replies, slots=slots)]
    first = _first(keep, staying=staying, replies=replies, ranked=ranked, slots=slots, today=today)
    plan = ([first] if first is not None else []) + [c for c in [*replies, *staying] if c is not first]
    planned = {c.action_id for c in plan}
    leads = {c.lead_id for c in plan if c.lead_id is not None}
    acting = {c.lead_id for c in plan if c.lead_id is not None and not is_reply(c)}
    taken = slots_taken(plan)
    has_content = any(c.action_type is ActionType.CONTENT for c in plan)
    for candidate in ranked:
        if candidate.action_id in planned or candidate.lead_id in acting:
            continue
        shares_slot = candidate.lead_id in leads
        if taken >= slots and not shares_slot:
            continue
        if candidate.action_type is ActionType.CONTENT:
            if has_content:
                continue
            has_content = True
        plan.append(candidate)
        if candidate.lead_id is not None:
            leads.add(candidate.lead_id)
            acting.add(candidate.lead_id)
        if not shares_slot:
            taken += 1
    return [Chosen(candidate, candidate is first) for candidate in plan]


def _prep_in_place(keep: Sequence[Kept], *, ranked: Sequence[Candidate], today: date) -> list[Kept]:
    """``keep`` with each open item that is its lead's action replaced, in its place, by that lead's
    prep for a call today or tomorrow in ``ranked`` (module rules). The prep is no Fast Win: the
    morning's left, and the Fast Win is chosen again among what stays."""
    preps = {c.lead_id: c for c in ranked if c.lead_id is not None and rank(c, today=today) is Rank.CALL_SOON}
    kept = []
    for entry in keep:
        mine = entry.candidate
        prep = None if entry.settled or is_reply(mine) or mine.lead_id is None else preps.get(mine.lead_id)
        if prep is not None and priority(prep, today=today) < priority(mine, today=today):
            kept.append(Kept(prep))
        else:
            kept.append(entry)
    return kept


def _staying(keep: Sequence[Kept], *, replies: Sequence[Candidate], slots: int) -> list[Kept]:
    """The kept items that stay, in their order: settled ones and replies always; an open one if it
    still fits beside them, the new ``replies`` and the open ones before it (so the last make room)."""
    held = [k.candidate for k in keep if _always_stays(k)] + list(replies)
    staying = []
    for entry in keep:
        if _always_stays(entry):
            staying.append(entry)
        elif slots_taken([*held, entry.candidate]) <= slots:
            staying.append(entry)
            held.append(entry.candidate)
    return staying


def _always_stays(entry: Kept) -> bool:
    return entry.settled or is_reply(entry.candidate)


def _first(
    keep: Sequence[Kept], *, staying: Sequence[Candidate], replies: Sequence[Candidate],
    ranked: Sequence[Candidate], slots: int, today: date,
) -> Candidate | None:
    """The Fast Win (module rules): on a refresh the morning's if it stayed, else one of the items that
    stay; on a new plan the best of ``ranked`` (which holds one action per lead, replies aside), unless
    the replies leave it no slot."""
    if keep:
        morning = next((k.candidate for k in keep if k.is_fast_win and k.candidate in staying), None)
        return morning if morning is not None else fast_win([*staying, *replies], today=today)
    first = fast_win(ranked, today=today)
    if first is not None and slots_taken([*replies, first]) > slots:
        return fast_win(replies, today=today)
    return first
