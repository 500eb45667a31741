"""``nbm plan``, ``nbm streak`` and ``nbm summary``: today's plan, the streak, the weekly summary
(``nbm summary send``, which emails it, is with the other emails sent by hand in bot.cli.digest)."""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from bot.cli.common import (
    DATE,
    acting_as_email,
    emit,
    json_option,
    planning_as_email,
    saying_how_to_subscribe,
    user_option,
)
from bot.cli.digest import send_summary_command
from core.clock import local_today
from core.models import CapacityLevel, Channel, WeeklySummary
from core.planner.replan import refreshed_and_told, set_capacity_and_replan
from core.planner.service import day_is_over, kept_plan
from core.planner.view import PlanView, plan_view, plan_view_building_if_missing, waiting_on_its_day
from core.streaks import current_streak
from core.summaries.service import build_weekly_summary
from core.text import plural, short_date_from, week_title
from core.users import get_settings_for


def plan_json(view: PlanView) -> dict[str, Any]:
    return {
        "date": view.date, "capacity": view.capacity.value, "free_minutes": view.free_minutes,
        "total_minutes": view.total_minutes, "focus": view.focus, "streak": view.streak,
        "items": [
            {"number": i.number, "action_id": i.action_id, "type": i.action_type.value, "title": i.title,
             "lead_id": i.lead_id, "lead": i.lead_name, "url": i.lead_url, "fast_win": i.is_fast_win,
             "minutes": i.minutes, "state": i.state.value}
            for i in view.items
        ],
        "waiting": [{"action_id": w.action_id, "title": w.title, "lead": w.lead_name, "url": w.lead_url,
                     "sent_on": w.sent_on} for w in view.waiting],
        "waiting_total": view.waiting_total, "waiting_on": view.date if view.waiting_then else None,
    }


def format_plan(view: PlanView) -> str:
    """The plan as a person reads it in a terminal; a date months from the user's today says its year."""
    def named(day: date) -> str:
        return short_date_from(day, today=view.today)

    free = f", {view.free_minutes} min free in your calendar" if view.free_minutes is not None else ""
    lines = [f"{named(view.date)} — {view.size()}"
             f"  (capacity {view.capacity.value}{free}, streak {plural(view.streak, 'day')})"]
    if view.focus:
        lines.append(f"Focus: {view.focus}")
    for item in view.items:
        mark = "★ Fast Win: " if item.is_fast_win else ""
        state = "" if item.is_open else f"  [{item.state.value.lower()}]"
        lines.append(f"{item.number:>2}. {mark}{item.title} ({item.minutes} min){state}")
        lines.append(f"    {item.lead_url or ''}  id {item.action_id}")
    if not view.items:
        lines.append("Nothing is due in this plan" + (": add a lead with `nbm leads add` and its first outreach "
                                                     "shows up here." if view.offers_a_lead else "."))
    if view.waiting:
        then = f" at the end of {named(view.date)}" if view.waiting_then else ""
        lines.append(f"Waiting for a reply{then} ({view.waiting_total}):")
        lines += [f"  - {w.title} (sent {named(w.sent_on)})  id {w.action_id}" for w in view.waiting]
    if view.waiting_more:  # `nbm actions list` lists what waits now, not what waited on a past day
        lines.append(f"  …and {view.waiting_more} more" +
                     ("." if view.waiting_then else ": nbm actions list --state SENT lists them all."))
    return "\n".join(lines)


@click.command("plan")
@user_option
@click.option("--date", "day", type=DATE, help="Local date of the plan (default: the user's today).")
@click.option("--refresh", is_flag=True, help="Keep what is done, refill the rest.")
@click.option("--capacity", type=click.Choice([c.value for c in CapacityLevel], case_sensitive=False),
              help="Override the capacity for that day (default clears the override).")
@json_option
def plan_command(email: str, day: date | None, refresh: bool, capacity: str | None, as_json: bool) -> None:
    """Build the day's plan if there is none, and print it.

    A past day's plan is shown as it was kept, never made or changed now
    (core.planner.service.kept_plan): its items as they stand now, and who was waiting for a reply at
    the end of that day (sent by then, and not answered by then), never a message sent since. A
    past day without a plan, or ``--refresh`` / ``--capacity`` for one, is refused (exit 2),
    changing nothing.

    A user without service gets no plan here either (core.billing.status.NoService): the operator
    acts as the user, and a plan made here would show in their Slack and on their today page,
    around the rule that stops their mornings. The refusal (exit 2) says the user's sentence and the
    ``nbm billing`` command that prints their way back."""
    with saying_how_to_subscribe(email), planning_as_email(email, day=day) as (session, user, calendar):
        if capacity:
            view = set_capacity_and_replan(session, user=user, level=CapacityLevel(capacity.lower()), day=day,
                                           channel=Channel.CLI, calendar=calendar)
        elif refresh:
            view = refreshed_and_told(session, user=user, day=day, channel=Channel.CLI, calendar=calendar)
        elif day is not None and day_is_over(user, day):
            view = plan_view(session, user=user, plan=kept_plan(session, user=user, day=day))
        else:
            view = plan_view_building_if_missing(session, user=user, day=day, calendar=calendar)
        view = waiting_on_its_day(session, user=user, view=view)
    emit(as_json, plan_json(view), lambda: format_plan(view))


@click.command("streak")
@user_option
@json_option
def streak_command(email: str, as_json: bool) -> None:
    """Your current streak: days in a row (your local days) with something done or replied.

    Today counts once something is done, and the streak stands until your day is over. A day off (one
    that is not among your work days) neither breaks it nor is needed; something done on one counts.
    """
    with acting_as_email(email) as (session, user):
        streak = current_streak(user, work_days=get_settings_for(session, user).work_days)
        last, today = user.last_action_date, local_today(user.timezone)
    emit(as_json, {"streak": streak, "last_action_date": last}, lambda: f"streak: {plural(streak, 'day')}" + (
        f" (last done {short_date_from(last, today=today)})" if last else ""))


def summary_json(summary: WeeklySummary) -> dict[str, Any]:
    return {"week_start": summary.week_start_date, "days_active": summary.days_active,
            "actions_completed": summary.actions_completed, "replies": summary.replies,
            "calls_booked": summary.calls_booked, "insight": summary.insight_text,
            "narrative": summary.narrative_summary, "next_week_focus": summary.next_week_focus,
            "win_post_draft": summary.win_post_draft, "insight_post_draft": summary.insight_post_draft}


def format_summary(summary: WeeklySummary, *, today: date) -> str:
    """The summary as a person reads it in a terminal; a week months from ``today`` says its year."""
    return "\n".join([
        week_title(summary.week_start_date, today=today),
        f"  {plural(summary.days_active, 'active day')}, {plural(summary.actions_completed, 'action')} done, "
        f"{plural(summary.replies, 'reply')}, {plural(summary.calls_booked, 'call')} booked",
        f"Insight: {summary.insight_text}",
        f"{summary.narrative_summary or ''}",
        f"Next week's focus: {summary.next_week_focus}",
        "", "Win post draft:", summary.win_post_draft or "",
        "", "Insight post draft:", summary.insight_post_draft or "",
    ])


@click.group("summary", invoke_without_command=True)
@click.option("--user", "email", metavar="EMAIL", help="The user's email address (required to show a summary).")
@click.option("--week", "week", type=DATE, metavar="MONDAY", help="Monday of the week (default: last week).")
@json_option
@click.pass_context
def summary_group(ctx: click.Context, email: str | None, week: date | None, as_json: bool) -> None:
    """The weekly summary of a Monday–Sunday week (made once, then shown again); `send` emails it.

    A user without service gets no new summary, as `nbm plan` gets no plan: the same refusal, exit 2.
    A summary made before their service ended is still shown."""
    if ctx.invoked_subcommand is not None:
        # Options before `send` would belong to this group and be silently lost: say where they go.
        if email or week or as_json:
            raise click.UsageError(f"put the options after `{ctx.invoked_subcommand}`, "
                                   f"e.g. nbm summary {ctx.invoked_subcommand} --user EMAIL", ctx)
        return
    if email is None:
        raise click.MissingParameter(ctx=ctx, param_hint="'--user'", param_type="option")
    with saying_how_to_subscribe(email), acting_as_email(email) as (session, user):
        summary = build_weekly_summary(session, user=user, week_start=week)
        today = local_today(user.timezone)
    emit(as_json, summary_json(summary), lambda: format_summary(summary, today=today))


summary_group.add_command(send_summary_command)
