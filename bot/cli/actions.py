"""``nbm actions``, ``nbm mark`` and ``nbm call``: see actions, change their state, log a call."""

from __future__ import annotations

import uuid
from datetime import date

import click

from bot.cli.common import DATE, LEAD_HELP, acting_as_email, emit, json_option, lead_argument, lead_for, user_option
from core.actions.marks import TYPED
from core.actions.service import change_state, list_actions
from core.clock import local_today
from core.models import Action, ActionState, Channel
from core.planner.replan import log_call_and_replan
from core.text import short_date_from


def action_json(action: Action) -> dict[str, object]:
    return {"id": action.id, "type": action.action_type.value, "state": action.state.value,
            "lead_id": action.person_id, "due_date": action.due_date, "description": action.description,
            "snooze_until": action.snooze_until, "auto_created": action.auto_created}


def _line(action: Action) -> str:
    lead = f"  {action.lead.name}" if action.lead else ""
    return f"{action.id}  {action.state.value:<8} {action.action_type.value:<10} due {action.due_date}{lead}"


@click.group("actions")
def actions_group() -> None:
    """Your actions."""


@actions_group.command("list")
@user_option
@click.option("--state", type=click.Choice([s.value for s in ActionState], case_sensitive=False))
@json_option
def list_command(email: str, state: str | None, as_json: bool) -> None:
    """List actions by due date."""
    with acting_as_email(email) as (session, user):
        actions = list_actions(session, user=user, state=ActionState(state.upper()) if state else None)
        lines = [_line(action) for action in actions]
    emit(as_json, [action_json(a) for a in actions], lambda: "\n".join(lines) or "no actions")


@click.command("mark")
@user_option
@click.argument("action_id", type=click.UUID)
@click.argument("mark", type=click.Choice(sorted(TYPED), case_sensitive=False))
@click.option("--until", "until", type=DATE, help="With snooze: the date it comes back (YYYY-MM-DD).")
@json_option
def mark_command(email: str, action_id: uuid.UUID, mark: str, until: date | None, as_json: bool) -> None:
    """Mark an action sent, replied, done, or snoozed until a date; unsnooze a snoozed one (due today).

    Replied on a message the system closed (another one to the lead was marked since) goes to the lead's
    message waiting now; the answer says so, and names that action."""
    asked = TYPED[mark.lower()]
    if asked.is_snooze and until is None:
        raise click.UsageError(f"{asked.word} needs --until YYYY-MM-DD")
    with acting_as_email(email) as (session, user):
        result = change_state(session, user=user, action_id=action_id, to=asked.target,
                              channel=Channel.CLI, until=until)
    moved = result.moved
    payload = {"action": action_json(result.action), "changed": result.changed,
               "created": [action_json(a) for a in result.created],
               "moved_reply": str(moved) if moved is not None else None}

    def human() -> str:
        verb = "now" if result.changed else "already"
        lines = [str(moved)] if moved is not None else []  # the action that changed is not the one named
        due = f", due {result.action.due_date}" if result.action.state == ActionState.NEW else ""
        lines += [f"{verb} {result.action.state.value.lower()}{due}: {result.action.id}"]
        lines += [f"  next: {a.action_type.value} due {a.due_date} ({a.description or 'auto'})" for a in result.created]
        return "\n".join(lines)

    emit(as_json, payload, human)


@click.command("call", epilog=LEAD_HELP)
@user_option
@lead_argument
@click.argument("call_date", metavar="DATE", type=DATE)
@json_option
def call_command(email: str, lead_ref: str, call_date: date, as_json: bool) -> None:
    """Log a call booked with a lead: prep the work day before, follow up the work day after. A lead has
    one prep and one follow-up pending at a time: the follow-up goes with its latest call, the prep with
    its soonest one to come, moved from another call while untouched; the answer says which."""
    with acting_as_email(email) as (session, user):
        result = log_call_and_replan(session, user=user, lead_id=lead_for(session, user, lead_ref).id,
                                     call_date=call_date, channel=Channel.CLI)
        today = local_today(user.timezone)
    made = [a for a in (result.prep, result.post) if a is not None]
    moved = {other.kind: other.call_date for other in result.others if other.held is None}
    payload = {"call_id": result.call.id, "call_date": result.call.call_date, "created": result.created,
               "lead_woke": result.woke, "actions": [action_json(a) for a in made],
               "others": [{"type": o.kind.value, "call_date": o.call_date, "moved": o.held is None,
                           "action": action_json(o.held) if o.held is not None else None} for o in result.others]}

    def human() -> str:
        """The call named as every surface names a day (the year when it is months away)."""
        def named(day: date) -> str:
            return short_date_from(day, today=today)

        head = "logged" if result.created else "already logged"
        return "\n".join([f"{head}: call on {named(call_date)}"] +
                         [f"  {a.action_type.value} due {a.due_date}" + (
                             f", moved here from the call on {named(moved[a.action_type])}"
                             if a.action_type in moved else "") for a in made] +
                         [f"  no {o.kind.value} of its own: the one for the call on {named(o.call_date)} "
                          f"is still open, {_when(o.held)}" for o in result.others if o.held is not None] +
                         (["  the lead was snoozed and is active again"] if result.woke else []))

    emit(as_json, payload, human)


def _when(action: Action) -> str:
    """When an open action comes up: its due date, or the date its snooze ends."""
    if action.state == ActionState.SNOOZED:
        return f"snoozed until {action.snooze_until}"
    return f"due {action.due_date}"
