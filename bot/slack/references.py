"""Which lead ``/nbm`` means, and which action ``/nbm done|sent|replied|snooze|unsnooze <n>`` means: a number in
today's plan, or a lead's name or link.

Numbers are the ones the plan shows, each item's own for the day (core.planner.view.PlanItem.number:
the morning's Fast Win is 1, an item that joins later gets the next unused number, and none moves to
another item), written ``2`` or ``#2`` as the answers print them (bot.slack.parsing.plan_number);
anything else (``²`` too) is a lead. A lead goes through the core's ``find_lead``: its link, else its
name (exact match first, else partial, spaces folded; several matches are refused with the names,
and with their links when some share a name, so the person can say more). A reference that is
neither is refused saying both what it may be: a lead's name or link, or a number of today's plan
(said before the plan is read, so a refused name waits on no calendar: ``read_reference``). For
that lead, the action meant is, in order:

1. its open item in today's plan;
2. for ``replied`` or ``done``, its action waiting for a reply (a reply rarely comes on a day the
   action is planned);
3. its open action due today or earlier, soonest first;
4. its item in today's plan whatever its state, so a repeat answers "already done" rather than
   "not found".

For ``unsnooze`` a lead means its snoozed action, the one coming back soonest (a snoozed action is
no plan's open item and not due); none is refused saying so. Another mark that finds no action
for a lead with a snoozed one says when it comes back, and that ``/nbm unsnooze`` brings it back
now. A plan number means the plan's item whatever its state, as for every mark, and the core
refuses it unless it is snoozed.

A number typed when today's plan did not exist before the command marks nothing: the plan is made
for it, so the number cannot be one the person read in it (they were reading yesterday's plan DM, or
an older message), and its item there is one they have never seen. The listener shows the plan made
(as ``/nbm today`` does) and answers with :func:`number_before_plan`: the numbers refer to this plan,
so type the command again with one from it. A lead's name or link means the same action whenever the
plan was made, and marks at once.

Without service no plan is made (core.billing.status.NoService): a lead still finds its action (the
user's actions stay theirs to mark), and a number, which only a plan gives, is answered with why
there is none.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.slack.parsing import plan_number
from core.actions.marks import UNSNOOZE, Mark
from core.actions.service import list_actions, list_waiting
from core.billing.status import NoService
from core.clock import local_today
from core.errors import NotFound, ValidationError
from core.lead_lookup import find_lead, leads_named
from core.models import Action, ActionState, Lead, User
from core.planner.titles import action_title
from core.planner.view import PlanView
from core.text import plural, short_date_from

#: The other reference to an action that ``/nbm done|sent|replied|snooze|unsnooze`` accepts, as a refused
#: name offers it (before the plan is read: its numbers are not known yet).
PLAN_NUMBER = "a number from today's plan (`/nbm today`)"


@dataclass(frozen=True)
class Target:
    """The action meant; ``number`` is its number in today's plan when it was named by that number,
    which the answer repeats so that a number that moved since the person read it shows at once."""

    action_id: uuid.UUID
    title: str
    number: int | None = None


#: What a person typed to name an action, checked as far as it can be without today's plan: a plan
#: number's decimal digits (checked against the plan later), or the one lead a name or link names.
Reference = str | Lead


def read_reference(session: Session, *, user: User, ref: str) -> Reference:
    """``ref`` as a :data:`Reference`; nothing typed, or a name or link that is not exactly one of the
    user's leads, is refused."""
    ref = ref.strip()
    if not ref:
        raise ValidationError("say which action: its number in today's plan (`/nbm done 2`) or a lead's name "
                              "or link (`/nbm done Ann Lee`)")
    digits = plan_number(ref)
    if digits is not None:
        return digits
    return one_lead(session, user=user, ref=ref, also=PLAN_NUMBER)


def resolve_action(session: Session, *, user: User, view: PlanView | NoService, ref: Reference,
                   target: ActionState) -> Target:
    """The action ``ref`` (a plan number, or a lead) means, in the order the module docstring gives;
    ``view`` is today's plan, or why none can be made."""
    if isinstance(ref, str):
        if isinstance(view, NoService):
            raise view
        return _by_number(view, ref)
    lead = ref
    snoozed = _snoozed(session, user=user, lead=lead)
    if target == ActionState.NEW:
        if snoozed is None:
            raise NotFound(f"{lead.name} has no snoozed action, so there is nothing to unsnooze")
        return _target(snoozed, lead)
    items = () if isinstance(view, NoService) else view.items
    today = local_today(user.timezone) if isinstance(view, NoService) else view.date
    for item in items:
        if item.lead_id == lead.id and item.is_open:
            return Target(item.action_id, item.title)
    if target in (ActionState.REPLIED, ActionState.DONE):
        for action in list_waiting(session, user=user):
            if action.person_id == lead.id:
                return _target(action, lead)
    for action in list_actions(session, user=user, state=ActionState.NEW):
        if action.person_id == lead.id and action.due_date <= today:
            return _target(action, lead)
    for item in items:
        if item.lead_id == lead.id:
            return Target(item.action_id, item.title)
    if snoozed is not None and snoozed.snooze_until is not None:
        back = short_date_from(snoozed.snooze_until, today=today)
        raise NotFound(f"{lead.name} has no action due now: one is snoozed until {back}, "
                       "which `/nbm unsnooze` with their name brings back today")
    raise NotFound(f"{lead.name} has no action due now; `/nbm today` shows what is planned")


def _snoozed(session: Session, *, user: User, lead: Lead) -> Action | None:
    """The lead's snoozed action coming back soonest (its due date is its snooze's date), if any."""
    return next((action for action in list_actions(session, user=user, state=ActionState.SNOOZED)
                 if action.person_id == lead.id), None)


def _by_number(view: PlanView, digits: str) -> Target:
    """The plan's item numbered ``digits`` (decimal digits, of any script). A number with more digits
    than the plan's highest is in no item without being converted: Python refuses to convert one of
    more than 4,300 digits. A number no item has is refused with the numbers the plan has, which
    may have gaps (an item a refresh dropped took its number with it)."""
    if not view.items:
        raise ValidationError("today's plan is empty, so there is no number to pick; use a lead's name or link instead")
    by_number = {item.number: item for item in view.items}
    significant = digits.lstrip("0")
    item = by_number.get(int(significant or "0")) if len(significant) <= len(str(max(by_number))) else None
    if item is None:
        raise ValidationError(f"today's plan has {plural(len(by_number), 'action')}; use {_one_of(sorted(by_number))}, "
                              "or a lead's name or link")
    return Target(item.action_id, item.title, item.number)


def _one_of(numbers: list[int]) -> str:
    """The numbers a plan has, to pick from: ``1``, ``a number from 1 to 5``, or, with gaps, each of
    them (``one of 1, 2, 4 and 6``)."""
    if len(numbers) == 1:
        return str(numbers[0])
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"a number from {numbers[0]} to {numbers[-1]}"
    return f"one of {', '.join(map(str, numbers[:-1]))} and {numbers[-1]}"


def number_before_plan(view: PlanView, mark: Mark, *, in_dm: bool) -> str:
    """The answer to ``mark`` asked by a plan number when today's plan did not exist yet (module rules):
    nothing was changed, and ``view``, the plan just made, is in the person's DM with the app
    (``in_dm``: where the command was typed, the plan just above the answer)."""
    head = ("Nothing was changed: today's plan did not exist until now, so the number you typed could not be "
            "from it.")
    where = "Here it is, just above" if in_dm else "It is in your DM with me now"
    if not view.items:
        return (f"{head} {where}: nothing is due, so it has no numbers; name a lead instead "
                f"(`/nbm {mark.word}` with their name or link).")
    if mark is UNSNOOZE:  # a plan is made of open actions: a snoozed one is in no plan just made
        return (f"{head} {where}; a plan just made holds nothing snoozed, so name the lead instead "
                "(`/nbm unsnooze` with their name or link).")
    return (f"{head} {where}. The numbers refer to this plan: type `/nbm {mark.word}` again with the number "
            "from it.")


def one_lead(session: Session, *, user: User, ref: str, also: str | None = None) -> Lead:
    """The one lead ``ref`` (a name or a link) designates; none, or several, is refused with what to do
    instead, ``also`` being another reference the command accepts."""
    return find_lead(session, user=user, ref=ref.strip(), listed_by="`/nbm leads`", also=also)


def names_lead(session: Session, *, user: User, words: str) -> bool:
    """Whether ``words`` name at least one of the user's leads, as :func:`one_lead` reads them (a link
    that is not a valid link names none)."""
    try:
        return bool(leads_named(session, user=user, ref=words))
    except ValidationError:
        return False


def _target(action: Action, lead: Lead) -> Target:
    return Target(action.id, action_title(action.action_type, lead_name=lead.name, description=action.description))
