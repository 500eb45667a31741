"""The plan's order and the Fast Win, as unit tests of the pure function (no database)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from core.models import ActionOrigin, ActionType
from core.planner.ordering import Candidate, Chosen, Kept, choose, priority

TODAY = date(2026, 11, 25)  # a Wednesday
MORNING = datetime(2026, 11, 25, 8, tzinfo=UTC)


def cand(
    action_type: ActionType = ActionType.OUTREACH,
    *,
    origin: ActionOrigin = ActionOrigin.USER,
    due: date = TODAY,
    created: datetime = MORNING,
    lead: uuid.UUID | str | None = "new",
    lead_created: datetime | None = None,
    call: date | None = None,
    action_id: uuid.UUID | None = None,
) -> Candidate:
    lead_id = uuid.uuid4() if lead == "new" else lead
    return Candidate(
        action_id=action_id or uuid.uuid4(), lead_id=lead_id, action_type=action_type, origin=origin,
        due_date=due, created_at=created, lead_created_at=lead_created or (created if lead_id else None),
        call_date=call,
    )


def order(*candidates: Candidate) -> list[Candidate]:
    return sorted(candidates, key=lambda c: priority(c, today=TODAY))


def plan(candidates: list[Candidate], *, slots: int = 8, keep: list[Kept] | None = None) -> list[Candidate]:
    return [chosen.candidate for chosen in choose(candidates, slots=slots, today=TODAY, keep=keep or ())]


def fast_wins(chosen: list[Chosen]) -> list[Candidate]:
    return [c.candidate for c in chosen if c.is_fast_win]


def reply_to(lead: uuid.UUID | str | None = "new") -> Candidate:
    return cand(ActionType.FOLLOW_UP, origin=ActionOrigin.REPLY, lead=lead)


def test_the_ranks_follow_the_product_order() -> None:
    ladder = [
        cand(ActionType.FOLLOW_UP, origin=ActionOrigin.REPLY),
        cand(ActionType.CALL_PREP, origin=ActionOrigin.CALL, call=TODAY + timedelta(days=1)),
        cand(ActionType.POST_CALL, origin=ActionOrigin.CALL, due=TODAY - timedelta(days=1)),
        cand(ActionType.FOLLOW_UP, origin=ActionOrigin.SENT, due=TODAY - timedelta(days=2)),
        cand(ActionType.FOLLOW_UP, origin=ActionOrigin.SENT),
        cand(ActionType.CALL_PREP, origin=ActionOrigin.CALL, call=TODAY + timedelta(days=5)),
        cand(ActionType.OUTREACH, origin=ActionOrigin.LEAD_ADDED, due=TODAY - timedelta(days=9)),
        cand(ActionType.NURTURE, origin=ActionOrigin.COLD, due=TODAY - timedelta(days=9)),
        cand(ActionType.FAST_WIN, due=TODAY - timedelta(days=9)),
        cand(ActionType.CONTENT, lead=None, due=TODAY - timedelta(days=9)),
        cand(ActionType.CALL_PREP, origin=ActionOrigin.CALL, call=TODAY - timedelta(days=1)),
    ]
    assert order(*reversed(ladder)) == ladder


def test_a_reply_follow_up_beats_an_older_overdue_follow_up() -> None:
    reply = cand(ActionType.FOLLOW_UP, origin=ActionOrigin.REPLY)
    overdue = cand(ActionType.FOLLOW_UP, origin=ActionOrigin.SENT, due=TODAY - timedelta(days=10))
    assert order(overdue, reply) == [reply, overdue]


def test_call_prep_for_today_comes_before_tomorrow_and_a_hand_made_prep_counts_as_soon() -> None:
    tomorrow = cand(ActionType.CALL_PREP, origin=ActionOrigin.CALL, call=TODAY + timedelta(days=1),
                    created=MORNING - timedelta(days=3))
    today = cand(ActionType.CALL_PREP, origin=ActionOrigin.CALL, call=TODAY)
    by_hand = cand(ActionType.CALL_PREP, call=None, created=MORNING + timedelta(hours=1))
    post_call = cand(ActionType.POST_CALL, origin=ActionOrigin.CALL, due=TODAY - timedelta(days=3))
    assert order(post_call, tomorrow, by_hand, today) == [today, by_hand, tomorrow, post_call]


def test_overdue_follow_ups_come_most_overdue_first() -> None:
    one = cand(ActionType.FOLLOW_UP, due=TODAY - timedelta(days=1))
    five = cand(ActionType.FOLLOW_UP, due=TODAY - timedelta(days=5))
    three = cand(ActionType.FOLLOW_UP, due=TODAY - timedelta(days=3))
    assert order(one, five, three) == [five, three, one]


def test_outreach_goes_to_the_oldest_lead_first_whatever_the_due_dates() -> None:
    old_lead = cand(ActionType.OUTREACH, lead_created=MORNING - timedelta(days=30), due=TODAY)
    new_lead = cand(ActionType.OUTREACH, lead_created=MORNING - timedelta(days=1), due=TODAY - timedelta(days=1))
    assert order(new_lead, old_lead) == [old_lead, new_lead]


def test_ties_break_by_due_date_then_creation_then_id() -> None:
    late_due = cand(ActionType.NURTURE, due=TODAY)
    early_due = cand(ActionType.NURTURE, due=TODAY - timedelta(days=1), created=MORNING + timedelta(hours=1))
    assert order(late_due, early_due) == [early_due, late_due]

    older = cand(ActionType.NURTURE, created=MORNING - timedelta(hours=1))
    newer = cand(ActionType.NURTURE, created=MORNING)
    assert order(newer, older) == [older, newer]

    low, high = sorted([uuid.uuid4(), uuid.uuid4()])
    second = cand(ActionType.NURTURE, action_id=high)
    first = cand(ActionType.NURTURE, action_id=low)
    assert order(second, first) == [first, second]


def test_one_action_per_lead_the_best_ranked_one_replies_aside() -> None:
    """PRODUCT.md: "At most one action per lead per plan", and the module's "replies aside": the
    lead's reply and its best other action share one slot; its lower-ranked actions stay out."""
    lead = uuid.uuid4()
    prep = cand(ActionType.CALL_PREP, origin=ActionOrigin.CALL, lead=lead, call=TODAY + timedelta(days=1))
    overdue = cand(ActionType.FOLLOW_UP, origin=ActionOrigin.SENT, lead=lead, due=TODAY - timedelta(days=2))
    outreach = cand(ActionType.OUTREACH, lead=lead)
    reply = reply_to(lead)
    other = cand(ActionType.NURTURE)
    fast = cand(ActionType.FAST_WIN, lead=None)
    assert plan([outreach, other, overdue, reply, prep, fast], slots=3) == [fast, reply, prep, other]


def test_the_fast_win_never_pushes_out_a_higher_ranked_action_of_its_lead() -> None:
    """PRODUCT.md: "2. CALL_PREP for a call today or tomorrow … 3. overdue FOLLOW_UP … At most one
    action per lead per plan": the lead's 5-minute follow-up, ranked above a 5-minute nurture, is
    not the Fast Win in place of its call's prep; the prep is planned, the nurture is the Fast Win."""
    lead = uuid.uuid4()
    prep = cand(ActionType.CALL_PREP, origin=ActionOrigin.CALL, lead=lead, call=TODAY)
    overdue = cand(ActionType.FOLLOW_UP, origin=ActionOrigin.SENT, lead=lead, due=TODAY - timedelta(days=1))
    nurture = cand(ActionType.NURTURE)
    chosen = choose([overdue, prep, nurture], slots=5, today=TODAY)
    assert [c.candidate for c in chosen] == [nurture, prep] and fast_wins(chosen) == [nurture]
    assert plan([overdue, prep]) == [prep]


def test_a_fast_win_action_of_a_lead_with_a_better_action_is_not_the_fast_win() -> None:
    lead = uuid.uuid4()
    fast_of_lead, outreach_of_lead = cand(ActionType.FAST_WIN, lead=lead), cand(lead=lead)
    nurture = cand(ActionType.NURTURE)
    chosen = choose([fast_of_lead, outreach_of_lead, nurture], slots=5, today=TODAY)
    assert [c.candidate for c in chosen] == [nurture, outreach_of_lead] and fast_wins(chosen) == [nurture]


def test_a_lead_in_a_full_plan_through_its_reply_still_takes_its_best_action() -> None:
    """The reply holds the lead's slot; the lead's prep shares it, even on a one-slot day."""
    lead = uuid.uuid4()
    reply, prep = reply_to(lead), cand(ActionType.CALL_PREP, origin=ActionOrigin.CALL, lead=lead, call=TODAY)
    assert plan([prep, reply, cand(ActionType.NURTURE)], slots=1) == [reply, prep]


def test_actions_without_a_lead_are_not_limited_to_one() -> None:
    a, b = cand(ActionType.NURTURE, lead=None), cand(ActionType.NURTURE, lead=None)
    assert len(plan([a, b])) == 2


def test_content_at_most_once_a_day() -> None:
    posts = [cand(ActionType.CONTENT, lead=None, created=MORNING + timedelta(minutes=i)) for i in range(3)]
    fast = cand(ActionType.FAST_WIN, lead=None)
    assert plan([*posts, fast]) == [fast, posts[0]]


def test_content_kept_from_the_morning_stops_another() -> None:
    kept = cand(ActionType.CONTENT, lead=None)
    assert plan([cand(ActionType.CONTENT, lead=None)], keep=[Kept(kept)]) == [kept]


def test_a_due_fast_win_action_is_the_fast_win_even_against_a_waiting_reply() -> None:
    reply = cand(ActionType.FOLLOW_UP, origin=ActionOrigin.REPLY)
    fast = cand(ActionType.FAST_WIN, due=TODAY - timedelta(days=2))
    chosen = choose([reply, fast], slots=5, today=TODAY)
    assert [(c.candidate, c.is_fast_win) for c in chosen] == [(fast, True), (reply, False)]


def test_a_second_fast_win_action_ranks_after_nurture_and_before_content() -> None:
    first = cand(ActionType.FAST_WIN, due=TODAY - timedelta(days=1))
    second = cand(ActionType.FAST_WIN)
    nurture, content = cand(ActionType.NURTURE), cand(ActionType.CONTENT, lead=None)
    assert plan([content, second, nurture, first]) == [first, nurture, second, content]


def test_without_a_fast_win_action_the_smallest_effort_leads_and_rank_breaks_the_tie() -> None:
    outreach = cand(ActionType.OUTREACH)  # 10 min
    prep = cand(ActionType.CALL_PREP, call=TODAY)  # 15 min, ranked higher
    nurture = cand(ActionType.NURTURE)  # 5 min
    follow_up = cand(ActionType.FOLLOW_UP)  # 5 min, ranked above nurture
    chosen = choose([outreach, prep, nurture, follow_up], slots=5, today=TODAY)
    assert [c.candidate for c in chosen] == [follow_up, prep, outreach, nurture]
    assert [c.is_fast_win for c in chosen] == [True, False, False, False]


@pytest.mark.parametrize("slots", [1, 3, 5, 8])
def test_slots_are_respected_fast_win_included(slots: int) -> None:
    candidates = [cand(ActionType.NURTURE) for _ in range(12)]
    chosen = choose(candidates, slots=slots, today=TODAY)
    assert len(chosen) == slots and chosen[0].is_fast_win and not any(c.is_fast_win for c in chosen[1:])


def test_a_micro_day_is_the_fast_win_alone() -> None:
    reply = cand(ActionType.FOLLOW_UP, origin=ActionOrigin.REPLY)
    outreach = cand(ActionType.OUTREACH)
    assert plan([outreach, reply], slots=1) == [reply]


def test_no_candidates_no_plan() -> None:
    assert choose([], slots=5, today=TODAY) == []


def test_kept_items_hold_their_slots_order_and_leads_and_keep_the_fast_win() -> None:
    lead = uuid.uuid4()
    morning_fast = cand(ActionType.NURTURE)
    kept = cand(ActionType.OUTREACH, lead=lead)
    same_lead = cand(ActionType.FOLLOW_UP, origin=ActionOrigin.SENT, lead=lead, due=TODAY - timedelta(days=3))
    newer_fast = cand(ActionType.FAST_WIN)
    filler = [cand(ActionType.OUTREACH, lead_created=MORNING - timedelta(days=i)) for i in (1, 2, 3)]
    chosen = choose([same_lead, newer_fast, *filler], slots=4, today=TODAY,
                    keep=[Kept(kept), Kept(morning_fast, is_fast_win=True)])
    assert [c.candidate for c in chosen] == [morning_fast, kept, filler[2], filler[1]]
    assert fast_wins(chosen) == [morning_fast]


def test_settled_items_are_never_cut_open_ones_are_cut_from_the_end() -> None:
    settled = [cand(ActionType.OUTREACH) for _ in range(3)]
    kept = [Kept(c, settled=True, is_fast_win=c is settled[0]) for c in settled]
    assert plan([cand(ActionType.NURTURE)], slots=1, keep=kept) == settled
    still_open = [cand(ActionType.OUTREACH) for _ in range(3)]
    assert plan([], slots=2, keep=[Kept(c, is_fast_win=c is still_open[0]) for c in still_open]) == still_open[:2]


def test_a_kept_item_offered_again_as_a_candidate_is_planned_once() -> None:
    item = cand(ActionType.OUTREACH)
    assert plan([item], keep=[Kept(item)]) == [item]


# --- a reply comes back today ------------------------------------------------------------------

def test_a_reply_shares_the_slot_of_the_action_it_answers_and_comes_right_after_the_fast_win() -> None:
    bea = uuid.uuid4()
    fast, answered, other = cand(ActionType.NURTURE), cand(ActionType.FOLLOW_UP, lead=bea), cand(ActionType.OUTREACH)
    reply = reply_to(bea)
    keep = [Kept(fast, is_fast_win=True), Kept(answered, settled=True), Kept(other)]
    chosen = choose([reply, cand(ActionType.OUTREACH)], slots=3, today=TODAY, keep=keep)
    assert [c.candidate for c in chosen] == [fast, reply, answered, other]  # one item more, nothing pushed out
    assert fast_wins(chosen) == [fast]


def test_a_reply_for_a_lead_not_in_the_plan_takes_the_room_of_the_last_open_item() -> None:
    first, second, last = cand(ActionType.NURTURE), cand(ActionType.OUTREACH), cand(ActionType.OUTREACH)
    reply = reply_to()
    chosen = choose([reply], slots=3, today=TODAY, keep=[Kept(first, is_fast_win=True), Kept(second), Kept(last)])
    assert [c.candidate for c in chosen] == [first, reply, second]


def test_with_nothing_open_to_make_room_a_reply_goes_past_capacity() -> None:
    settled = [cand(ActionType.OUTREACH) for _ in range(3)]
    reply = reply_to()
    assert plan([reply], slots=3, keep=[Kept(c, settled=True) for c in settled]) == [reply, *settled]


def test_a_new_plan_never_leaves_a_reply_out() -> None:
    fast, reply = cand(ActionType.FAST_WIN), reply_to()
    chosen = choose([fast, reply, cand(ActionType.OUTREACH)], slots=1, today=TODAY)
    assert [c.candidate for c in chosen] == [reply] and fast_wins(chosen) == [reply]

    lead = uuid.uuid4()
    fast_of_lead, reply_of_lead, outreach = cand(ActionType.FAST_WIN, lead=lead), reply_to(lead), cand()
    chosen = choose([fast_of_lead, reply_of_lead, outreach], slots=2, today=TODAY)
    assert [c.candidate for c in chosen] == [fast_of_lead, reply_of_lead, outreach]


def test_a_plan_with_a_reply_taken_in_is_stable_and_keeps_the_mornings_fast_win() -> None:
    """Refreshing again changes nothing: the reply does not push an item out later, nor take the Fast
    Win from a morning one just as quick but ranked lower."""
    bea = uuid.uuid4()
    morning_fast = cand(ActionType.FOLLOW_UP, origin=ActionOrigin.SENT)  # 5 minutes, like the reply
    answered, other = cand(ActionType.FOLLOW_UP, lead=bea, due=TODAY - timedelta(days=1)), cand()
    first = choose([reply_to(bea)], slots=3, today=TODAY,
                   keep=[Kept(morning_fast, is_fast_win=True), Kept(answered, settled=True), Kept(other)])
    again = choose([cand()], slots=3, today=TODAY,
                   keep=[Kept(c.candidate, settled=c.candidate is answered, is_fast_win=c.is_fast_win)
                         for c in first])
    assert again == first and fast_wins(again) == [morning_fast]


# --- the Fast Win is the quickest, however long that is ----------------------------------------

def test_without_anything_of_five_minutes_the_smallest_effort_is_the_fast_win() -> None:
    """PRODUCT.md: "a FAST_WIN action if one is due, else the candidate with the smallest effort
    estimate": no cap, so a day of 10-minute outreach and longer has its Fast Win too."""
    outreach, prep = cand(ActionType.OUTREACH), cand(ActionType.CALL_PREP, call=TODAY)  # 10 and 15 minutes
    content = cand(ActionType.CONTENT, lead=None)  # 20 minutes
    chosen = choose([outreach, prep, content], slots=5, today=TODAY)
    assert [c.candidate for c in chosen] == [outreach, prep, content] and fast_wins(chosen) == [outreach]
    posts = choose([content], slots=5, today=TODAY)
    assert [(c.candidate, c.is_fast_win) for c in posts] == [(content, True)]


def test_a_refresh_keeps_the_mornings_fast_win_and_new_fill_never_jumps_ahead() -> None:
    morning = [cand(ActionType.OUTREACH, lead_created=MORNING - timedelta(days=i)) for i in (2, 1)]
    newcomer = cand(ActionType.FAST_WIN)
    chosen = choose([newcomer], slots=5, today=TODAY, keep=[Kept(morning[0], is_fast_win=True), Kept(morning[1])])
    assert [c.candidate for c in chosen] == [*morning, newcomer] and fast_wins(chosen) == [morning[0]]


def test_a_refreshed_plan_without_a_fast_win_takes_one_among_its_own_items() -> None:
    """A plan made when the Fast Win had to take 5 minutes at most may have none: a refresh gives it
    one by the rule, among what stays (the quickest), never the new fill."""
    morning = [cand(ActionType.CALL_PREP, call=TODAY), cand(ActionType.OUTREACH)]
    newcomer = cand(ActionType.FAST_WIN)
    chosen = choose([newcomer], slots=5, today=TODAY, keep=[Kept(morning[0]), Kept(morning[1])])
    assert [c.candidate for c in chosen] == [morning[1], morning[0], newcomer] and fast_wins(chosen) == [morning[1]]


def test_on_a_refresh_a_prep_for_a_call_today_takes_its_leads_open_item_in_place() -> None:
    """A call logged today with a lead already in the plan: its prep takes the lead's place (one
    slot), the rest stays put; a prep for a call days away waits, as any other new action does."""
    bea, carl = uuid.uuid4(), uuid.uuid4()
    fast, beas = cand(ActionType.NURTURE), cand(ActionType.OUTREACH, lead=bea)
    carls = cand(ActionType.OUTREACH, lead=carl)
    keep = [Kept(fast, is_fast_win=True), Kept(beas), Kept(carls)]
    prep = cand(ActionType.CALL_PREP, origin=ActionOrigin.CALL, lead=bea, call=TODAY)
    assert plan([prep], slots=3, keep=keep) == [fast, prep, carls]
    later = cand(ActionType.CALL_PREP, origin=ActionOrigin.CALL, lead=bea, call=TODAY + timedelta(days=4))
    assert plan([later], slots=3, keep=keep) == [fast, beas, carls]
