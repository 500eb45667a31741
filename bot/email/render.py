"""Rendering the morning digest and the weekly summary: pure functions from domain data to text.

Each email is a subject, a plain-text part and an HTML part rendered from paired Jinja2 templates in
``templates/email/`` (a shared ``base`` and one template per email). Rules chosen:

* HTML templates autoescape (a lead called ``<b>Ann</b>`` is shown, not obeyed); text templates do
  not, since ``&amp;`` in a plain-text email is noise. Undefined variables are errors, so a
  misspelt name fails the tests instead of vanishing from an email.
* CSS is written once in ``base.html`` and inlined into ``style`` attributes with css-inline (Gmail
  and Outlook drop or mangle ``<style>``); only ``@media`` rules stay in a ``<style>`` block, for
  phones. Remote stylesheets are never fetched.
* The subject counts what is still to do: "Your next best moves for Tue 25 Nov — 5 actions,
  ~35 min" (1 action is singular). A plan with nothing to do says so kindly instead.
* A catch-up digest (an earlier day's plan, sent after the reader's day turned) says "today" only
  of the reader's today: the streak line is as of that day, as ``/nbm streak`` says it, and the
  preheader of a plan with nothing open names the plan's day, as does the text part's link to it.
* Only open (NEW) actions carry buttons; an action settled earlier today is listed with its state.
  Buttons are those the core offers (``marks_offered``): Done, Sent, Replied, Snooze a week on a
  message to a lead; Done and Snooze a week on anything else.
* The text part is read in a terminal as much as in a phone's "plain text" view, so it carries no
  button links (four signed URLs of ~130 characters per action were a wall): one link opens the
  digest's own plan (``EmailLinks.plan_url`` of its day, a catch-up's earlier day too), where every
  action has the buttons the HTML part carries. It ends with the signature
  delimiter ``-- `` (dash, dash, space), so mail clients set the footer apart and leave it out of replies.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache
from pathlib import Path

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

from bot.email.links import EmailLinks
from core.actions import marks
from core.actions.marks import BY_TARGET, Mark
from core.actions.rules import marks_offered
from core.billing.notices import NoticeWords
from core.calendars.plans_sized import DEFAULT_CAPACITY
from core.config import get_settings
from core.models import ActionState, ActionType, WeeklySummary
from core.names import first_name
from core.planner.view import PlanItem, PlanView
from core.streaks import streak_line
from core.text import noun, plural, short_date, week_title

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "email"

STATE_LABELS = {
    ActionState.NEW: "To do",
    ActionState.SENT: "Sent, waiting for a reply",
    ActionState.REPLIED: "Replied",
    ActionState.DONE: "Done",
    ActionState.SNOOZED: "Snoozed",
    ActionState.ARCHIVED: "Archived",
}
#: An action the system closed because the lead answered (its pending follow-up is not needed).
CLOSED_BY_REPLY = "Closed — they replied"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@dataclass(slots=True)
class Button:
    kind: str
    label: str
    url: str


@dataclass(slots=True)
class DigestItem:
    number: int
    title: str
    lead_name: str | None
    lead_url: str | None
    minutes: int
    is_fast_win: bool
    state_label: str
    buttons: tuple[Button, ...]
    note: str | None = None


@dataclass(slots=True)
class DigestWaiting:
    title: str
    lead_name: str | None
    lead_url: str | None
    sent_on: str
    replied_url: str



def duration(minutes: int) -> str:
    """``45 min``, ``1 h``, ``3 h 20 min``."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def _subject(view: PlanView) -> str:
    head = f"Your next best moves for {short_date(view.date)} — {view.size()}"
    return head if view.items else f"{head}, enjoy a clear day"


def button_label(mark: Mark) -> str:
    """A mark's button in an email: an email's snooze is always a week (``snooze_a_week``), and says so."""
    return f"{mark.label} a week" if mark.is_snooze else mark.label


@lru_cache(maxsize=64)
def offered_marks(action_type: ActionType, *, has_lead: bool) -> tuple[Mark, ...]:
    """The links an open action carries, in button order: the marks the core offers for it."""
    return tuple(BY_TARGET[state] for state in marks_offered(action_type, has_lead=has_lead))


def action_buttons(links: EmailLinks, *, user_id: uuid.UUID, item: PlanItem) -> tuple[Button, ...]:
    """The signed links of one open action: Done, Sent, Replied, Snooze a week, or Done and Snooze."""
    offered = offered_marks(item.action_type, has_lead=item.lead_id is not None)
    urls = links.action_urls(user_id=user_id, action_id=item.action_id, marks=offered)
    return tuple(Button(kind=mark.word, label=button_label(mark), url=url)
                 for mark, url in zip(offered, urls, strict=True))


def _digest_item(item: PlanItem, view: PlanView, links: EmailLinks) -> DigestItem:
    return DigestItem(
        number=item.number, title=item.title, lead_name=item.lead_name, lead_url=item.lead_url,
        minutes=item.minutes, is_fast_win=item.is_fast_win,
        state_label=CLOSED_BY_REPLY if item.closed_by_reply else STATE_LABELS[item.state],
        buttons=action_buttons(links, user_id=view.user_id, item=item) if item.is_open else (), note=item.note,
    )


def render_digest(view: PlanView, *, links: EmailLinks) -> RenderedEmail:
    """The morning digest of ``view``: today's actions with their links, then who is waiting."""
    return _render("digest", digest_context(view, links=links))


def digest_context(view: PlanView, *, links: EmailLinks) -> dict[str, object]:
    """What the digest's templates are rendered with (its links signed)."""
    open_items = view.open_items
    return {
        "subject": _subject(view),
        "preheader": f"First up: {open_items[0].title}" if open_items else _nothing_left(view),
        "greeting": view.greeting,
        "first_name": first_name(view.user_name, fallback="there"),
        "day": _day(view.date),
        "items": [_digest_item(item, view, links) for item in view.items],
        "open_count": len(open_items),
        "offers_a_lead": view.offers_a_lead,
        "size": view.size(about="about "),
        "free_time": duration(view.free_minutes) if view.free_minutes is not None else None,
        "focus": view.focus,
        "streak": view.streak,
        # The streak is as of the reader's today, so its line speaks of that day, whatever the plan's.
        "streak_line": streak_line(view.streak, work_day=view.today_is_work_day,
                                   counted_today=view.streak_counts_today),
        "waiting_total": view.waiting_total,
        "waiting_more": view.waiting_more,
        "waiting_url": links.waiting_url(user_id=view.user_id),
        # The plan the HTML part's buttons act on: the digest's own day's, a catch-up's too.
        "plan_url": links.plan_url(user_id=view.user_id, day=view.date),
        "plan_is_today": view.date == view.today,
        "waiting": [
            DigestWaiting(
                title=w.title, lead_name=w.lead_name, lead_url=w.lead_url, sent_on=_day(w.sent_on),
                replied_url=links.action_url(user_id=view.user_id, action_id=w.action_id, mark=marks.REPLIED),
            )
            for w in view.waiting
        ],
        **_footer(links, view.user_id),
    }


def _nothing_left(view: PlanView) -> str:
    """The preheader of a plan with nothing open: "today" for today's, else the plan's own day (a
    catch-up digest, sent after the reader's day has turned)."""
    if view.today == view.date:
        return "Nothing is waiting on you today."
    return f"Nothing is left to do in your plan for {_day(view.date)}."


def summary_subject(summary: WeeklySummary, *, today: date) -> str:
    return (
        f"{week_title(summary.week_start_date, today=today)} — "
        f"{plural(summary.actions_completed, 'action')} done, {plural(summary.replies, 'reply', 'replies')}"
    )


def render_weekly_summary(summary: WeeklySummary, *, user_name: str, today: date,
                          links: EmailLinks) -> RenderedEmail:
    """The Monday email: last week's numbers, the insight and narrative, next week's focus, drafts
    (the week named as seen from the reader's ``today``: core.text.week_title)."""
    context = {
        "subject": summary_subject(summary, today=today),
        "preheader": summary.insight_text,
        "first_name": first_name(user_name, fallback="there"),
        "week_title": week_title(summary.week_start_date, today=today),
        "stats": [
            (summary.days_active, noun(summary.days_active, "day active", "days active")),
            (summary.actions_completed, noun(summary.actions_completed, "action done", "actions done")),
            (summary.replies, noun(summary.replies, "reply", "replies")),
            (summary.calls_booked, noun(summary.calls_booked, "call booked", "calls booked")),
        ],
        "insight": summary.insight_text,
        "narrative": summary.narrative_summary,
        "next_week_focus": summary.next_week_focus,
        "drafts": [
            (title, text) for title, text in (
                ("A post about your wins", summary.win_post_draft),
                ("A post about what you learned", summary.insight_post_draft),
            ) if text
        ],
        **_footer(links, summary.user_id),
    }
    return _render("weekly_summary", context)


def render_calendar_expired(*, calendar: str, reason: str, user_id: uuid.UUID, links: EmailLinks) -> RenderedEmail:
    """The one email saying a calendar needs reconnecting (``core.calendars.notices``): the button
    opens the preferences page, where it is reconnected."""
    context = {
        "subject": f"Your {calendar} needs reconnecting",
        "preheader": f"Until then your next plans use {DEFAULT_CAPACITY}.",
        "calendar": calendar, "reason": reason, "default_capacity": DEFAULT_CAPACITY,
        **_footer(links, user_id),
    }
    return _render("calendar_expired", context)


def render_billing_notice(words: NoticeWords, *, user_id: uuid.UUID, links: EmailLinks) -> RenderedEmail:
    """A billing notice (core.billing.notices): the trial ending, a failed payment, the end of service.
    Its button opens the billing page, where the user subscribes or manages billing."""
    context = {"subject": words.title, "preheader": words.message, "title": words.title, "message": words.message,
               "button": words.button, **_footer(links, user_id)}
    context["billing_url"] = links.billing_url(user_id=user_id)
    return _render("billing_notice", context)


#: ``short_date`` of the few dates a morning's emails name (today's, and when each waiting message went).
_day = lru_cache(maxsize=256)(short_date)


def _footer(links: EmailLinks, user_id: uuid.UUID) -> dict[str, str | None]:
    """The footer's links; the billing page's only while billing is on (core.billing)."""
    return {
        "preferences_url": links.preferences_url(user_id=user_id),
        "unsubscribe_url": links.unsubscribe_url(user_id=user_id),
        "billing_url": links.billing_url(user_id=user_id) if get_settings().billing_enabled else None,
    }


_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    auto_reload=False,  # a template extending ``base`` would check both files on disk at every render
)
_inliner = css_inline.CSSInliner(load_remote_stylesheets=False, keep_at_rules=True)


def compile_templates() -> None:
    """Compile every email template now (a worker does at start, rather than on its first morning)."""
    for name in _env.list_templates():
        _template(name)


@cache
def _template(name: str) -> Template:
    """A compiled template, looked up once per process (templates are never reloaded: restart a process
    to see an edit)."""
    return _env.get_template(name)


def _render(name: str, context: Mapping[str, object]) -> RenderedEmail:
    html = _inliner.inline(_template(f"{name}.html").render(context))
    text = _template(f"{name}.txt").render(context)
    return RenderedEmail(subject=str(context["subject"]), text=text, html=html)
