"""App Home: today's plan, streak, leads, quick add, settings, calendars and billing, on one page.

The Calendar section lists each connection with its health and a Disconnect button, then the way to
connect (or reconnect) each kind this server offers, the working hours and call detection; with none
connected it says what sizes the plans instead (core.calendars.plans_sized.NO_CALENDAR). With billing
on, the Billing section shows the user's plan with a Subscribe or Manage billing button, and a banner
leads the tab when their service has ended (bot.slack.blocks.billing); no plan is made then, and the
banner stands in for "not made yet" (a plan made before the end stays shown for its day). With billing
off (no Stripe keys: self-hosting) it says so, and that the user has full service.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from bot.slack import ids
from bot.slack.blocks.billing import BillingView, billing_section, paused_banner
from bot.slack.blocks.plan import overview, plan_section, waiting_section
from bot.slack.blocks.text import (
    VIEW_BLOCKS,
    Block,
    button,
    confirm,
    context,
    divider,
    escape,
    header,
    link,
    mrkdwn,
    section,
)
from core.calendars import plans_sized
from core.calendars.call_detection import detection_said
from core.calendars.disconnection import plans_after
from core.calendars.health import health_of, ways_out
from core.calendars.service import NAMES
from core.models import CalendarConnection, CalendarConnectionStatus, CalendarProvider, Lead, LeadStatus, UserSettings
from core.planner.view import PlanView
from core.preferences import email_is_on
from core.text import short_date, short_date_from
from core.workdays import WEEKDAYS

#: Leads listed by name on the Home tab; the rest are counted.
LEADS_SHOWN = 15
#: A section block holds at most this many characters (Slack's limit).
SECTION_CHARS = 3000
#: The line after the leads App Home has room for.
_MORE_LEADS = "…and {count} more not shown: `/nbm leads` lists them all."
NO_CALENDAR = f"{plans_sized.NO_CALENDAR} Connect one and {plans_sized.FREE_TIME} sizes them."
#: The mark before a connection's health (its words are core.calendars.health's, as every channel says them).
HEALTH_MARK = {CalendarConnectionStatus.ACTIVE: "✅ ", CalendarConnectionStatus.ERROR: "⚠️ ",
               CalendarConnectionStatus.EXPIRED: "❌ ", CalendarConnectionStatus.DISCONNECTED: ""}
BILLING_PLACEHOLDER = "Billing is not set up on this server: you have full service."
#: App Home redrawn on a day whose plan is not made yet (a redraw never makes one).
NOT_PLANNED = "Today's plan is not made yet: press 🔄 Refresh plan to make it now."


@dataclass(frozen=True)
class HomeData:
    #: Today's plan; None when it is not made yet (then ``today`` names the day).
    plan: PlanView | None
    leads: Sequence[Lead]
    settings: UserSettings
    timezone: str
    #: The user's local today: the Home tab's title when there is no plan yet, and what a snoozed
    #: lead's date is read from.
    today: date
    calendars: Sequence[CalendarConnection] = ()
    offered: Sequence[CalendarProvider] = ()
    #: The user's billing while billing is on (bot.slack.blocks.billing); None: the placeholder.
    billing: BillingView | None = None


def home_view(data: HomeData) -> Block:
    """The whole Home tab (at most 100 blocks: the plan gets what the other sections leave)."""
    day = data.plan.date if data.plan is not None else data.today
    paused = paused_banner(data.billing) if data.billing else []
    top = [
        *paused,
        header(f"Today · {short_date(day)}"),
        *([overview(data.plan)] if data.plan is not None else []),
        {"type": "actions", "elements": [
            button("➕ Add a lead", ids.OPEN_ADD_LEAD, style="primary"),
            button("📞 Log a call", ids.OPEN_LOG_CALL),
            button("🔄 Refresh plan", ids.REFRESH_PLAN),
        ]},
        divider(),
    ]
    rest = [divider(), *leads_section(data.leads, today=data.today),
            divider(), *settings_section(data.settings, data.timezone),
            divider(), *calendar_section(data.calendars, data.offered, data.settings, data.timezone,
                                         service=data.billing is None or data.billing.status.has_service),
            *(billing_section(data.billing) if data.billing else [header("Billing"), context(BILLING_PLACEHOLDER)])]
    if data.plan is None:  # without service none is made: the banner above says why
        return {"type": "home", "blocks": [*top, *([] if paused else [section(NOT_PLANNED)]), *rest]}
    budget = VIEW_BLOCKS - len(top) - len(rest)
    plan = plan_section(data.plan, surface=ids.Surface.HOME, budget=budget - min(len(data.plan.waiting) + 2, 12))
    waiting = waiting_section(data.plan.waiting, total=data.plan.waiting_total, surface=ids.Surface.HOME,
                              budget=budget - len(plan), today=data.today)
    return {"type": "home", "blocks": top + plan + waiting + rest}


def notice_home(text: str) -> Block:
    """The Home tab when it cannot show the plan (the account could not be set up, or a bug):
    ``text`` says why, rather than leaving the tab blank. ``text`` is mrkdwn, escaped by the caller."""
    retry = context("Close and reopen this tab to try again. `/nbm help` lists every command.")
    return {"type": "home", "blocks": [header("NextBestMove"), section(text), retry]}


def live_leads(leads: Sequence[Lead]) -> list[Lead]:
    """The leads worth listing: active and snoozed; archived ones were put away on purpose."""
    return [lead for lead in leads if lead.status != LeadStatus.ARCHIVED]


def leads_section(leads: Sequence[Lead], *, today: date) -> list[Block]:
    live = live_leads(leads)
    if not live:
        return [header("Leads"), section("No leads yet. *Add a lead* above, or `/nbm add <name> <link>`.")]
    lines: list[str] = []
    for lead in live[:LEADS_SHOWN]:
        line = lead_line(lead, today=today)
        # A section holds 3,000 characters: stop between leads, leaving room for the count of the rest.
        if sum(len(kept) + 1 for kept in lines) + len(line) > SECTION_CHARS - len(_MORE_LEADS) - 12:
            break
        lines.append(line)
    if len(live) > len(lines):
        lines.append(_MORE_LEADS.format(count=len(live) - len(lines)))
    return [header(f"Leads ({len(live)})"), section("\n".join(lines))]


def lead_line(lead: Lead, *, today: date) -> str:
    """'• <url|Ann Lee>', with the date a snoozed lead comes back (its year too when months away)."""
    back = lead.snooze_until if lead.status == LeadStatus.SNOOZED else None
    return f"• {link(lead.url, lead.name)}" + (
        f"  💤 until {short_date_from(back, today=today)}" if back is not None else "")


def calendar_section(calendars: Sequence[CalendarConnection], offered: Sequence[CalendarProvider],
                     settings: UserSettings, timezone: str, *, service: bool) -> list[Block]:
    """Each connection with its health, last read and a Disconnect button (Slack asks first: it deletes
    a secret); then the way out of each kind that needs one (``core.calendars.health``: Connect,
    Reconnect, or Replace address, which opens an iCal address's form); call detection as the user's
    ``service`` and calendars make it now."""
    hours = f"{settings.working_hours_start:%H:%M}–{settings.working_hours_end:%H:%M}"
    rows = [section(_calendar_line(c, timezone), accessory=_disconnect_button(c, calendars)) for c in calendars]
    buttons = [button(label, ids.connect_calendar(kind), kind.value)
               for kind, label in ways_out(calendars, offered, call_detection=settings.call_detection)]
    calls = detection_said(on=settings.call_detection, connections=calendars, service=service) + (
        " Connect one below." if settings.call_detection and not calendars
        else "" if settings.call_detection else " Edit settings to find your calls with leads.")
    blocks = [header("Calendar"), *(rows or [section(NO_CALENDAR)]),
              context(f"Working hours {hours}, your local time. {calls}")]
    return [*blocks, {"type": "actions", "elements": buttons}] if buttons else blocks


def _disconnect_button(connection: CalendarConnection, calendars: Sequence[CalendarConnection]) -> Block:
    """The Disconnect button of ``connection``, whose confirmation says what sizes the next plans once
    the other ``calendars`` are what is left, in the words the answer after disconnecting uses
    (:func:`core.calendars.disconnection.plans_after`: an expired one left means the default capacity)."""
    kind = connection.provider
    kept = "address" if kind == CalendarProvider.ICS else "sign-in"
    left = plans_after([c for c in calendars if c is not connection])
    return button("Disconnect", ids.DISCONNECT_CALENDAR, kind.value, confirm=confirm(
        f"Disconnect your {NAMES[kind]}?", f"NextBestMove stops reading it and deletes its {kept}. {left}",
        yes="Disconnect", no="Keep it"))


def _calendar_line(connection: CalendarConnection, timezone: str) -> str:
    return (f"*{NAMES[connection.provider]}* ({escape(connection.calendar_id)}): "
            f"{HEALTH_MARK[connection.status]}{health_of(connection, timezone=timezone)}")


def settings_section(settings: UserSettings, timezone: str) -> list[Block]:
    channels = [name for name, on in (("Slack", settings.slack_enabled), ("Email", email_is_on(settings))) if on]
    days = ", ".join(WEEKDAYS[number - 1][:3] for number in sorted(settings.work_days))
    return [
        header("Settings"),
        {"type": "section", "fields": [
            mrkdwn(f"*Morning plan at*\n{settings.delivery_time:%H:%M}"),
            mrkdwn(f"*Delivered by*\n{', '.join(channels) or 'Paused (no channel on)'}"),
            mrkdwn(f"*Timezone*\n{timezone}"),
            mrkdwn(f"*Work days*\n{days}"),
        ], "accessory": button("Edit settings", ids.OPEN_SETTINGS)},
    ]
