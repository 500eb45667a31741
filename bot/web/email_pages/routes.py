"""The pages behind email links: act on an action, unsubscribe, preferences, and the dev outbox.

Rules chosen (what the action pages say is in :mod:`bot.web.email_pages.pages`):

* **A GET never changes anything**, nor a HEAD. Mail scanners (Outlook Safe Links, Proofpoint, Gmail's
  prefetch) open every link, and link checkers send HEAD (which Flask answers wherever GET is
  allowed), so a link shows a confirmation page; only the POST from that page acts,
  through the core, recorded with channel ``email``. The one exception is RFC 8058's one-click
  unsubscribe, which is itself a POST.
* **One check per request.** The core checks the change once (``check_request``): the GET shows its
  answer or asks, the POST hands the same check to ``do_change`` on the locked action. Replied on a
  message the system closed is asked of the lead's message waiting now, and the page says so.
* **Slack catches up off the request.** After a change is committed, the Slack surfaces that show
  the plan are redrawn by the coalesced job (``bot.slack.redraws``); Redis out of reach costs that
  redraw only, logged: the change is saved and the page answered.
* **Every page tells the truth without telling too much.** A tampered link and a link for
  someone else's action get the same "not valid" page (404), so a page never confirms that an
  action exists; the page names the reasons true of its kind of link (an unsubscribe link is for no
  action) and where a working link of that kind is. An expired link (410) says so, how long its kind
  of link works, and where a fresh one is. A repeat ("Done" clicked twice) answers "Already done" and
  changes nothing.
* **An old link keeps only its own power.** An expired link opens nothing else (it never mints a
  fresh link to the preferences); the unsubscribe link, which never expires, can only stop email:
  turning it back on takes the preferences page of a current email, or Slack.
* Pages are plain server-rendered HTML with no JavaScript (the Content-Security-Policy forbids
  scripts), one column that fits a phone, sent with ``Referrer-Policy: no-referrer`` (the token in
  the URL must not leak to a lead's site), ``Cache-Control: no-store`` and ``noindex``.
* ``/dev/outbox`` exists only outside production and only with the outbox backend.
"""

from __future__ import annotations

from datetime import time
from functools import partial

from flask import Blueprint, Response, abort, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from bot.email.backends import OutboxBackend, outbox_directory
from bot.email.links import ACTION_MAX_AGE, PREFERENCES_MAX_AGE, ActionLink, EmailLinks, LinkExpired, LinkInvalid
from bot.web.email_pages import pages
from bot.web.private_pages import private
from bot.web.redraw_slack import redraw_slack_later
from core import preferences as prefs
from core.access import has_service
from core.actions.rules import Check
from core.actions.service import check_request, do_change, get_action
from core.actions.undo import UndoResult, undo_last_change, undoable_change
from core.calendars import service as calendars
from core.calendars.call_detection import detection_hint
from core.calendars.disconnection import disconnect_calendar as disconnect_calendar_of
from core.calendars.health import health_of, hiding_guests, ways_out
from core.calendars.plans_sized import NO_CALENDAR
from core.config import get_settings
from core.db import after_commit, unit_of_work
from core.errors import NotFound, ValidationError
from core.models import Action, ActionState, CalendarProvider, Channel, User
from core.planner.titles import sent_title_of
from core.users import get_settings_for, get_user
from core.workdays import WEEKDAYS

bp = Blueprint("email_pages", __name__)


def _links() -> EmailLinks:
    return EmailLinks.from_settings()


@bp.after_request
def _private(response: Response) -> Response:
    """Every form here posts here and is answered here: the preferences page's Connect forms too, whose
    answer is the connect page (``bot.web.calendar_routes``, whose own form-action allows the providers'
    sign-in)."""
    return private(response)


def _page(title: str, message: str, status: int, **extra: object) -> ResponseReturnValue:
    return render_template("email_pages/message.html", title=title, message=message, **extra), status


_INCOMPLETE = "It may have been copied incompletely"
_REMOVED = ("the action it was for was removed (an Undo removes the follow-up that the change it takes back had "
            "planned)")
#: Where a working link of each kind is: said by the "not valid" and the "expired" pages alike.
_BUTTONS = "Use the buttons in your latest NextBestMove email"
_UNDO = "The page after each change you make offers an Undo of that change."
_PREFERENCES = ("Use the Email preferences link at the bottom of your latest NextBestMove email; in Slack, "
                "/nbm settings opens them too.")
_WAITING = ("Your latest morning email lists who is waiting for a reply, with a link to the whole list when it is "
            "longer.")
_ANY = "Use the links in your latest NextBestMove email."
#: What the "not valid" page says, by the kind of link (the route it opened): the reasons a person can
#: meet for that kind, and where a working link of that kind is.
_NOT_VALID = {
    "action_link": f"{_INCOMPLETE}, or {_REMOVED}. {_BUTTONS}.",
    "undo": f"{_INCOMPLETE}, or {_REMOVED}. {_UNDO}",
    "unsubscribe": f"{_INCOMPLETE}. Use the Unsubscribe link at the bottom of your latest NextBestMove email.",
    "preferences": f"{_INCOMPLETE}. {_PREFERENCES}",
    "connect_calendar": f"{_INCOMPLETE}. {_PREFERENCES}",
    "disconnect_calendar": f"{_INCOMPLETE}. {_PREFERENCES}",
    "waiting": f"{_INCOMPLETE}. {_WAITING}",
    "plan_page": f"{_INCOMPLETE}. {_BUTTONS} instead.",
}
_SAFE = "For your safety,"
_DAYS = ACTION_MAX_AGE.days
_PREFERENCES_EXPIRED = (f"{_SAFE} the email preferences link stops working after {PREFERENCES_MAX_AGE.days} days. "
                        f"{_PREFERENCES}")
#: What the "expired" page says, by the kind of link, as :data:`_NOT_VALID`: how long that kind works
#: (``bot.email.links``), and where a fresh one is. An unsubscribe link never expires. An Undo link
#: outlives what it can do (a change is taken back only on its own day), so its page says that too.
_EXPIRED = {
    "action_link": f"{_SAFE} the buttons in an email stop working after {_DAYS} days. {_BUTTONS}.",
    "undo": (f"An Undo link stops working after {_DAYS} days, and a change can only be taken back on the day it "
             f"was made. {_UNDO}"),
    "preferences": _PREFERENCES_EXPIRED,
    "connect_calendar": _PREFERENCES_EXPIRED,
    "disconnect_calendar": _PREFERENCES_EXPIRED,
    "waiting": f"{_SAFE} the link to everyone waiting for a reply stops working after {_DAYS} days. {_WAITING}",
    "plan_page": f"{_SAFE} the link to your plan stops working after {_DAYS} days. {_BUTTONS} instead.",
}


def _kind_of_link() -> str:
    """The kind of link the request came with: the route it opened."""
    return (request.endpoint or "").rpartition(".")[2]


@bp.errorhandler(LinkInvalid)
@bp.errorhandler(NotFound)
def _not_valid(_: Exception) -> ResponseReturnValue:
    """One page for every link of a kind that leads to nothing of this person's, whatever the reason,
    so it never confirms that an action exists; it names the reasons a person can meet with that kind
    of link, and where a working one is (:data:`_NOT_VALID`)."""
    return _page("This link is not valid", _NOT_VALID.get(_kind_of_link(), f"{_INCOMPLETE}. {_ANY}"), 404)


@bp.errorhandler(LinkExpired)
def _expired(_: LinkExpired) -> ResponseReturnValue:
    """Says how long the kind of link works and where a fresh one is (:data:`_EXPIRED`), and links to
    none: a link minted here would outlive the old one (a 7-day action link must not turn into a
    90-day preferences link)."""
    return _page("This link has expired",
                 _EXPIRED.get(_kind_of_link(), f"{_SAFE} email links stop working after a while. {_ANY}"), 410)


# Action links ------------------------------------------------------------------------------

@bp.route("/a/<token>", methods=["GET", "POST"])
def action_link(token: str) -> ResponseReturnValue:
    """GET asks for confirmation; only the POST from that page acts. Both first check that there is
    something to do, so a second use or a refused move answers alike however it arrives."""
    link = _links().read_action(token)
    with unit_of_work(user_id=link.user_id) as session:
        user = get_user(session, link.user_id)
        # The POST locks the action it acts on: a press racing it waits, then sees a repeat.
        check = check_request(session, user=user, action_id=link.action_id, to=link.mark.target,
                              channel=Channel.EMAIL, lock=request.method == "POST")
        settled = pages.nothing_to_do(link, check, user)
        if settled is not None:
            return _result(session, user, settled)
        if request.method != "POST":  # GET, or the HEAD a link checker sends: only asks
            return _confirm(link, check, user, post_url=url_for(".action_link", token=token))
        return _apply(session, link, check, user)


def _confirm(link: ActionLink, check: Check, user: User, *, post_url: str) -> ResponseReturnValue:
    """Asks about the action the link is for, named as where the link was (a message waiting for a
    reply as the waiting list names it); where a moved reply goes, the explanation says."""
    action = check.moved.asked if check.moved is not None else check.action
    said, lead = pages.wording(link, action, user), action.lead
    title = sent_title_of(action) if action.state == ActionState.SENT else pages.title_of(action)
    return render_template(
        "email_pages/confirm.html", question=said.question, title=title, note=pages.note_of(action),
        lead_name=lead.name if lead else None, lead_url=lead.url if lead else None,
        explanation=pages.explanation(said, check), button=said.button, post_url=post_url,
    )


def _apply(session: Session, link: ActionLink, check: Check, user: User) -> ResponseReturnValue:
    """Act on the core's check of the locked action; Slack is redrawn once the change is committed."""
    until = pages.snooze_until(user) if link.mark.is_snooze else None
    try:
        result = do_change(session, user=user, check=check, until=until)
    except ValidationError as error:  # the snooze's date (the check allowed the change itself)
        return _result(session, user, pages.refused(check.action, str(error)))
    after_commit(session, partial(redraw_slack_later, user.id))
    return _result(session, user, pages.applied(link, result, user), created=result.created, changed=result.action)


def _result(
    session: Session, user: User, outcome: pages.Outcome, *, created: tuple[Action, ...] = (),
    changed: Action | None = None,
) -> ResponseReturnValue:
    page = pages.result_page(session, user=user, outcome=outcome, links=_links(), created=created, changed=changed)
    return render_template("email_pages/result.html", page=page), outcome.status


@bp.route("/undo/<token>", methods=["GET", "POST"])
def undo(token: str) -> ResponseReturnValue:
    """GET asks (link scanners open links too), once it has checked that the change the link's page
    showed is still the one to take back, as an action link checks there is something to do; the POST
    takes back that change only, through the core. A link that names no change (signed before links
    did) cannot tell which change its page showed, so it takes nothing back and says so."""
    link = _links().read_undo(token)
    with unit_of_work(user_id=link.user_id) as session:
        user = get_user(session, link.user_id)
        action = get_action(session, user=user, action_id=link.action_id)
        if link.change_id is None:
            return _result(session, user, pages.undo_names_no_change(action))
        if request.method != "POST":  # GET or HEAD
            change = undoable_change(session, user=user, action=action)
            if change is None or change.id != link.change_id:
                return _result(session, user, pages.undone(UndoResult(action=action, undone=None), user))
            return render_template(
                "email_pages/confirm.html", question="Undo this change?", title=pages.title_of(action),
                note=None, lead_name=None, lead_url=None, button="Undo", post_url=url_for(".undo", token=token),
                explanation="It goes back to how it was before, with anything the change planned for it.",
            )
        result = undo_last_change(session, user=user, action_id=action.id, channel=Channel.EMAIL,
                                  change_id=link.change_id)
        if result.changed:
            after_commit(session, partial(redraw_slack_later, user.id))
        return _result(session, user, pages.undone(result, user))


# Unsubscribe and preferences ---------------------------------------------------------------

@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str) -> ResponseReturnValue:
    """GET asks; POST (the page's button, or a mail provider's RFC 8058 one-click) unsubscribes.

    The link never expires and sits in every email, forwarded ones included, so it can only stop
    email. A POST asking to turn email back on (the button this page had before) is refused with 400
    and changes nothing, whatever the current setting."""
    user_id = _links().read_unsubscribe(token)
    with unit_of_work(user_id=user_id) as session:
        user = get_user(session, user_id)
        refused = request.method == "POST" and "resubscribe" in request.form
        if request.method == "POST" and not refused:
            prefs.unsubscribe(session, user=user)
        subscribed = prefs.email_is_on(get_settings_for(session, user))
        return render_template("email_pages/unsubscribe.html", subscribed=subscribed, refused=refused,
                               email=user.email, post_url=url_for(".unsubscribe", token=token)), 400 if refused else 200


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
                    working_hours=_working_hours(request.form.get("hours_start"), request.form.get("hours_end")),
                    call_detection=bool(request.form.get("call_detection")) if "call_detection_shown" in request.form
                    else None,
                )
                saved = True
            except ValidationError as refused:
                error, status = pages.sentence(str(refused)), 400
        return _preferences_page(session, user, token, error=error, saved=saved), status


def _working_hours(start: str | None, end: str | None) -> tuple[time, time] | None:
    """The form's working hours; None (unchanged) when the form has neither field (an older page)."""
    return prefs.parse_working_hours(f"{start or ''}-{end or ''}") if start or end else None


def _preferences_page(session: Session, user: User, token: str, *, error: str | None = None, saved: bool = False,
                      calendar_note: str | None = None) -> str:
    """The page, its calendars said as App Home says them: each one's health, and the same Connect,
    Reconnect or Replace address for a kind that needs one (``core.calendars.health``). The kinds this
    server offers decide both the buttons and whether a calendar hiding its guests is told to connect
    again below (``hiding_guests``, as Slack's settings say it), so the page never points at a button
    it does not show. Call detection is said as Slack's settings say it (``detection_hint``)."""
    preferences = prefs.get_preferences(session, user=user)
    connections = calendars.list_connections(session, user=user)
    offered = calendars.offered(get_settings())
    guests_again, guests_lost = hiding_guests(
        [c.provider for c in connections if preferences.call_detection and not c.reads_events], offered)
    return render_template(
        "email_pages/preferences.html", prefs=preferences, weekdays=WEEKDAYS,
        error=error, saved=saved, email=user.email, post_url=url_for(".preferences", token=token),
        calendars=connections, health={c.provider: health_of(c, timezone=user.timezone) for c in connections},
        ways=ways_out(connections, offered, call_detection=preferences.call_detection),
        guests_again=guests_again, guests_lost=guests_lost, calls=detection_hint(
            on=preferences.call_detection, connections=connections, service=has_service(session, user.id)),
        calendar_note=calendar_note, token=token, names=calendars.NAMES, no_calendar=NO_CALENDAR,
        billing=pages.billing_card(session, user=user, links=_links()),
    )


@bp.post("/preferences/<token>/calendar/<kind>")
def connect_calendar(token: str, kind: str) -> ResponseReturnValue:
    """Connect a calendar from the preferences page: Google or Outlook by signing in, an iCal address by
    pasting it (read once before it is saved). A refused address is answered on the page with everything
    the attempt did undone (its own savepoint), so the page shows the calendars as they were.

    Signing in goes through the connect page that names the account, as from every channel, not straight
    to the provider. Whoever posts this form holds the user's preferences link, but the browser posting
    it need not be theirs: a page elsewhere can post a form here for any visitor, with its owner's link,
    and a visitor sent straight to Google's consent screen would connect their own calendar to that
    owner's account unaware. The connect page names the account first, and its Continue is refused to
    a form posted from elsewhere."""
    user_id = _links().read_preferences(token)
    provider = next((p for p in calendars.offered(get_settings()) if p.value == kind), None)
    if provider is None:
        abort(404)
    with unit_of_work(user_id=user_id) as session:
        user = get_user(session, user_id)
        if provider != CalendarProvider.ICS:
            return redirect(calendars.oauth_start(session, user=user, kind=provider, settings=get_settings()), 303)
        try:
            with session.begin_nested():
                connection = calendars.connect_ics(session, user=user, url=request.form.get("address", ""))
        except ValidationError as refused:
            return _preferences_page(session, user, token, calendar_note=pages.sentence(str(refused))), 400
        return _preferences_page(session, user, token,
                                 calendar_note=f"Connected your calendar at {connection.calendar_id}.")


@bp.post("/preferences/<token>/calendar/<kind>/disconnect")
def disconnect_calendar(token: str, kind: str) -> ResponseReturnValue:
    """Disconnect a calendar from the preferences page, as App Home's button and ``/nbm disconnect`` do
    (``core.calendars.disconnection``); the page says what follows for the plans, and Slack's App
    Home is redrawn without it once that is committed. Any kind may be disconnected, offered or not."""
    user_id = _links().read_preferences(token)
    provider = next((p for p in CalendarProvider if p.value == kind), None)
    if provider is None:
        abort(404)
    with unit_of_work(user_id=user_id) as session:
        user = get_user(session, user_id)
        outcome = disconnect_calendar_of(session, user=user, kind=provider)
        if outcome.removed:
            after_commit(session, partial(redraw_slack_later, user.id))
        return _preferences_page(session, user, token, calendar_note=outcome.said)


@bp.route("/waiting/<token>")
def waiting(token: str) -> ResponseReturnValue:
    """Everyone waiting for a reply (the digest lists the first few), each with a Replied button."""
    user_id = _links().read_waiting(token)
    with unit_of_work(user_id=user_id) as session:
        user = get_user(session, user_id)
        return render_template("email_pages/waiting.html", waiting=pages.all_waiting(session, user=user,
                                                                                     links=_links()))


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


# A digest's plan --------------------------------------------------------------------------

@bp.get("/today/<token>")
def plan_page(token: str) -> ResponseReturnValue:
    """The plan of the link's day with each action's buttons, and who is waiting for a reply now: the
    digest's text part links here once instead of carrying four long links per action, to its own
    plan (a catch-up digest's earlier day, as its HTML part's buttons; a link naming no day, from
    before links did, the reader's today). It only reads (the buttons post to the action links), and
    like the result page it never builds a plan that the morning job has not."""
    link = _links().read_plan(token)
    with unit_of_work(user_id=link.user_id) as session:
        user = get_user(session, link.user_id)
        card = pages.plan_card(session, user=user, links=_links(), day=link.day)
        return render_template("email_pages/today.html", card=card)
