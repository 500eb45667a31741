"""The chaos run's pieces that can be checked on their own: the fault plan, the sinks, reading the
plan DMs a person would press, and tying the messages received to their deliveries."""

from __future__ import annotations

import json
import random
import smtplib
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from bot.chaos.accounting import LedgerRow, Outcomes, Recipient, received
from bot.chaos.fake_slack import FakeSlack, Posted
from bot.chaos.faults import FaultKind, plan_faults
from bot.chaos.options import ChaosOptions, FaultRates
from bot.chaos.presses import pressable
from bot.chaos.report import RunReport
from bot.chaos.smtp_sink import MailEvent, SmtpSink
from bot.slack.blocks.plan import plan_message
from core.models import ActionState, ActionType, CapacityLevel
from core.planner.view import PlanItem, PlanView

DAY = date(2026, 11, 25)
CALM = FaultRates().off()


def test_the_fault_plan_is_the_seeds_and_has_every_kind_within_the_window() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    until = start + timedelta(hours=6)  # shorter than a day: some kinds would draw no moment at all
    plan = plan_faults(FaultRates(), random.Random(7), start=start, until=until)
    assert plan == plan_faults(FaultRates(), random.Random(7), start=start, until=until)
    assert {kind for _, kind in plan} == set(FaultKind)
    assert all(start <= at < until for at, _ in plan) and plan == sorted(plan)
    assert plan_faults(CALM, random.Random(7), start=start, until=until) == []


def _item(position: int, state: ActionState = ActionState.NEW) -> PlanItem:
    return PlanItem(number=position + 1, action_id=uuid.uuid4(), action_type=ActionType.OUTREACH, state=state,
                    title=f"Reach out to Lead {position}", lead_id=uuid.uuid4(), lead_name=f"Lead {position}",
                    lead_url=f"https://example.com/{position}", is_fast_win=position == 0, minutes=10,
                    due_date=DAY)


def test_a_person_finds_the_mark_buttons_of_the_open_items_of_a_real_plan_dm() -> None:
    items = [_item(0), _item(1), _item(2, ActionState.DONE)]
    view = PlanView(user_id=uuid.uuid4(), user_name="Ann", date=DAY, today=DAY, capacity=CapacityLevel.DEFAULT,
                    free_minutes=None, focus=None, streak=0, items=tuple(items), waiting=())
    _, blocks = plan_message(view)
    found = pressable(Posted("DU1", "1.1", str(uuid.uuid4()), blocks, time.monotonic()))
    assert {action_id for action_id, _ in found} == {items[0].action_id, items[1].action_id}
    assert {button["action_id"] for _, button in found} >= {"nbm_done", "nbm_sent"}
    assert all(button["block_id"] == f"plan|{action_id}" for action_id, button in found)
    assert pressable(Posted("DU1", "1.2", None, [{"type": "section", "block_id": "x"}], 0.0)) == []


def _call(fake: FakeSlack, method: str, args: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    request = urllib.request.Request(f"{fake.api_url}{method}", data=json.dumps(args).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read()), dict(answer.headers)
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read()), dict(refused.headers)


@pytest.fixture()
def slack() -> Any:
    fake = FakeSlack(rates=CALM, seed=1)
    fake.start()
    yield fake
    fake.stop()


def test_the_fake_slack_keeps_each_dms_history_with_its_metadata(slack: FakeSlack) -> None:
    metadata = {"event_type": "nbm_delivery", "event_payload": {"delivery_id": "d-1"}}
    status, body, _ = _call(slack, "chat.postMessage", {"channel": "DU1", "text": "hi", "blocks": [],
                                                        "metadata": metadata})
    assert status == 200 and body["ok"]
    _, history, _ = _call(slack, "conversations.history", {"channel": "DU1", "include_all_metadata": True})
    assert history["messages"][0]["metadata"] == metadata
    _, bare, _ = _call(slack, "conversations.history", {"channel": "DU1"})
    assert "metadata" not in bare["messages"][0]
    assert [p.delivery_id for p in slack.posted_snapshot()] == ["d-1"]


def test_the_fake_slack_answers_429_with_retry_after_and_5xx_after_posting() -> None:
    limited = FakeSlack(rates=replace(CALM, slack_429=1.0), seed=1)
    after_post = FakeSlack(rates=replace(CALM, slack_5xx_after_post=1.0), seed=1)
    for fake in (limited, after_post):
        fake.start()
    try:
        status, _, headers = _call(limited, "chat.postMessage", {"channel": "DU1", "text": "x"})
        assert status == 429 and headers["Retry-After"] == "1" and limited.posted_snapshot() == []
        status, _, _ = _call(after_post, "chat.postMessage", {"channel": "DU1", "text": "x"})
        assert status == 500 and len(after_post.posted_snapshot()) == 1  # posted all the same
    finally:
        for fake in (limited, after_post):
            fake.stop()


def _send(port: int, message_id: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "plan@example.com", "ann@example.com", "Plan"
    message["Message-ID"] = message_id
    message.set_content("hello")
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
        client.send_message(message)


@pytest.mark.parametrize(("rates", "code"), [(replace(CALM, smtp_4xx=1.0), 451), (replace(CALM, smtp_5xx=1.0), 554)])
def test_the_smtp_sink_refuses_at_data_and_records_the_refusal(rates: FaultRates, code: int) -> None:
    sink = SmtpSink(rates=rates, seed=1)
    sink.start()
    try:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            _send(sink.port, "<nbm-1@example.com>")
        assert refused.value.smtp_code == code
        sink.faulty.clear()  # calm: accepted from now on
        _send(sink.port, "<nbm-2@example.com>")
    finally:
        sink.stop()
    assert [(e.message_id, e.code, e.recipients) for e in sink.snapshot()] == [
        ("<nbm-1@example.com>", code, ("ann@example.com",)), ("<nbm-2@example.com>", 250, ("ann@example.com",))]


def test_messages_are_tied_to_their_deliveries_and_strays_are_noted() -> None:
    ann, bea = uuid.uuid4(), uuid.uuid4()
    email_id, slack_id, unknown = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ledger = {email_id: LedgerRow(("plan", ann, "email", DAY), "sent", 1, None),
              slack_id: LedgerRow(("plan", ann, "slack", DAY), "sent", 2, None)}
    recipients = {ann: Recipient("ann@example.com", "DU1"), bea: Recipient("bea@example.com", "DU2")}
    mail = [MailEvent(f"<nbm-{email_id}@x.invalid>", ("ann@example.com",), 250, 0.0),
            MailEvent(f"<nbm-{email_id}@x.invalid>", ("ann@example.com",), 451, 0.0),  # refused: not received
            MailEvent(f"<nbm-{email_id}@x.invalid>", ("ann@example.com",), 250, 0.0),
            MailEvent(f"<nbm-{unknown}@x.invalid>", ("ann@example.com",), 250, 0.0)]
    slack = [Posted("DU1", "1.1", str(slack_id), [], 0.0), Posted("DU2", "1.2", str(slack_id), [], 0.0),
             Posted("DU1", "1.3", None, [], 0.0)]  # not a delivery (a notice): not counted
    outcomes = Outcomes()
    found = received(mail, slack, ledger, recipients, outcomes)
    assert len(found[("plan", ann, "email", DAY)]) == 2  # a duplicate, same Message-ID or not
    assert len(found[("plan", ann, "slack", DAY)]) == 2
    assert len(outcomes.strays) == 2  # the unknown delivery, and the DM that reached Bea


def test_the_run_report_counts_in_words_not_with_a_hedge() -> None:
    """`nbm chaos` said "1 day(s) simulated", "1 process(es)": each count now says its own number's word."""
    start = datetime(2026, 11, 25, tzinfo=UTC)
    report = RunReport(ChaosOptions(days=1, users=1, seed=7, processes=1), start=start, end=start + timedelta(days=1),
                       scheduler_gaps=1, scheduler_moved=2)
    said = "\n".join(report.lines())
    assert said.startswith("chaos: 1 user, 1 day simulated (2026-11-25 00:00 → 2026-11-26 00:00 UTC")
    assert "nbm worker x 1 process\n" in said
    assert "held by no worker while jobs were due in 1 maintenance round; 2 scheduled jobs moved" in said
    assert "(s)" not in said and "(es)" not in said
