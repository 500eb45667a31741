"""The pages behind email links: act on an action, unsubscribe, preferences, and the dev outbox.

Rules chosen:

* **A GET never changes anything.** Mail scanners (Outlook Safe Links, Proofpoint, Gmail's
  prefetch) open every link, so a link shows a confirmation page; only the POST from that page acts,
  through the core, recorded with channel ``email``. The one exception is RFC 8058's one-click
  unsubscribe, which is itself a POST.
* **Every page tells the truth without telling too much.** A tampered link and a link for
  someone else's action get the same "not valid" page (404), so a page never confirms that an
  action exists. An expired link (410) says so and, when it was genuinely ours, offers its owner's
  preferences page. A repeat ("Done" clicked twice) answers "Already done" and changes nothing.
* **After acting, the rest of today's plan** is shown with its own buttons: forms posting fresh
  signed tokens, so the user can go on without returning to the email. The page reads today's plan
  but never builds one: a click must not fix the day's plan before the morning job has read the
  calendar.
* "Snooze a week" snoozes until seven days after the user's own today; on an action that is
  already snoozed it is a repeat, not a move of the date.
* Pages are plain server-rendered HTML with no JavaScript, one column that fits a phone, sent with
  ``Referrer-Policy: no-referrer`` (the token in the URL must not leak to a lead's site),
  ``Cache-Control: no-store`` and ``noindex``.
* ``/dev/outbox`` exists only outside production and only with the outbox backend.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

from flask import Blueprint, Response, abort, make_response, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from core import preferences as prefs
from bot.email.backends import OutboxBackend, outbox_directory
from bot.email.links import ActionLink, EmailLinks, LinkExpired, LinkInvalid, PREFERENCES_MAX_AGE, Transition
from bot.email.render import BUTTONS, short_date
from core.actions.rules import EFFORT_MINUTES, check_transition
from core.actions.service import change_state, get_action
from core.clock import local_today, utcnow
from core.config import get_settings
from core.db import unit_of_work
from core.errors import InvalidTransition, NotFound, ValidationError
from core.models import Action, ActionState, Channel, User
from core.planner.service import get_plan
from core.planner.view import PlanView, WaitingItem, action_title, plan_view, waiting_items
from core.users import get_settings_for, get_user

bp = Blueprint("email_pages", __name__, template_folder="templates")

SNOOZE_DAYS = 7


class Wording(NamedTuple):
    """What the pages say for one transition; ``{until}`` is the snooze's end."""

    question: str
    button: str
    done: str
    repeat: str
    explanation: str


WORDING = {
    Transition.DONE: Wording("Mark this as done?", "Mark done", "Marked done", "Already done",
                             "It leaves today's plan and counts toward your streak."),
    Transition.SENT: Wording("Mark this as sent?", "Mark sent", "Marked sent", "Already marked sent",
                             "We will plan a follow-up in case they do not answer."),
    Transition.REPLIED: Wording("Did they reply?", "Mark replied", "Marked replied", "Already marked replied",
                                "We will add \u201cReply to them\u201d as your top priority."),
    Transition.SNOOZE: Wording("Snooze this for a week?", "Snooze until {until}", "Snoozed until {until}",
                               "Already snoozed until {until}", "It comes back in your plan on {until}."),
}

BUTTON_LABELS = dict(BUTTONS)


def _links() -> EmailLinks:
    return EmailLinks.from_settings()


@bp.after_request
def _private(response: Response) -> Response:
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'",
    )
    return response


def _page(title: str, message: str, status: int, **extra: object) -> ResponseReturnValue:
    return render_template("email_pages/message.html", title=title, message=message, **extra), status


@bp.errorhandler(LinkInvalid)
@bp.errorhandler(NotFound)
def _not_valid(_: Exception) -> ResponseReturnValue:
    return _page("This link is not valid",
                 "It may have been copied incompletely. Use the buttons in your latest NextBestMove email.", 404)


@bp.errorhandler(LinkExpired)
def _expired(error: LinkExpired) -> ResponseReturnValue:
    """The owner of a genuine old link may still reach their preferences, as the same email's footer allows."""
    preferences_url = None
    if error.user_id and error.signed_at and utcnow() - error.signed_at < PREFERENCES_MAX_AGE:
        preferences_url = _links().preferences_url(user_id=error.user_id)
    return _page("This link has expired",
                 "For your safety, email links stop working after a while (action buttons after 7 days). "
                 "Today's plan, with fresh buttons, is in your latest morning email.", 410,
                 preferences_url=preferences_url)


# Action links ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    headline: str
    title: str
    tone: str  # "done", "repeat" or "refused"


def _until(user: User) -> date:
    return local_today(user.timezone) + timedelta(days=SNOOZE_DAYS)


def _title(action: Action) -> str:
    return action_title(action.action_type, lead_name=action.lead.name if action.lead else None,
                        description=action.description)


def _say(link: ActionLink, action: Action, user: User, field: str) -> str:
    """One of the transition's phrases, with the snooze date the action has (or would get)."""
    until = action.snooze_until if action.state == ActionState.SNOOZED else _until(user)
    return getattr(WORDING[link.transition], field).format(until=short_date(until) if until else "later")


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


@bp.get("/a/<token>")
def action_confirm(token: str) -> ResponseReturnValue:
    link = _links().read_action(token)
    with unit_of_work(user_id=link.user_id) as session:
        user = get_user(session, link.user_id)
        action = get_action(session, user=user, action_id=link.action_id)
        if action.state == link.transition.target:
            return _result(session, user, Outcome(_say(link, action, user, "repeat"), _title(action), "repeat"))
        try:
            check_transition(action.state, link.transition.target)
        except InvalidTransition as refused:
            return _result(session, user, Outcome(_sentence(str(refused)), _title(action), "refused"), status=409)
        lead = action.lead
        return render_template(
            "email_pages/confirm.html", question=_say(link, action, user, "question"), title=_title(action),
            lead_name=lead.name if lead else None, lead_url=lead.url if lead else None,
            explanation=_say(link, action, user, "explanation"), button=_say(link, action, user, "button"),
            post_url=url_for(".action_apply", token=token),
        )


@bp.post("/a/<token>")
def action_apply(token: str) -> ResponseReturnValue:
    link = _links().read_action(token)
    with unit_of_work(user_id=link.user_id) as session:
        user = get_user(session, link.user_id)
        action = get_action(session, user=user, action_id=link.action_id)
        title = _title(action)
        if link.transition is Transition.SNOOZE and action.state == ActionState.SNOOZED:
            return _result(session, user, Outcome(_say(link, action, user, "repeat"), title, "repeat"))
        try:
            result = change_state(session, user=user, action_id=action.id, to=link.transition.target,
                                  channel=Channel.EMAIL,
                                  until=_until(user) if link.transition is Transition.SNOOZE else None)
        except (InvalidTransition, ValidationError) as refused:
            return _result(session, user, Outcome(_sentence(str(refused)), title, "refused"), status=409)
        outcome = Outcome(_say(link, result.action, user, "done" if result.changed else "repeat"), title,
                          "done" if result.changed else "repeat")
        today = local_today(user.timezone)
        added = [new for new in result.created if new.state == ActionState.NEW and new.due_date <= today]
        return _result(session, user, outcome, added=added)


@dataclass(frozen=True)
class PageItem:
    title: str
    lead_name: str | None
    lead_url: str | None
    minutes: int | None
    is_fast_win: bool
    forms: tuple[tuple[str, str, str], ...]  # (kind, label, post url)


def _forms(
    links: EmailLinks, user: User, action_id: uuid.UUID, transitions: tuple[Transition, ...]
) -> tuple[tuple[str, str, str], ...]:
    return tuple(
        (t.value, BUTTON_LABELS[t],
         url_for(".action_apply", token=links.action_token(user_id=user.id, action_id=action_id, transition=t)))
        for t in transitions
    )


def _result(
    session: Session, user: User, outcome: Outcome, *, added: list[Action] | None = None, status: int = 200
) -> ResponseReturnValue:
    """The outcome; what the rules just added for today (a "Reply to …"); what is left of today's
    plan; who is waiting. Each with fresh buttons."""
    links = _links()
    plan = get_plan(session, user=user)
    view: PlanView | None = plan_view(session, user=user, plan=plan) if plan else None
    waiting: tuple[WaitingItem, ...] = view.waiting if view else waiting_items(session, user=user)
    everything = tuple(BUTTON_LABELS)
    in_plan = {item.action_id for item in view.items} if view else set()
    new_items = [
        PageItem(_title(new), new.lead.name if new.lead else None, new.lead.url if new.lead else None,
                 EFFORT_MINUTES[new.action_type], False, _forms(links, user, new.id, everything))
        for new in added or () if new.id not in in_plan
    ]
    remaining = [
        PageItem(item.title, item.lead_name, item.lead_url, item.minutes, item.is_fast_win,
                 _forms(links, user, item.action_id, everything))
        for item in (view.open_items if view else ())
    ]
    waiting_list = [
        PageItem(w.title, w.lead_name, w.lead_url, None, False, _forms(links, user, w.action_id, (Transition.REPLIED,)))
        for w in waiting
    ]
    return render_template(
        "email_pages/result.html", outcome=outcome, added=new_items, has_plan=view is not None,
        remaining=remaining, waiting=waiting_list,
        done_count=sum(1 for item in view.items if not item.is_open) if view else 0,
        total_count=len(view.items) if view else 0, streak=user.streak_count,
        today=short_date(local_today(user.timezone)),
    ), status


# Unsubscribe and preferences ---------------------------------------------------------------

@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str) -> ResponseReturnValue:
    """GET asks; POST (the page's button, or a mail provider's RFC 8058 one-click) acts."""
    user_id = _links().read_unsubscribe(token)
    with unit_of_work(user_id=user_id) as session:
        user = get_user(session, user_id)
        if request.method == "POST":
            if request.form.get("resubscribe"):
                prefs.resubscribe(session, user=user)
            else:
                prefs.unsubscribe(session, user=user)
        subscribed = prefs.email_is_on(get_settings_for(session, user))
        return render_template("email_pages/unsubscribe.html", subscribed=subscribed, acted=request.method == "POST",
                               email=user.email, post_url=url_for(".unsubscribe", token=token))


@bp.route("/preferences/<token>", methods=["GET", "POST"])
def preferences(token: str) -> ResponseReturnValue:
    user_id = _links().read_preferences(token)
    error, saved, status = None, False, 200
    with unit_of_work(user_id=user_id) as session:
        user = get_user(session, user_id)
        if request.method == "POST":
            try:
                prefs.update_preferences(
                    session, user=user, delivery_time=prefs.parse_delivery_time(request.form.get("delivery_time", "")),
                    email=bool(request.form.get("email")), slack=bool(request.form.get("slack")),
                    work_days=prefs.parse_work_days(request.form.getlist("work_days")),
                )
                saved = True
            except ValidationError as refused:
                error, status = _sentence(str(refused)), 400
        current = prefs.get_preferences(session, user=user)
        return render_template("email_pages/preferences.html", prefs=current, weekdays=prefs.WEEKDAYS, error=error,
                               saved=saved, email=user.email, post_url=url_for(".preferences", token=token)), status


# Development outbox ------------------------------------------------------------------------

def _outbox() -> OutboxBackend:
    settings = get_settings()
    if settings.is_production or settings.email_backend != "outbox":
        abort(404)
    return OutboxBackend(outbox_directory(settings))


@bp.get("/dev/outbox")
def outbox_list() -> ResponseReturnValue:
    return render_template("email_pages/outbox.html", entries=_outbox().entries())


@bp.get("/dev/outbox/<entry_id>")
def outbox_message(entry_id: str) -> ResponseReturnValue:
    """The HTML part as the recipient's client would show it (``?part=text`` for the text part)."""
    message = _outbox().read(entry_id)
    want = "plain" if request.args.get("part") == "text" else "html"
    body = message.get_body(preferencelist=(want,))
    if body is None:
        abort(404)
    response = make_response(body.get_content())
    response.mimetype = f"text/{want}"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return response
