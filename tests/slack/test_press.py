"""A press through the real route, signed as Slack signs it: one unit of work, the pressed row redrawn
at once, everything else redrawn by one coalesced job after the window, and nothing lost when a
redraw cannot happen."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from flask.testing import FlaskClient
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue
from rq.job import Job, JobStatus
from sqlalchemy import event
from sqlalchemy.orm import Session

from bot.slack import surfaces
from core import queue as queue_module
from core.clock import utcnow
from core.db import get_engine
from core.models import ActionState, Channel, Delivery, DeliveryKind, DeliveryStatus, User
from tests.slack.conftest import (
    add_leads,
    block_action,
    command,
    interact,
    plan_of,
    replies,
    run_redraws,
    state_of,
)
from tests.slack.conftest import (
    event as slack_event,
)
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")

DM = "DU1"
DELIVERED_TS = "1700000000.000777"


@dataclass
class Meter:
    """Units of work (sessions that began a transaction) and statements, while entered."""

    units: int = 0
    statements: list[str] = field(default_factory=list)


@contextmanager
def metered() -> Iterator[Meter]:
    meter = Meter()

    def began(*_: Any) -> None:
        meter.units += 1

    def executed(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            meter.statements.append(statement)

    event.listen(Session, "after_begin", began)
    event.listen(get_engine(), "before_cursor_execute", executed)
    try:
        yield meter
    finally:
        event.remove(Session, "after_begin", began)
        event.remove(get_engine(), "before_cursor_execute", executed)


def _posted_plan(web: FlaskClient, fake: FakeSlack) -> list[dict[str, Any]]:
    """Today's plan posted in the DM by `/nbm today` (a request of the workspace: its authorization is
    remembered from then on, as it is on a server that answers the workspace's requests)."""
    command(web, fake, "today", channel=DM)
    return list(fake.calls_to("chat.postMessage")[-1].args["blocks"])


def _press(fake: FakeSlack, blocks: list[dict[str, Any]], action_id: str, item: uuid.UUID,
           ts: str = "1700000000.000001") -> dict[str, Any]:
    button = {"type": "button", "action_id": action_id, "block_id": f"plan|{item}", "value": str(item)}
    container = {"type": "message", "channel_id": DM, "message_ts": ts, "is_ephemeral": False}
    return block_action(fake, button, container=container, message_blocks=blocks)


def _delivered_dm(service: Session, user: User, day: date) -> None:
    service.add(Delivery(user_id=user.id, kind=DeliveryKind.PLAN, channel=Channel.SLACK, period=day,
                         status=DeliveryStatus.SENT, external_id=f"{DM}:{DELIVERED_TS}"))
    service.flush()


def _row(blocks: list[dict[str, Any]], item: uuid.UUID) -> str:
    return str([b for b in blocks if b.get("block_id") == f"plan|{item}"])


def test_a_press_is_one_unit_of_work_and_calls_slack_once(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz")
    blocks = _posted_plan(web, fake)
    first = plan_of(ann).items[0].action_id
    fake.calls.clear()

    with metered() as meter:
        assert interact(web, _press(fake, blocks, "nbm_done", first)).status_code == 200

    assert meter.units == 1, "who presses, the change and what the message shows next: one transaction"
    # Who presses (2: the context, then the link read and the context narrowed to its user), the
    # change (5: its lead and itself locked, the update, its event, the streak): the pressed row is
    # drawn from what they read, its lead not read again.
    assert len(meter.statements) == 7, meter.statements
    assert not any("slack_installations" in statement for statement in meter.statements), "remembered"
    assert not any("daily_plan" in statement for statement in meter.statements), "the whole plan is the job's"
    assert [call.method for call in fake.calls] == ["chat.update"], "App Home and the DM are the job's"
    update = fake.calls[0].args
    assert (update["channel"], update["ts"]) == (DM, "1700000000.000001")
    assert "✅ Done" in _row(update["blocks"], first) and "nbm_undo" in _row(update["blocks"], first)
    assert state_of(ann, first) == ActionState.DONE


def test_a_days_second_done_reads_and_writes_no_streak_and_the_streak_still_counts_the_day_once(
        web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    """A day counts once: after the day's first completion, the next ones leave the streak as it is,
    and a press then costs one statement less (it is the one that reads the user's history)."""
    add_leads(ann, "Bea Stone", "Carl Diaz")
    blocks = _posted_plan(web, fake)
    first, second = (item.action_id for item in plan_of(ann).items)
    with metered() as meter:
        interact(web, _press(fake, blocks, "nbm_done", first))
    assert any("WITH targets" in statement for statement in meter.statements), "the day's first: counted"

    with metered() as meter:
        assert interact(web, _press(fake, blocks, "nbm_done", second)).status_code == 200
    assert len(meter.statements) == 6 and not any("WITH targets" in statement for statement in meter.statements)
    assert state_of(ann, second) == ActionState.DONE
    command(web, fake, "streak", channel=DM)
    assert replies(fake)[-1] == "🔥 You are on a 1-day streak, today included."


def test_ten_presses_in_a_second_redraw_app_home_and_the_dm_once(web: FlaskClient, fake: FakeSlack, ann: User,
                                                                 service: Session) -> None:
    add_leads(ann, *(f"Lead {n}" for n in range(5)))
    blocks = _posted_plan(web, fake)
    _delivered_dm(service, ann, plan_of(ann).date)  # crossed with `/nbm today`: two copies of today's plan
    items = [item.action_id for item in plan_of(ann).items]
    assert len(items) == 5
    fake.calls.clear()

    presses = [("nbm_sent", item) for item in items] + [("nbm_done", item) for item in items]
    for n, (button, item) in enumerate(presses):  # ten presses, 90 ms apart: all within one second
        with time_machine.travel(utcnow() + timedelta(milliseconds=90 * n), tick=False):
            assert interact(web, _press(fake, blocks, button, item)).status_code == 200

    assert len(fake.calls_to("chat.update")) == 10, "each pressed row, at once"
    assert fake.calls_to("views.publish") == [], "nothing else in the requests"
    run_redraws()
    (home,) = fake.calls_to("views.publish")
    assert home.args["user_id"] == "U1" and str(home.args["view"]["blocks"]).count("✅ Done") == 5
    dm = [call.args for call in fake.calls_to("chat.update") if call.args["ts"] == DELIVERED_TS]
    assert len(dm) == 1 and str(dm[0]["blocks"]).count("✅ Done") == 5
    assert all(state_of(ann, item) == ActionState.DONE for item in items)


def test_a_press_after_its_windows_redraw_ran_gets_a_redraw_of_its_own(web: FlaskClient, fake: FakeSlack,
                                                                      ann: User) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz")
    blocks = _posted_plan(web, fake)
    first, second = (item.action_id for item in plan_of(ann).items)
    interact(web, _press(fake, blocks, "nbm_done", first))
    run_redraws()
    interact(web, _press(fake, blocks, "nbm_sent", second))  # same window, whose job has run already
    run_redraws()
    first_home, second_home = (call.args["view"]["blocks"] for call in fake.calls_to("views.publish"))
    assert "📤 Sent" not in str(first_home) and "📤 Sent" in str(second_home)


def test_a_done_pressed_while_the_windows_redraw_waits_is_redrawn_whole_by_that_redraw(
        web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    """The second press of a window finds the job waiting (one Redis round trip): the message it
    names is still the job's to redraw, with the streak the row alone does not show."""
    add_leads(ann, "Bea Stone", "Carl Diaz")
    blocks = _posted_plan(web, fake)
    first, second = (item.action_id for item in plan_of(ann).items)
    interact(web, _press(fake, blocks, "nbm_sent", first))  # drawn whole at once; schedules the job
    with time_machine.travel(utcnow() + timedelta(milliseconds=300), tick=False):
        interact(web, _press(fake, blocks, "nbm_done", second, ts="1700000000.000002"))
    assert "streak" not in str(fake.calls_to("chat.update")[-1].args["blocks"]), "the row alone, at once"

    run_redraws()
    (home,) = fake.calls_to("views.publish")
    assert "📤 Sent" in str(home.args["view"]["blocks"]) and "✅ Done" in str(home.args["view"]["blocks"])
    whole = [call.args for call in fake.calls_to("chat.update") if call.args["ts"] == "1700000000.000002"][-1]
    assert "🔥 1-day streak" in str(whole["blocks"]) and "✅ Done" in _row(whole["blocks"], second)


def test_done_redraws_its_row_at_once_and_the_whole_message_soon_after(web: FlaskClient, fake: FakeSlack,
                                                                        ann: User) -> None:
    """Done shows in its own row and in the streak: the row at once, the streak with the redraw."""
    add_leads(ann, "Bea Stone", "Carl Diaz")
    blocks = _posted_plan(web, fake)
    first = plan_of(ann).items[0].action_id
    interact(web, _press(fake, blocks, "nbm_done", first))
    at_once = fake.calls_to("chat.update")[-1].args["blocks"]
    assert "✅ Done" in _row(at_once, first) and "streak" not in str(at_once)
    run_redraws()
    whole = fake.calls_to("chat.update")[-1].args
    assert whole["ts"] == "1700000000.000001" and "🔥 1-day streak" in str(whole["blocks"])
    assert _row(whole["blocks"], first) == _row(at_once, first)
    queue = queue_module.get_queue()
    (done,) = queue.finished_job_registry.get_job_ids()
    assert Job.fetch(done, connection=queue.connection).return_value() == "redrawn, with 1 pressed message"


def test_sent_redraws_the_whole_message_at_once(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    """Sent shows beyond its row (the waiting list): the plan is read in the press's unit of work. The
    message pressed (an older copy, not today's plan DM) is not left to the redraw job then."""
    add_leads(ann, "Bea Stone", "Carl Diaz")
    blocks = _posted_plan(web, fake)
    first = plan_of(ann).items[0].action_id
    fake.calls.clear()
    with metered() as meter:
        interact(web, _press(fake, blocks, "nbm_sent", first, ts="1700000000.000002"))
    assert meter.units == 1
    (update,) = fake.calls_to("chat.update")
    assert "📤 Sent" in _row(update.args["blocks"], first) and "*Waiting for a reply* (1)" in str(update.args)
    run_redraws()
    drawn = [call.args["ts"] for call in fake.calls_to("chat.update")]
    assert drawn == ["1700000000.000002", "1700000000.000001"], "drawn whole once; the job draws today's plan DM"


def test_undo_reopens_the_row_at_once_with_its_fast_win_badge(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz")
    blocks = _posted_plan(web, fake)
    first = plan_of(ann).items[0]
    interact(web, _press(fake, blocks, "nbm_done", first.action_id))
    settled = fake.calls_to("chat.update")[-1].args["blocks"]
    interact(web, _press(fake, settled, "nbm_undo", first.action_id))
    reopened = fake.calls_to("chat.update")[-1].args["blocks"]
    assert state_of(ann, first.action_id) == ActionState.NEW
    assert [b for b in reopened if b.get("type") != "context"] == [b for b in blocks if b.get("type") != "context"]


def test_redis_out_of_reach_loses_no_press(web: FlaskClient, fake: FakeSlack, ann: User,
                                           monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    add_leads(ann, "Bea Stone")
    blocks = _posted_plan(web, fake)
    item = plan_of(ann).items[0].action_id

    def unreachable(*_: Any, **__: Any) -> None:
        raise RedisConnectionError("Redis is down")

    monkeypatch.setattr("bot.slack.listeners.common.request_redraw", unreachable)
    with caplog.at_level(logging.WARNING, logger="nbm.slack"):
        assert interact(web, _press(fake, blocks, "nbm_done", item)).status_code == 200
    assert state_of(ann, item) == ActionState.DONE
    assert "✅ Done" in _row(fake.calls_to("chat.update")[-1].args["blocks"], item), "the press is shown"
    assert replies(fake) == [], "and the person is not told about our plumbing"
    assert "could not schedule the redraw" in caplog.text


def test_a_failing_redraw_loses_no_press_and_is_tried_again(web: FlaskClient, fake: FakeSlack, ann: User,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    add_leads(ann, "Bea Stone")
    blocks = _posted_plan(web, fake)
    item = plan_of(ann).items[0].action_id
    interact(web, _press(fake, blocks, "nbm_done", item))
    real_home = surfaces.home_content

    def broken(*_: Any, **__: Any) -> dict[str, Any]:
        raise RuntimeError("the redraw broke")

    monkeypatch.setattr(surfaces, "home_content", broken)
    run_redraws()
    assert state_of(ann, item) == ActionState.DONE, "the press was committed before; the redraw cannot undo it"
    assert fake.calls_to("views.publish") == []
    queue: Queue = queue_module.get_queue()
    (job_id,) = queue.scheduled_job_registry.get_job_ids()  # RQ's retry, with its back-off
    assert Job.fetch(job_id, connection=queue.connection).get_status() == JobStatus.SCHEDULED

    monkeypatch.setattr(surfaces, "home_content", real_home)
    with time_machine.travel(utcnow() + timedelta(seconds=10), tick=False):
        run_redraws()
    (home,) = fake.calls_to("views.publish")
    assert "✅ Done" in str(home.args["view"]["blocks"])
    pressed = [call.args for call in fake.calls_to("chat.update") if call.args["ts"] == "1700000000.000001"]
    assert len(pressed) == 2, "the pressed message, at once and then whole (kept for the retry)"


def test_an_uninstalled_workspace_is_not_remembered(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone")
    blocks = _posted_plan(web, fake)
    item = plan_of(ann).items[0].action_id
    assert slack_event(web, {"type": "app_uninstalled"}).status_code == 200
    interact(web, _press(fake, blocks, "nbm_done", item))
    assert state_of(ann, item) == ActionState.NEW
    assert fake.calls_to("chat.update") == [] and "reinstall" in " ".join(replies(fake))
