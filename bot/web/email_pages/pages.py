"""What the pages behind action links say and show; the routes (:mod:`bot.web.email_pages.routes`)
only read the link, call the core and render these.

Rules chosen:

* **A link with nothing to do says why, whether opened or confirmed.** The core's check of the
  change (``core.actions.rules.check_change``) answers before asking and before acting: the action
  already in the link's state is a repeat ("Already done"), a move the core refuses is answered
  with its reason, and neither changes anything.
* **"Snooze a week"** snoozes until seven days after the user's own today, or the first work day
  after that (``core.actions.snooze.snooze_a_week``); on an action that is already snoozed it is a
  repeat, not a move of the date.
* **After acting, the rest of today's plan** is shown with its own buttons: each carries a fresh
  signed token, so the user can go on without returning to the email. A "Reply to …" the rules
  just made joins today's plan (``core.planner.service.get_plan``); "Just added for today" lists
  what is due today when there is no plan yet. The page reads today's plan but never builds
  one: a click must not fix the day's plan before the morning job has read the calendar.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from sqlalchemy.orm import Session

from bot.email.links import ActionLink, EmailLinks
from bot.email.render import button_label, offered_marks
from core.actions import marks
from core.actions.marks import Mark
from core.actions.rules import EFFORT_MINUTES, Check, Verdict
from core.actions.service import TransitionResult
from core.actions.snooze import snooze_a_week
from core.actions.undo import NOTHING_TO_UNDO_WHY, UndoResult, back_to, undoable_change
from core.billing.status import billing_status, describe
from core.clock import local_today
from core.config import get_settings
from core.models import Action, ActionState, User
from core.planner.service import get_plan
from core.planner.titles import title_of
from core.planner.view import MAX_WAITING, WaitingItem, count_waiting, plan_view, waiting_items
from core.preferences import gets_morning_plan
from core.streaks import current_streak
from core.text import one_line, short_date
from core.users import get_settings_for
from core.workdays import DEFAULT_WORK_DAYS, is_work_day


class Wording(NamedTuple):
    """What the pages say for one mark; ``{until}`` is the snooze's end."""

    question: str
    button: str
    done: str
    repeat: str
    explanation: str


class _Asking(NamedTuple):
    """The pages' own words for a mark: the confirmation's question and what the change sets off."""

    question: str
    explanation: str


#: Only these pages ask before acting, so only they say these; the rest comes from ``core.actions.marks``
#: (a repeat's "Already sent", as Slack says it). Every mark has its entry: :data:`_WORDING` is built
#: from the core's table at import.
_ASKING: dict[Mark, _Asking] = {
    marks.DONE: _Asking("Mark this as done?", "It leaves today's plan and counts toward your streak."),
    marks.SENT: _Asking("Mark this as sent?", "We will plan a follow-up in case they do not answer."),
    marks.REPLIED: _Asking("Did they reply?", "We will add \u201cReply to them\u201d as your top priority."),
    marks.SNOOZE: _Asking("Snooze this for a week?", "It comes back in your plan on {until}."),
}


def _wording(mark: Mark) -> Wording:
    """A mark's phrases; a snooze names its end (an email's snooze is a week, to a date it shows)."""
    asking, until = _ASKING[mark], " until {until}" if mark.is_snooze else ""
    button = f"{mark.label}{until}" if mark.is_snooze else f"Mark {mark.word}"
    return Wording(asking.question, button, _capital(mark.past) + until, f"Already {mark.participle}{until}",
                   asking.explanation)


def _capital(phrase: str) -> str:
    return phrase[:1].upper() + phrase[1:]


_WORDING = {mark: _wording(mark) for mark in marks.MARKS}


@dataclass(frozen=True)
class Outcome:
    headline: str
    title: str
    tone: str  # "done", "repeat" or "refused"
    #: A sentence under the headline, when the headline alone would not say why.
    detail: str = ""

    @property
    def status(self) -> int:
        """409 for a refusal: the request was understood and nothing was changed."""
        return 409 if self.tone == "refused" else 200


@dataclass(frozen=True)
class PageItem:
    """An action on a page, with a form per mark: (kind, label, signed token). ``number`` is its number
    in the plan shown (:class:`core.planner.view.PlanItem`), as the digest and Slack show it; None for
    what is in no plan (waiting for a reply, just added)."""

    title: str
    lead_name: str | None
    lead_url: str | None
    minutes: int | None
    is_fast_win: bool
    forms: tuple[tuple[str, str, str], ...]
    note: str | None = None
    sent_on: str | None = None
    number: int | None = None


@dataclass(frozen=True)
class PlanCard:
    """A day's plan on a page (today's on the result page, the digest's own day's on the page its text
    part links to): what is left, with fresh buttons, and who is waiting for a reply now: the first
    :data:`MAX_WAITING`, as the digest lists them, and the rest counted with a link to the page that
    lists everyone."""

    has_plan: bool
    remaining: tuple[PageItem, ...]
    waiting: tuple[PageItem, ...]
    #: The plan's size, :meth:`core.planner.view.PlanView.size` ("" without a plan).
    size: str
    streak: int
    #: The plan's day (``short_date``), and whether it is the user's today.
    day: str
    is_today: bool
    in_plan: frozenset[uuid.UUID]
    waiting_more: int = 0
    waiting_url: str | None = None
    #: Why there is no plan, when there is none (:func:`_no_plan_yet`).
    no_plan: str = ""
    #: The billing card offered beside ``no_plan`` when the reason is that service has ended.
    billing: BillingCard | None = None


@dataclass(frozen=True)
class BillingCard:
    """Where the user stands with billing (core.billing.status.describe) and the button to their billing page."""

    summary: str
    url: str
    button: str
    has_service: bool


@dataclass(frozen=True)
class ResultPage:
    outcome: Outcome
    added: tuple[PageItem, ...]
    card: PlanCard
    #: A signed token to take the change back, while the core allows it (the rest of the day).
    undo_token: str | None = None


def snooze_until(user: User) -> date:
    """Where "Snooze a week" lands for ``user``: a week from their today, on one of their work days."""
    work_days = user.settings.work_days if user.settings else DEFAULT_WORK_DAYS
    return snooze_a_week(local_today(user.timezone), work_days)


def note_of(action: Action) -> str | None:
    """The action's notes, else its lead's, on one line (as the plan shows them)."""
    return one_line(action.notes or (action.lead.notes if action.lead else None))


def wording(link: ActionLink, action: Action, user: User) -> Wording:
    """The mark's phrases, with the snooze date the action has (or would get)."""
    until = action.snooze_until if action.state == ActionState.SNOOZED else snooze_until(user)
    shown = short_date(until) if until else "later"
    return Wording(*(phrase.format(until=shown) for phrase in _WORDING[link.mark]))


def explanation(said: Wording, check: Check) -> str:
    """What confirming sets off; first, for Replied on a message the system closed, which message the
    reply goes to (the core's words: ``core.actions.rules.MovedReply``)."""
    return said.explanation if check.moved is None else f"{check.moved.preview} {said.explanation}"


def sentence(message: str) -> str:
    """A core message ("this action is done, so …") as a sentence on a page."""
    return _capital(message) + ("" if message.endswith(".") else ".")


def refused(action: Action, reason: str) -> Outcome:
    """A change the core refused, with its reason."""
    return Outcome(sentence(reason), title_of(action), "refused")


def nothing_to_do(link: ActionLink, check: Check, user: User) -> Outcome | None:
    """Why the link cannot act, from the core's check (a repeat, or a refusal); None when it can."""
    if check.verdict is Verdict.REPEAT:
        return Outcome(wording(link, check.action, user).repeat, title_of(check.action), "repeat")
    if check.verdict is Verdict.REFUSED:
        return refused(check.action, check.reason)
    return None


def applied(link: ActionLink, result: TransitionResult, user: User) -> Outcome:
    """The change made (a press racing this one waited for the action's lock, and was checked a repeat);
    a reply moved to the lead's waiting message says where it went, as every channel does."""
    if result.moved is not None:
        return Outcome(result.moved.headline, result.moved.where, "done")
    return Outcome(wording(link, result.action, user).done, title_of(result.action), "done")


def result_page(
    session: Session, *, user: User, outcome: Outcome, links: EmailLinks, created: Iterable[Action] = (),
    changed: Action | None = None,
) -> ResultPage:
    """The outcome (with Undo when ``changed`` can still be taken back: of the change it shows, which
    the Undo link names, so that it never takes back a later one); what the rules just
    ``created`` that is due today and not in the plan; then today's plan card."""
    card = plan_card(session, user=user, links=links)
    today = local_today(user.timezone)
    added = tuple(
        PageItem(title=title_of(new), lead_name=new.lead.name if new.lead else None,
                 lead_url=new.lead.url if new.lead else None, minutes=EFFORT_MINUTES[new.action_type],
                 note=note_of(new), is_fast_win=False, forms=_forms(links, user, new.id, offered_marks(
                     new.action_type, has_lead=new.person_id is not None)))
        for new in created
        if new.state == ActionState.NEW and new.due_date <= today and new.id not in card.in_plan
    )
    change = undoable_change(session, user=user, action=changed) if changed is not None else None
    return ResultPage(
        outcome=outcome, added=added, card=card,
        undo_token=links.undo_token(user_id=user.id, action_id=change.action_id, change_id=change.id)
        if change is not None else None,
    )


def plan_card(session: Session, *, user: User, links: EmailLinks, day: date | None = None) -> PlanCard:
    """What is left of the plan of ``day`` (default the user's today) and who is waiting now, each with
    fresh buttons. It reads the plan but never builds one: a click must not fix the day's plan before
    the morning job has read the calendar."""
    today = local_today(user.timezone)
    day = day or today
    plan = get_plan(session, user=user, day=day)
    view = plan_view(session, user=user, plan=plan) if plan else None
    remaining = tuple(
        PageItem(title=item.title, lead_name=item.lead_name, lead_url=item.lead_url, minutes=item.minutes,
                 note=item.note, is_fast_win=item.is_fast_win, number=item.number,
                 forms=_forms(links, user, item.action_id,
                              offered_marks(item.action_type, has_lead=item.lead_id is not None)))
        for item in (view.open_items if view else ())
    )
    if view is not None:
        listed, more = view.waiting, view.waiting_more
    else:
        listed = waiting_items(session, user=user)
        more = count_waiting(session, user=user) - len(listed) if len(listed) == MAX_WAITING else 0
    waiting = _waiting_items(links, user, listed)
    no_plan, billing = ("", None) if view else _no_plan_yet(session, user=user, day=day, today=today, links=links)
    return PlanCard(
        has_plan=view is not None, remaining=remaining, waiting=waiting,
        size=view.size() if view else "", day=short_date(day), is_today=day == today,
        streak=current_streak(user, work_days=get_settings_for(session, user).work_days, today=today),
        in_plan=frozenset(item.action_id for item in view.items) if view else frozenset(),
        waiting_more=more, waiting_url=links.waiting_url(user_id=user.id) if more else None,
        no_plan=no_plan, billing=billing,
    )


def billing_card(session: Session, *, user: User, links: EmailLinks) -> BillingCard | None:
    """The user's billing while billing is on (None while it is off): the preferences page's card,
    and the today page's when service has ended."""
    if not get_settings().billing_enabled:
        return None
    status = billing_status(session, user=user)
    return BillingCard(summary=describe(status, timezone=user.timezone), url=links.billing_url(user_id=user.id),
                       button="Subscribe" if status.can_subscribe else "Manage billing",
                       has_service=status.has_service)


def _no_plan_yet(
    session: Session, *, user: User, day: date, today: date, links: EmailLinks
) -> tuple[str, BillingCard | None]:
    """Why ``day`` has no plan, true for this user. Of a day other than today, only that (a plan link
    names the day of a plan sent, and plans are never deleted). Of today, with the billing card when the
    reason is billing's: without service none is made, and the page says so as Slack does
    (core.billing.status.NoService's sentence) with the billing page's button; a day off has none;
    nor has a user the morning run makes none for, since it would go nowhere
    (core.preferences.gets_morning_plan: email and Slack off); otherwise the morning run makes it at
    the user's delivery time."""
    if day != today:
        return f"There is no plan for {short_date(day)}.", None
    billing = billing_card(session, user=user, links=links)
    if billing is not None and not billing.has_service:
        return billing.summary, billing
    settings = get_settings_for(session, user)
    if not is_work_day(day, settings.work_days):
        return "Today is not one of your work days, so no plan is made for it.", None
    at = f"{settings.delivery_time:%H:%M} on your work days"
    if not gets_morning_plan(session, user=user):
        return ("No plan is made for you in the morning: it goes out by email or in Slack, and you get it by "
                "neither now. Turn email on in your preferences (linked at the bottom of every NextBestMove "
                f"email) to get it at {at}."), None
    return f"Today's plan is not ready yet; it is made at {at}.", None


def undone(result: UndoResult, user: User) -> Outcome:
    """What the page says after an Undo: what the action is back to, or that there was nothing to undo."""
    if not result.changed:
        return Outcome("Nothing to undo", title_of(result.action), "repeat", detail=sentence(NOTHING_TO_UNDO_WHY))
    return Outcome(f"Undone, {back_to(result.action, today=local_today(user.timezone))}", title_of(result.action),
                   "done")


def undo_names_no_change(action: Action) -> Outcome:
    """What an Undo link from before links named their change says, opened or confirmed: nothing."""
    return Outcome("Nothing to undo", title_of(action), "repeat", detail=(
        "This Undo link comes from an older page, which did not record the change it was for, so it takes "
        "nothing back: it could take back a later change instead. The page after each change you make "
        "offers an Undo of that change."))


def all_waiting(session: Session, *, user: User, links: EmailLinks) -> tuple[PageItem, ...]:
    """Every action waiting for a reply, oldest sent first, each with a fresh Replied button."""
    return _waiting_items(links, user, waiting_items(session, user=user, limit=None))


def _waiting_items(links: EmailLinks, user: User, waiting: Iterable[WaitingItem]) -> tuple[PageItem, ...]:
    return tuple(
        PageItem(title=w.title, lead_name=w.lead_name, lead_url=w.lead_url, minutes=None, is_fast_win=False,
                 forms=_forms(links, user, w.action_id, (marks.REPLIED,)), sent_on=short_date(w.sent_on))
        for w in waiting
    )


def _forms(
    links: EmailLinks, user: User, action_id: uuid.UUID, offered: Iterable[Mark]
) -> tuple[tuple[str, str, str], ...]:
    return tuple(
        (mark.word, button_label(mark), links.action_token(user_id=user.id, action_id=action_id, mark=mark))
        for mark in offered
    )
