"""The sentences that answer a command, a button or a modal: pure functions of what the core returned.

``/nbm`` and the modals share them, so adding a lead or logging a call reads the same whichever way
it was done. Everything a person typed is escaped (see bot.slack.blocks.text).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bot.slack import ids
from bot.slack.blocks.home import lead_line, live_leads
from bot.slack.blocks.text import Block, button, escape, link, section
from core.actions.marks import BY_TARGET
from core.actions.service import TransitionResult
from core.actions.snooze import ACCEPTED_FORMS
from core.actions.undo import NOTHING_TO_UNDO, UndoResult, back_to
from core.calls import LoggedCallResult
from core.models import Action, ActionState, ActionType, CapacityLevel, Lead
from core.planner.capacity import ACTIONS_PER_LEVEL
from core.planner.titles import action_title
from core.planner.view import PlanView
from core.text import plural, short_date, short_date_from


def lead_added(lead: Lead, *, planned: bool | None = False, unplanned: str | None = None) -> str:
    """Whether the new lead's outreach made it into today's plan: a full plan is said plainly,
    ``planned`` None is a plan still to be made (its calendar is read first: core.planner.sizing), and
    ``unplanned`` says why no plan is made at all (a user without service)."""
    if planned is None and not unplanned:
        return (f"➕ Added {link(lead.url, lead.name)}. Reaching out to them is due today; today's plan is "
                "being made now, from your calendar's free time if it can be read (App Home shows it).")
    return f"➕ Added {link(lead.url, lead.name)}. " + (
        unplanned if unplanned else "Reaching out to them is in today's plan." if planned
        else "Reaching out to them is due today; today's plan is already full.")


def calendar_connected(host: str, sized: str) -> str:
    """What connecting a calendar in Slack answers: ``sized``, what sizes the plans now, is the core's
    (``core.calendars.plans_sized.after_connecting``), as the sign-in page says it."""
    return f"Connected your calendar at {host}. {sized}"


def marked(result: TransitionResult, title: str, target: ActionState, *, today: date, defaulted: bool = False,
           number: int | None = None) -> str:
    """What a mark did, with the follow-ups its rules planned. A repeat says "Already …" rather than
    claiming a second change; a snooze that fell back to tomorrow says how to pick another day, and one
    months away (a snooze may last a year) names its year (``today``: the user's). ``number``, the
    plan number the person typed, comes before the title ("#2 of today's plan — …"): a number is kept
    for the day (core.planner.view.PlanItem.number), but one typed from an older message (yesterday's
    plan DM) means today's item of that number, and the answer shows which.

    Reads ``result.created``'s leads, so it runs inside the unit of work that made them."""
    named = (f"#{number} of today's plan — " if number is not None else "") + escape(title)
    if target == ActionState.NEW:  # an unsnooze: core.actions.marks.UNSNOOZE, due today (core.actions.service)
        return (f"⏰ Unsnoozed, open again and due today: {named}." if result.changed
                else f"Already open, not snoozed: {named}.")
    word = BY_TARGET[target].participle
    if target == ActionState.SNOOZED and result.action.snooze_until:
        text = f"💤 Snoozed until {short_date_from(result.action.snooze_until, today=today)}: {named}."
        return text + (f" For another day, add it: {ACCEPTED_FORMS}." if defaulted else "")
    if not result.changed:
        return f"Already {word}: {named}."
    if result.moved is not None:
        return moved_reply(result)
    return _with_next(f"✅ Marked {word}: {named}.", result)


def moved_reply(result: TransitionResult) -> str:
    """Replied asked of a message the system closed: where the reply went (the core's words, as
    every channel says them), with what its rules planned."""
    return _with_next(f"✅ {escape(str(result.moved))}.", result)


def _with_next(head: str, result: TransitionResult) -> str:
    lines = [head]
    for created in result.created:
        name = created.lead.name if created.lead else None
        next_title = action_title(created.action_type, lead_name=name, description=created.description)
        lines.append(f"Next: {escape(next_title)}, due {short_date(created.due_date)}.")
    return "\n".join(lines)


def with_undo(text: str, result: TransitionResult) -> list[Block] | None:
    """The answer to a typed mark as blocks with an Undo button for the change the mark wrote (its
    value names that change, so the Undo takes back that one or nothing: a snooze moved to another
    date goes back to the date before); None, the text alone, when it wrote none: a repeat."""
    if result.change is None:
        return None
    return [section(text, block_id=ids.item_block_id(ids.Surface.MARKED, result.action.id),
                    accessory=button("Undo", ids.UNDO, str(result.change.id)))]


def undone(result: UndoResult, title: str, *, today: date) -> str:
    """What an Undo did, in the words the email's page uses: what the action is back to (``today``:
    the user's, for a snooze's date)."""
    if not result.changed:
        return f"{NOTHING_TO_UNDO}."
    return f"↩️ Undone, {back_to(result.action, today=today)}: {escape(title)}."


def call_logged(name: str, result: LoggedCallResult, *, today: date) -> str:
    """The call and the prep and follow-up it planned, each said moved when it came from another call of
    the lead's, and each it has none of because another call keeps the lead's one pending
    (``core.calls``); a call logged again says it already was. A date months from the user's
    ``today`` says its year."""
    when = short_date_from(result.call.call_date, today=today)
    if not result.created:
        return f"📞 Your call with {escape(name)} on {when} was already logged."
    moved = {other.kind: other.call_date for other in result.others if other.held is None}
    steps = [f"{_CALL_STEP[action.action_type]} on {short_date_from(action.due_date, today=today)}" + (
        f" (moved here from your call on {short_date_from(moved[action.action_type], today=today)})"
        if action.action_type in moved else "") for action in (result.prep, result.post) if action is not None]
    planned = f" Planned: {' and '.join(steps)}." if steps else ""
    held = "".join(
        f" No {_CALL_STEP[other.kind].removeprefix('the ')} of its own: the one for your call on "
        f"{short_date_from(other.call_date, today=today)} is still open ({_comes_up(other.held, today=today)})."
        for other in result.others if other.held is not None)
    woke = f" {escape(name)} was snoozed and is active again." if result.woke else ""
    return f"📞 Logged your call with {escape(name)} on {when}.{planned}{held}{woke}"


_CALL_STEP = {ActionType.CALL_PREP: "prep", ActionType.POST_CALL: "the follow-up"}


def _comes_up(action: Action, *, today: date) -> str:
    """When an open action comes up: the date its snooze ends, or its due date."""
    if action.state == ActionState.SNOOZED and action.snooze_until is not None:
        return f"snoozed until {short_date_from(action.snooze_until, today=today)}"
    return f"due {short_date_from(action.due_date, today=today)}"


def leads_list(leads: Sequence[Lead], *, limit: int, today: date) -> str:
    """The `/nbm leads` answer: the live leads, at most ``limit`` lines (one ephemeral message), the
    rest counted."""
    leads = live_leads(leads)
    if not leads:
        return "You have no leads yet. Add one with `/nbm add <name> <link>`."
    more = [f"…and {len(leads) - limit} more."] if len(leads) > limit else []
    return "\n".join([f"*Your leads ({len(leads)})*", *(lead_line(lead, today=today) for lead in leads[:limit]), *more])


def capacity_said(asked: CapacityLevel, view: PlanView) -> str:
    """The `/nbm capacity` answer, from the plan as refreshed: its size is the plan's own capacity
    (``default`` removes the override, so the size the plan was made with, from the calendar or the
    default, comes back), and a plan longer than it says why (what was acted on stays)."""
    size = ACTIONS_PER_LEVEL[view.capacity]
    head = (f"Today is now a *{asked.value}* day" if asked is not CapacityLevel.DEFAULT
            else f"Today is back to its planned size, a *{view.capacity.value}* day")
    settled = len(view.items) - len(view.open_items)
    kept = f" ({settled} already acted on, which stay)" if len(view.items) > size and settled else ""
    return f"{head}: up to {plural(size, 'action')}; today's plan has {plural(len(view.items), 'action')}{kept}."
