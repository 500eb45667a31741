"""One voice: the same thing has the same name, and the same button the same look, in Slack, email,
the web pages and the CLI."""

from __future__ import annotations

import re
import uuid
from datetime import date

from bot.cli.plan import format_summary
from bot.email.links import EmailLinks
from bot.email.render import render_digest, render_weekly_summary
from bot.slack.blocks.plan import mark_controls
from bot.slack.blocks.summary import summary_message
from core.models import ActionState, ActionType, CapacityLevel, WeeklySummary
from core.planner.view import PlanItem, PlanView

LINKS = EmailLinks(base_url="https://nbm.example.com", secret_key="k")


def test_the_weekly_summary_has_one_title_everywhere() -> None:
    summary = WeeklySummary(id=uuid.uuid4(), user_id=uuid.uuid4(), week_start_date=date(2026, 10, 26),
                            days_active=1, actions_completed=1, replies=1, calls_booked=0,
                            insight_text="i", narrative_summary="n", next_week_focus="f")
    for today, title in ((date(2026, 11, 9), "Your week of 26 Oct – 1 Nov"),
                         (date(2027, 3, 1), "Your week of 26 Oct – 1 Nov 2026")):  # months on: its year
        text, blocks = summary_message(summary, today=today)
        email = render_weekly_summary(summary, user_name="Ann", today=today, links=LINKS)
        assert text.startswith(f"{title}:") and blocks[0]["text"]["text"] == title
        assert email.subject.startswith(f"{title} — ") and re.search(rf"<h1[^>]*>{title}</h1>", email.html)
        assert format_summary(summary, today=today).splitlines()[0] == title


def test_done_is_the_one_primary_button_in_slack_and_in_the_email() -> None:
    item = PlanItem(number=1, action_id=uuid.uuid4(), action_type=ActionType.OUTREACH, state=ActionState.NEW,
                    title="Reach out to Ann Lee", lead_id=uuid.uuid4(), lead_name="Ann Lee", lead_url="https://x.io/a",
                    is_fast_win=False, minutes=10, due_date=date(2026, 11, 25))
    slack = {e["text"]["text"]: e.get("style") for e in mark_controls(item, today=item.due_date, work_days=(1, 2, 3))
             if e["type"] == "button"}
    assert slack == {"Done": "primary", "Sent": None, "Replied": None}
    view = PlanView(user_id=uuid.uuid4(), user_name="Ann", date=item.due_date, today=item.due_date,
                    capacity=CapacityLevel.DEFAULT, free_minutes=None, focus=None, streak=0, items=(item,), waiting=())
    html = render_digest(view, links=LINKS).html
    by_label = {label: colour for colour, label in re.findall(
        r'<a class="button button-\w+" href="[^"]+" style="[^"]*background-color: (#\w+)[^"]*">([^<]+)</a>', html)}
    assert by_label["Done"] == "#15803d"
    assert {by_label[label] for label in ("Sent", "Replied", "Snooze a week")} == {"#ffffff"}
