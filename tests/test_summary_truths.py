"""What `nbm summary` tells a user is true of the weeks they lived: leads the system only reminded them of
are still cold, a reply counts once, and the week before is the one they were told about."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.orm import Session

from bot.cli import main
from core import config
from core.db import unit_of_work
from core.housekeeping import run_housekeeping
from core.models import ActionState, ActionType, User
from core.users import set_timezone
from tests.factories import JOINED, make_lead, make_user
from tests.test_summaries import MONDAY_MORNING, local
from tests.test_summary_reply_rate import mark, outreach, travel

EMAIL = "ann@example.com"
SENT, REPLIED = ActionState.SENT, ActionState.REPLIED


def nbm_summary(*args: str) -> Result:
    result = CliRunner().invoke(main, ["summary", "--user", EMAIL, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture()
def ann(service: Session) -> User:
    """Ann, in Los Angeles since 1 Oct: she lived the week of 16–22 Nov that `nbm summary` covers on 23 Nov."""
    return make_user(service, email=EMAIL, name="Ann Lee", timezone="America/Los_Angeles", created_at=JOINED)


def test_a_lead_the_system_gave_a_nurture_and_the_user_left_alone_is_counted_cold(
    service: Session, ann: User
) -> None:
    make_lead(service, ann, name="Bo Chen", created_at=JOINED)  # never touched since 1 Oct
    with unit_of_work(service=True) as session:  # Wednesday's housekeeping: Bo has gone cold
        assert run_housekeeping(session, at=local(18, 6)).nurtures_created == 1

    with travel(MONDAY_MORNING):
        shown = nbm_summary().output

    assert "Insight: No actions were completed this week, nor the week before. " \
           "1 lead has gone three weeks without a touch." in shown
    assert "Ann, this was a quiet week: no actions completed. Next week starts with a fresh plan." in shown
    assert shown.count("1 lead has gone three weeks without a touch.") == 1  # the narrative does not repeat it


def test_one_reply_to_a_lead_written_to_twice_counts_once_in_the_rate_and_the_post(
    service: Session, ann: User
) -> None:
    leads = [outreach(service, ann, name, local(16, 9)) for name in ("Al Ng", "Bo Chen", "Cara Diaz")]
    follow_ups = [mark(service, ann, action, SENT, local(16, 10)) for action in leads]
    (cara_follow_up,) = follow_ups[2]
    assert cara_follow_up.action_type is ActionType.FOLLOW_UP
    mark(service, ann, cara_follow_up, SENT, local(19, 10))
    mark(service, ann, cara_follow_up, REPLIED, local(20, 10))

    with travel(MONDAY_MORNING):
        shown = nbm_summary().output

    assert "1 reply came in; 1 of the 3 people you wrote to has replied so far (33%)." in shown
    assert "Last week I wrote to 3 leads, and 1 of them has replied so far: 33%." in shown
    assert "Ann, you were active on 3 days and completed 1 action, with 4 messages sent and 1 reply." in shown


def test_the_week_before_is_the_one_the_user_was_told_about_after_a_move(service: Session, ann: User) -> None:
    ann.timezone = "Asia/Tokyo"
    service.flush()
    for hour in (9, 10, 11, 12):  # Monday 9 Nov in Tokyo (still Sunday 8 Nov in Los Angeles): 4 actions done
        action = outreach(service, ann, f"Lead {hour}", datetime(2026, 11, 9, hour - 9, tzinfo=UTC))
        mark(service, ann, action, ActionState.DONE, datetime(2026, 11, 9, hour - 9, 30, tzinfo=UTC))
    with travel(datetime(2026, 11, 15, 23, tzinfo=UTC)):  # Monday 16 Nov, 08:00 in Tokyo
        told = nbm_summary().output
    assert "4 actions done" in told

    with unit_of_work(user_id=ann.id) as session:  # she moves to Los Angeles
        set_timezone(session, user=session.get_one(User, ann.id), timezone="America/Los_Angeles")
    service.refresh(ann)
    mark(service, ann, outreach(service, ann, "Bo Chen", local(18)), ActionState.DONE, local(18, 11))

    with travel(MONDAY_MORNING):
        shown = nbm_summary().output

    # Counted again in Los Angeles, those 4 fall on Sunday 8 Nov, and the week of 9 Nov had none.
    assert "Insight: You completed 1 action, down from 4 the week before (-75%)." in shown


def test_after_a_move_west_the_hours_between_the_two_mondays_count_in_the_week_after(
    service: Session, ann: User
) -> None:
    """The week of 9 Nov was summarised in Tokyo: it ended at midnight starting Monday 16 Nov there
    (15:00 UTC on Sunday). In Los Angeles, where Ann then moved, that Monday began 17 hours later.
    What she did in between (Monday 05:00 in Tokyo, still Sunday in Los Angeles) was in neither week;
    the week of 16 Nov starts where the week before ended, and counts it on its Monday."""
    ann.timezone = "Asia/Tokyo"
    service.flush()
    bo = outreach(service, ann, "Bo Chen", datetime(2026, 11, 15, 19, tzinfo=UTC))
    mark(service, ann, bo, ActionState.DONE, datetime(2026, 11, 15, 20, tzinfo=UTC))  # Monday 05:00 in Tokyo
    with travel(datetime(2026, 11, 15, 23, tzinfo=UTC)):  # Monday 16 Nov, 08:00 in Tokyo
        assert "0 active days, 0 actions done" in nbm_summary().output
    with unit_of_work(user_id=ann.id) as session:  # she moves to Los Angeles
        set_timezone(session, user=session.get_one(User, ann.id), timezone="America/Los_Angeles")

    with travel(MONDAY_MORNING):
        assert "1 active day, 1 action done" in nbm_summary().output


def test_after_a_move_east_the_hours_between_the_two_mondays_are_not_counted_twice(
    service: Session, ann: User
) -> None:
    """The week of 9 Nov was summarised in Los Angeles, counting what Ann did on Sunday evening there
    (Monday 11:00 in Tokyo). Measured in Tokyo, where she then moved, the week of 16 Nov began 17 hours
    before that week ended: it starts where the week before ended, so that Sunday is not counted again."""
    bo = outreach(service, ann, "Bo Chen", local(15, 17))
    mark(service, ann, bo, ActionState.DONE, local(15, 18))  # Sunday 18:00 in Los Angeles
    with travel(local(16, 7)):  # Monday 16 Nov, 07:00 in Los Angeles
        assert "1 active day, 1 action done" in nbm_summary().output
    with unit_of_work(user_id=ann.id) as session:  # she moves to Tokyo
        set_timezone(session, user=session.get_one(User, ann.id), timezone="Asia/Tokyo")

    with travel(datetime(2026, 11, 22, 23, tzinfo=UTC)):  # Monday 23 Nov, 08:00 in Tokyo
        shown = nbm_summary().output
    assert "0 active days, 0 actions done" in shown
    assert "Insight: No actions were completed this week; the week before, you completed 1 action." in shown


@pytest.fixture()
def dribbling_endpoint() -> Iterator[str]:
    """An OpenAI-compatible endpoint that answers at once with its headers, then a byte every 50 ms:
    each read gets a byte long before a per-read timeout, and the whole answer (a good one) takes
    seconds. Its base URL."""
    answer = json.dumps({"choices": [{"message": {"content": json.dumps({
        "insight_text": "LLM insight.", "narrative_summary": "LLM story.", "next_week_focus": "LLM focus",
        "win_post": "LLM win post", "insight_post": "LLM insight post"})}}]}).encode()
    body = b" " * 60 + answer  # JSON may start with blanks: 3 s of them, then the answer
    stop = threading.Event()

    def serve(server: socket.socket) -> None:
        connection, _ = server.accept()
        with connection, connection.makefile("rb") as request:
            headers = list(iter(request.readline, b"\r\n"))
            request.read(next(int(line.split(b":")[1]) for line in headers
                              if line.lower().startswith(b"content-length:")))
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               b"Content-Length: %d\r\n\r\n" % len(body))
            with contextlib.suppress(OSError):  # the client gave up and shut the connection
                for blank in range(60):
                    if stop.wait(0.05):
                        return
                    connection.sendall(body[blank:blank + 1])
                connection.sendall(body[60:])

    with socket.create_server(("127.0.0.1", 0)) as server:
        thread = threading.Thread(target=serve, args=(server,), daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.getsockname()[1]}/v1"
        stop.set()
        thread.join(timeout=5)


def test_an_insight_endpoint_that_trickles_is_given_up_at_the_timeout_for_the_builtin_texts(
    ann: User, dribbling_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSIGHTS_LLM_URL", dribbling_endpoint)
    monkeypatch.setenv("INSIGHTS_LLM_TIMEOUT", "0.5")
    config.get_settings.cache_clear()
    try:
        with travel(MONDAY_MORNING):
            shown = nbm_summary().output
    finally:
        monkeypatch.undo()
        config.get_settings.cache_clear()

    assert "Insight: No actions were completed this week, nor the week before." in shown
    assert "LLM" not in shown
