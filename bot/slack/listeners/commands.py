"""``/nbm`` and its subcommands (PRODUCT.md, "Channels → Slack").

Every answer is ephemeral, except the plan itself, which goes to the person's DM with the app so
its buttons update it in place. Anything unknown answers with the help. What was typed is read as
the person typed it, Slack's escapes undone and its wrapped links unwrapped, before any subcommand
sees it (bot.slack.parsing, which holds the rules for the words of ``add``, ``snooze`` and ``call``).
Rules where the spec is silent:

* ``/nbm today`` shows the plan in the DM: a day's plan is one message there (bot.slack.plan_dm), so
  the one already there (the morning's, or one posted earlier) is brought up to date and the answer
  links to it; the plan is posted only when the DM has none of today's (or it was deleted), and the
  answer says so when typed elsewhere.
* Any ``/nbm``, the help included, is first contact: the Slack user becomes a user before the answer.
* ``/nbm add`` with a lead, and ``/nbm capacity``, refresh today's plan (done items stay, free
  slots are refilled), so the new lead or the new capacity shows at once. A lead is checked and
  added before a calendar is read for a plan still to be made, as the add-lead form does
  (``forms.add_lead_then_plan``): a refused one reads nothing.
* ``/nbm snooze <n>`` without a date snoozes until tomorrow, the first preset, and says how to pick
  another day.
* ``/nbm done|sent|replied|snooze|unsnooze <n or name>`` names the action it marked, after its
  number in today's plan when it was typed by number, and offers Undo for the change it made (none
  for a repeat); what the Undo did replaces the answer. An unsnooze makes the action due today (an
  Undo puts back the snooze and its date). A number typed before today's plan exists marks nothing:
  the plan is posted as ``/nbm today`` posts it, with the numbers to type (bot.slack.references).
* ``/nbm leads`` lists the active and snoozed leads (archived ones are put away), at most 50.
* ``/nbm disconnect <kind>`` takes the kinds ``/nbm connect`` takes, any of them (a calendar connected
  before its provider was turned off on this server can still be disconnected).
* Without service no plan and no weekly summary is made (core.billing.status.NoService): ``/nbm today``,
  ``/nbm capacity``, a mark by number and ``/nbm summary`` answer with ``/nbm billing``'s sentence and
  Subscribe button (the common guard); a plan or a summary made before the service ended is shown
  (and a plan marked) as usual, a mark by a lead's name works without a plan, and ``/nbm add`` adds
  the lead and says why no plan takes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial

from slack_bolt import App
from sqlalchemy.orm import Session

from bot.slack.billing import billing_view
from bot.slack.blocks.billing import billing_reply
from bot.slack.blocks.home import BILLING_PLACEHOLDER
from bot.slack.blocks.modals import add_lead_modal
from bot.slack.blocks.plan import plan_message
from bot.slack.blocks.replies import calendar_connected, call_logged, capacity_said, leads_list, marked, with_undo
from bot.slack.blocks.text import cut, escape
from bot.slack.delivery import post_dm, recipient_for, summary_content_building_if_missing
from bot.slack.listeners import forms
from bot.slack.listeners.common import Request, guarded
from bot.slack.parsing import split_add, split_call, split_snooze, typed
from bot.slack.plan_dm import Message, asked_turn, permalink, plan_messages, record_posted, updated
from bot.slack.references import (
    Reference,
    names_lead,
    number_before_plan,
    one_lead,
    read_reference,
    resolve_action,
)
from bot.slack.surfaces import waiting_page
from core.actions.followups import work_days_for
from core.actions.marks import TYPED, Mark
from core.actions.service import TransitionResult, change_state
from core.actions.snooze import snooze_presets
from core.billing.status import NoService
from core.calendars import service as calendars
from core.calendars.disconnection import disconnect_calendar
from core.calendars.plans_sized import after_connecting, before_connecting
from core.clock import local_today
from core.config import get_settings
from core.errors import ValidationError
from core.leads import list_leads
from core.models import ActionState, CalendarConnection, CalendarProvider, Channel, User
from core.planner.capacity import parse_level
from core.planner.replan import log_call_and_replan, set_capacity_and_replan
from core.planner.service import set_focus
from core.planner.sizing import CalendarDay, planning_as_user
from core.planner.view import PlanView, day_plan_view, plan_view_building_if_missing
from core.streaks import current_streak, streak_line
from core.users import acting_as_user
from core.workdays import is_work_day

#: Escaped (bot.slack.blocks.text.escape): Slack reads ``<name>`` as markup, even between backticks.
HELP = escape("""*NextBestMove*: the few follow-ups that matter most today.
• `/nbm today`: today's plan, in your DM with me
• `/nbm add <name> <link> [notes]`: add a lead (`/nbm add` alone opens a form)
• `/nbm leads`: your leads · `/nbm waiting [page]`: who has not replied yet
• `/nbm done|sent|replied <n>`: mark the item numbered *n* in today's plan (or use a lead's name or link)
• `/nbm snooze <n> [when]`: not now; tomorrow, in 3 days, next monday, next work day, 2 weeks or YYYY-MM-DD
• `/nbm unsnooze <n>`: bring a snoozed action (or a lead's, by name or link) back today
• `/nbm focus <text>`: this week's focus · `/nbm capacity micro|light|standard|heavy|default`
• `/nbm call <lead> <date>`: log a call with a lead (its name or link; `/nbm call` alone opens a form)
• `/nbm summary`: last week's summary · `/nbm streak`: your streak
• `/nbm settings`: delivery time, channels, timezone, work days
• `/nbm connect`: connect a calendar (it lists the kinds this server offers) · `/nbm disconnect`: stop one being read
• `/nbm billing`: your plan""")

LEADS_LISTED = 50


def register(app: App) -> None:
    app.command("/nbm")(guarded(nbm))


def nbm(request: Request) -> None:
    request.ack()
    word, rest = split_subcommand(typed(request.body.get("text") or ""))
    if word in TYPED:
        mark(request, rest, TYPED[word])
    else:
        SUBCOMMANDS.get(word, show_help)(request, rest)


def split_subcommand(text: str) -> tuple[str, str]:
    """``(subcommand in lower case, the rest)`` of what was typed; the DM reads messages with it too.

    Split on any whitespace: Shift-Enter puts a new line right after the subcommand."""
    word, rest = ([*text.split(None, 1), "", ""])[:2]
    return word.lower(), rest.strip()


def show_help(request: Request, rest: str) -> None:
    """The help: for ``/nbm help``, bare ``/nbm``, anything unknown and a DM's words other than ``today``.
    It is first contact like any command: a Slack user not linked yet becomes a user here (README: "say
    `/nbm help` to the app: you become a user"), or is told why they cannot."""
    request.meet()
    request.reply(HELP)


def today(request: Request, rest: str) -> None:
    with planning_as_user(request.user_id) as (session, user, calendar):
        view = plan_view_building_if_missing(session, user=user, calendar=calendar)
    shown = post_plan(request, view)
    if shown.posted and shown.here:
        return
    if shown.posted:
        request.reply(f"📬 Today's plan is in your DM with me: {view.size()}.")
        return
    link = permalink(request.client, shown.message)
    where = "above" if shown.here else "in your DM with me"
    request.reply(f"📬 Today's plan is {where}, up to date: {view.size()}." + (f" <{link}|Open it>" if link else ""))


@dataclass(frozen=True)
class PlanInDm:
    """Where :func:`post_plan` showed the plan: ``message``, ``posted`` just now (else an earlier copy
    brought up to date), ``here`` when in the channel the command was typed in."""

    message: Message
    posted: bool
    here: bool


def post_plan(request: Request, view: PlanView) -> PlanInDm:
    """Show today's plan (``view``) in the person's DM with the app, where its buttons update it in
    place (an ephemeral copy could not be updated): in the copies of it already there, brought up to
    date, else in a new message, recorded so that every redraw reaches it. The copies are read, and
    a new one posted and recorded, in the user's turn (bot.slack.plan_dm), so that two requests at
    once, or a request and the morning's delivery, post one copy between them. Called once the plan
    is committed."""
    text, blocks = plan_message(view)
    here = request.body.get("channel_id")
    # Read before the turn, whose unit of work holds a connection: one request, one connection at a
    # time (a process's pool is capped: DB_POOL_SIZE).
    to = recipient_for(team_id=request.context.team_id or "", slack_user_id=request.slack_user_id)
    with asked_turn(request.user_id, day=view.date) as turn:
        copies = plan_messages(turn, user_id=request.user_id, day=view.date)
        kept = [copy for copy in copies if updated(request.client, copy, text=text, blocks=blocks)]
        if kept:
            message = max(kept, key=lambda copy: Decimal(copy.ts))  # the newest, nearest the bottom of the DM
            return PlanInDm(message, posted=False, here=here == message.channel)
        channel, ts = post_dm(request.client, to, text=text, blocks=blocks)
        message = Message(channel, ts, view.date)
        record_posted(turn, user_id=request.user_id, message=message)
    return PlanInDm(message, posted=True, here=here == channel)


def add(request: Request, rest: str) -> None:
    if not rest:
        request.open_modal(add_lead_modal())
        return
    # As Slack sent it: which words Slack made links of is lost once they are unwrapped (bot.slack.parsing).
    name, url, notes = split_add(split_subcommand(request.body.get("text") or "")[1])
    forms.add_lead_then_plan(request, name=name, url=url, notes=notes, answer=request.reply)


def leads(request: Request, rest: str) -> None:
    with acting_as_user(request.user_id) as (session, user):
        text = leads_list(list_leads(session, user=user), limit=LEADS_LISTED, today=local_today(user.timezone))
    request.reply(text)


def waiting(request: Request, rest: str) -> None:
    """`/nbm waiting [page]`: every action waiting for a reply, a page of :data:`WAITING_PAGE` at a time."""
    if rest and not (rest.isdecimal() and len(rest) <= 4 and int(rest) >= 1):
        raise ValidationError(f"{rest[:20]!r} is not a page number; use `/nbm waiting` or `/nbm waiting 2`")
    page = int(rest or 1)
    with acting_as_user(request.user_id) as (session, user):
        text, blocks = waiting_page(session, user=user, page=page)
    request.reply(text, blocks=blocks)


def mark(request: Request, rest: str, asked_for: Mark) -> None:
    """What was typed is checked before today's plan is made (and its calendar read for it): a snooze
    date or a reference that is refused whatever the plan holds waits on no calendar. A plan number
    can only be checked against the plan, so it is made first when there is none; and then it marks
    nothing, since it cannot be a number the person read in that plan (bot.slack.references): the
    new plan is posted as ``/nbm today`` posts it, and the answer says to type the number from it."""
    target = asked_for.target
    read_typed = partial(typed_mark, rest=rest, target=target)
    with planning_as_user(request.user_id, check=read_typed) as (session, user, calendar):
        asked = read_typed(session, user)
        seen = day_plan_view(session, user=user)
        if seen is None and isinstance(asked.ref, str):  # without service, NoService says why there is no plan
            outcome: PlanView | tuple[str, TransitionResult] = plan_view_building_if_missing(
                session, user=user, calendar=calendar)
        else:
            outcome = apply_mark(session, user=user, asked=asked, seen=seen, calendar=calendar, target=target)
    if isinstance(outcome, PlanView):
        shown = post_plan(request, outcome)
        request.reply(number_before_plan(outcome, asked_for, in_dm=shown.posted and shown.here))
        return
    text, result = outcome
    request.reply(text, blocks=with_undo(text, result))
    if result.changed:
        request.redraw()


def apply_mark(session: Session, *, user: User, asked: TypedMark, seen: PlanView | None,
               calendar: CalendarDay | None, target: ActionState) -> tuple[str, TransitionResult]:
    """The mark ``asked`` on the action it means (``seen``: today's plan as it was before the command;
    a lead's name may still need it made, and finds its action without service), and its answer."""
    try:
        view: PlanView | NoService = seen or plan_view_building_if_missing(session, user=user, calendar=calendar)
    except NoService as no_plan:  # a lead's name still finds its action: the user's data stays theirs
        view = no_plan
    chosen = resolve_action(session, user=user, view=view, ref=asked.ref, target=target)
    result = change_state(session, user=user, action_id=chosen.action_id, to=target, channel=Channel.SLACK,
                          until=asked.until)
    return marked(result, chosen.title, target, defaulted=asked.defaulted, today=asked.today,
                  number=chosen.number), result


@dataclass(frozen=True)
class TypedMark:
    """``/nbm done|sent|replied|snooze|unsnooze`` as typed, read on the user's ``today``: which action, and a
    snooze's end (``defaulted`` when none was typed and it is the first preset)."""

    ref: Reference
    until: date | None
    defaulted: bool
    today: date


def typed_mark(session: Session, user: User, *, rest: str, target: ActionState) -> TypedMark:
    """What follows the mark's word, checked as far as it can be without today's plan."""
    today = local_today(user.timezone)
    until = None
    work_days = work_days_for(session, user)
    if target == ActionState.SNOOZED:
        rest, until = split_snooze(rest, today=today, work_days=work_days,
                                   names_lead=lambda words: names_lead(session, user=user, words=words))
    defaulted = target == ActionState.SNOOZED and until is None
    if defaulted:
        until = snooze_presets(today, work_days)[0][1]
    return TypedMark(read_reference(session, user=user, ref=rest), until, defaulted, today)


def focus(request: Request, rest: str) -> None:
    with acting_as_user(request.user_id) as (session, user):
        set_focus(session, user=user, text=rest)
    request.reply(f"🎯 This week's focus: {escape(rest)}")
    request.redraw()


def capacity(request: Request, rest: str) -> None:
    level = parse_level(rest)
    with planning_as_user(request.user_id) as (session, user, calendar):
        view = set_capacity_and_replan(session, user=user, level=level, channel=Channel.SLACK, calendar=calendar)
    request.reply(capacity_said(level, view))
    request.redraw()


def call(request: Request, rest: str) -> None:
    if not rest:
        forms.open_log_call(request)
        return
    with acting_as_user(request.user_id) as (session, user):
        today = local_today(user.timezone)
        ref, call_date = split_call(rest, today=today)
        lead = one_lead(session, user=user, ref=ref)
        text = call_logged(lead.name, log_call_and_replan(session, user=user, lead_id=lead.id, call_date=call_date,
                                                         channel=Channel.SLACK), today=today)
    request.reply(text)
    request.redraw()


def summary(request: Request, rest: str) -> None:
    with acting_as_user(request.user_id) as (session, user):
        text, blocks = summary_content_building_if_missing(session, user=user)
    request.reply(text, blocks=blocks)


def streak(request: Request, rest: str) -> None:
    with acting_as_user(request.user_id) as (session, user):
        today, work_days = local_today(user.timezone), work_days_for(session, user)
        count = current_streak(user, work_days=work_days, today=today)
        line = streak_line(count, work_day=is_work_day(today, work_days), counted_today=user.last_action_date == today)
    request.reply(f"🔥 {line}" if count else line)


def settings(request: Request, rest: str) -> None:
    forms.open_settings(request)


def connect(request: Request, rest: str) -> None:
    """`/nbm connect google|outlook` answers with the connect link (our page naming the account, then the
    provider's sign-in: ``bot.web.calendar_routes``); `/nbm connect ics <address>` connects. Any other
    word is answered with the ways this server offers and what sizes the plans
    (``core.calendars.plans_sized.before_connecting``)."""
    word, address = split_subcommand(rest)
    offered = calendars.offered(get_settings())
    kinds = {kind.value: kind for kind in offered}
    if word not in kinds:
        choices = " or ".join(f"`/nbm connect {k.value}{' <private iCal address>' if k.value == 'ics' else ''}`"
                              for k in offered)
        with acting_as_user(request.user_id) as (session, user):
            sized = before_connecting(session, user=user)
        request.reply(f"Connect a calendar with {choices}. {sized}")
        return
    kind = kinds[word]
    with acting_as_user(request.user_id) as (session, user):
        if kind == CalendarProvider.ICS:
            connection = calendars.connect_ics(session, user=user, url=address.strip("<>"))
            text = f"✅ {calendar_connected(connection.calendar_id, after_connecting(session, user=user))}"
        else:
            url = calendars.oauth_start(session, user=user, kind=kind, settings=get_settings())
            text = (f"<{url}|Connect {calendars.NAMES[kind]}>: the page names your NextBestMove account; press "
                    "Continue there to sign in (the link works for one sign-in, within 10 minutes).")
    request.reply(text)
    request.redraw()


def disconnect(request: Request, rest: str) -> None:
    """`/nbm disconnect google|outlook|ics`, the words `/nbm connect` takes: disconnected as App Home's
    button does it (``core.calendars.disconnection``). Alone, or with another word, it lists the
    user's calendars to disconnect, changing nothing."""
    word = rest.lower()
    kind = next((kind for kind in CalendarProvider if kind.value == word), None)
    with request.acting() as (session, user):
        if kind is None:
            text = disconnect_usage(calendars.list_connections(session, user=user), typed=rest)
            outcome = None
        else:
            outcome = disconnect_calendar(session, user=user, kind=kind)
            text = escape(outcome.said)
    request.reply(text)
    if outcome is not None and outcome.removed:
        request.redraw()


def disconnect_usage(connected: list[CalendarConnection], *, typed: str) -> str:
    """How to disconnect each of ``connected``, after what was wrong with ``typed`` (if anything was typed)."""
    wrong = f"“{escape(cut(typed, 40))}” is not a calendar, so nothing was disconnected. " if typed else ""
    if not connected:
        return f"{wrong}You have no calendar connected: there is nothing to disconnect."
    choices = " or ".join(f"`/nbm disconnect {c.provider.value}` ({calendars.NAMES[c.provider]})" for c in connected)
    return f"{wrong}Disconnect a calendar with {choices}: it is no longer read, and its address or sign-in is deleted."


def billing(request: Request, rest: str) -> None:
    """`/nbm billing`: where the user stands, with Subscribe or Manage billing (their billing page)."""
    with acting_as_user(request.user_id) as (session, user):
        view = billing_view(session, user=user)
    if view is None:
        request.reply(BILLING_PLACEHOLDER)
        return
    text, blocks = billing_reply(view)
    request.reply(text, blocks=blocks)


SUBCOMMANDS: dict[str, Callable[[Request, str], None]] = {
    "help": show_help, "today": today, "add": add, "leads": leads, "waiting": waiting, "focus": focus,
    "capacity": capacity, "call": call, "summary": summary, "streak": streak, "settings": settings,
    "connect": connect, "disconnect": disconnect, "billing": billing,
}
