"""Sent and Replied belong to a message to a lead; a call prep, a Fast Win, content or an action with
no lead is Done or Snoozed. The shared pieces are here; Slack's and email's tests are in tests/slack
and tests/email (test_marks_fit.py), the CLI's below."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import time_machine
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from core.models import Action, ActionType, User
from tests.cli import nbm
from tests.factories import make_action, make_lead


def refusal(mark: str) -> str:
    return f"not a message to a lead, so it cannot be marked {mark}; you can: mark it done, snooze it"


def plan_with_a_prep_a_fast_win_and_an_outreach(
    session: Session, user: User, day: date
) -> tuple[Action, Action, Action]:
    """A call prep (with a lead), a Fast Win with no lead, and an outreach, all due ``day``."""
    priya = make_lead(session, user, name="Priya Raman", url="https://www.linkedin.com/in/priya")
    prep = make_action(session, user, priya, action_type=ActionType.CALL_PREP, due_date=day)
    win = make_action(session, user, None, action_type=ActionType.FAST_WIN, due_date=day,
                      description="Accept the pending LinkedIn invitations")
    tom = make_lead(session, user, name="Tom Okafor", url="https://www.linkedin.com/in/tom")
    outreach = make_action(session, user, tom, action_type=ActionType.OUTREACH, due_date=day)
    return prep, win, outreach


def test_the_cli_refuses_sent_on_a_call_prep_with_exit_code_2_and_changes_nothing(connection: Connection) -> None:
    with time_machine.travel(datetime(2026, 11, 25, 12, 0, tzinfo=UTC), tick=False):
        assert nbm("users", "add", "cleo@example.com", "--name", "Cleo", "--tz", "Europe/London").exit_code == 0
        lead = json.loads(nbm("leads", "add", "--user", "cleo@example.com", "Priya Raman", "https://x.io/priya",
                              "--json").output)
        assert nbm("call", "--user", "cleo@example.com", str(lead["id"]), "2026-11-26").exit_code == 0
        before = json.loads(nbm("actions", "list", "--user", "cleo@example.com", "--json").output)
        prep = next(a for a in before if a["type"] == "CALL_PREP")
        refused = nbm("mark", "--user", "cleo@example.com", prep["id"], "sent")
        assert refused.exit_code == 2 and refusal("sent") in refused.output
        assert json.loads(nbm("actions", "list", "--user", "cleo@example.com", "--json").output) == before
