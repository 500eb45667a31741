"""Today's plan is one message in the DM, whoever posts it first (bot.slack.plan_dm): `/nbm today`
posts it only when the DM has none of today's, and otherwise brings the one there up to date and
links to it; the morning delivery takes over a plan posted so; and a change from any channel
redraws the copy `/nbm today` posted, as it redraws the morning's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.cli import main
from bot.email.links import EmailLinks
from core.actions import marks
from core.db import unit_of_work
from core.jobs import tasks
from core.models import ActionState, Channel, Delivery, DeliveryKind, User
from tests.slack.conftest import (
    add_leads,
    block_action,
    command,
    event,
    interact,
    plan_of,
    replies,
    run_redraws,
    state_of,
)
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")

ASKED_TS = "1700000000.000001"  # the fake's first message: the plan `/nbm today` posts
LINK = f"<https://acme.slack.com/archives/DU1/p{ASKED_TS.replace('.', '')}|Open it>"


def _morning(user: User) -> str:
    """The morning job's Slack delivery of today's plan, through the job; what it says it did."""
    return tasks.deliver("plan", "slack", str(user.id), plan_of(user).date.isoformat())


def _delivered_as(user: User) -> str | None:
    with unit_of_work(service=True) as session:
        return session.scalar(select(Delivery.external_id).where(
            Delivery.user_id == user.id, Delivery.kind == DeliveryKind.PLAN, Delivery.channel == Channel.SLACK))


def _done_by_email(web: FlaskClient, fake: FakeSlack, user: User, item: Any) -> None:
    url = EmailLinks.from_settings().action_url(user_id=user.id, action_id=item, mark=marks.DONE)
    assert web.post(urlsplit(url).path).status_code == 200


def _done_in_app_home(web: FlaskClient, fake: FakeSlack, user: User, item: Any) -> None:
    button = {"type": "button", "action_id": "nbm_done", "block_id": f"home|{item}", "value": str(item)}
    assert interact(web, block_action(fake, button)).status_code == 200


def _done_by_number(web: FlaskClient, fake: FakeSlack, user: User, item: Any) -> None:
    command(web, fake, "done 2")


def _done_from_the_cli(web: FlaskClient, fake: FakeSlack, user: User, item: Any) -> None:
    result = CliRunner().invoke(main, ["mark", "--user", user.email, str(item), "done"])
    assert result.exit_code == 0, result.output


Mark = Callable[[FlaskClient, FakeSlack, User, Any], None]


@pytest.mark.parametrize("mark_done", [_done_by_email, _done_in_app_home, _done_by_number, _done_from_the_cli],
                         ids=["email link", "App Home", "/nbm done 2", "nbm mark"])
def test_a_change_from_anywhere_redraws_the_plan_today_posted(web: FlaskClient, fake: FakeSlack, ann: User,
                                                             mark_done: Mark) -> None:
    """Only the morning's plan DM was redrawn: the copy `/nbm today` posted kept its open buttons and
    its old size line after a change made anywhere but in it."""
    add_leads(ann, "Bea Stone", "Carl Diaz")
    command(web, fake, "today")
    assert len(fake.calls_to("chat.postMessage")) == 1
    second = plan_of(ann).items[1].action_id
    fake.calls.clear()

    mark_done(web, fake, ann, second)
    run_redraws()

    assert state_of(ann, second) == ActionState.DONE
    (update,) = fake.calls_to("chat.update")
    assert (update.args["channel"], update.args["ts"]) == ("DU1", ASKED_TS)
    assert update.args["text"] == "Your next best moves for Wed 25 Nov: 1 of 2 actions left, ~10 min"
    assert "✅ Done" in str([b for b in update.args["blocks"] if b.get("block_id") == f"plan|{second}"])


def test_a_plan_posted_for_a_number_typed_before_it_existed_is_redrawn_too(web: FlaskClient, fake: FakeSlack,
                                                                          ann: User) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz")
    command(web, fake, "done 1")  # no plan yet: it is made and posted, and nothing is marked
    assert len(fake.calls_to("chat.postMessage")) == 1
    first = plan_of(ann).items[0].action_id
    fake.calls.clear()
    _done_by_email(web, fake, ann, first)
    run_redraws()
    (update,) = fake.calls_to("chat.update")
    assert update.args["ts"] == ASKED_TS and "1 of 2 actions left" in update.args["text"]


def test_asked_again_the_plan_in_the_dm_is_brought_up_to_date_and_linked_not_posted_twice(
        web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz")
    assert _morning(ann).startswith("sent")
    (morning,) = fake.calls_to("chat.postMessage")
    fake.calls.clear()

    command(web, fake, "today")
    assert fake.calls_to("chat.postMessage") == []
    (update,) = fake.calls_to("chat.update")
    assert morning.args["channel"] == "DU1" and (update.args["channel"], update.args["ts"]) == ("DU1", ASKED_TS)
    assert replies(fake) == [f"📬 Today's plan is in your DM with me, up to date: 2 actions, ~20 min. {LINK}"]

    fake.calls.clear()
    event(web, {"type": "message", "channel_type": "im", "channel": "DU1", "user": "U1", "text": "today",
                "ts": "1700000100.000100", "event_ts": "1700000100.000100"})
    (update,) = fake.calls_to("chat.update")
    assert update.args["ts"] == ASKED_TS
    (pointer,) = fake.calls_to("chat.postMessage")
    assert (pointer.args["channel"], pointer.args["text"]) == (
        "DU1", f"📬 Today's plan is above, up to date: 2 actions, ~20 min. {LINK}")
    assert pointer.args.get("blocks") is None, "a pointer, not a second plan"


def test_the_morning_takes_over_the_plan_today_posted_before_it(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    """`/nbm today` before the morning delivery: the morning brings that message up to date instead
    of posting a second copy, and records it as the day's plan DM, so a redraw draws it once."""
    add_leads(ann, "Bea Stone", "Carl Diaz")
    command(web, fake, "today")
    fake.calls.clear()

    assert _morning(ann) == f"sent (DU1:{ASKED_TS})"
    assert fake.calls_to("chat.postMessage") == []
    (update,) = fake.calls_to("chat.update")
    assert update.args["ts"] == ASKED_TS and update.args["text"].startswith("Your next best moves for Wed 25 Nov")
    assert _delivered_as(ann) == f"DU1:{ASKED_TS}"

    fake.calls.clear()
    _done_by_email(web, fake, ann, plan_of(ann).items[0].action_id)
    run_redraws()
    assert [call.args["ts"] for call in fake.calls_to("chat.update")] == [ASKED_TS], "one message, drawn once"


def test_a_plan_message_deleted_from_the_dm_is_posted_again(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    """Slack says the message is gone: `/nbm today` posts the plan afresh and redraws reach the new
    copy; the morning does the same with a copy `/nbm today` posted that was deleted since."""
    add_leads(ann, "Bea Stone", "Carl Diaz")
    command(web, fake, "today")
    fake.queue("chat.update", {"ok": False, "error": "message_not_found"})
    command(web, fake, "today")
    first, again = fake.calls_to("chat.postMessage")
    assert again.args["text"] == first.args["text"] and "Bea Stone" in str(again.args["blocks"])
    assert replies(fake)[-1] == "📬 Today's plan is in your DM with me: 2 actions, ~20 min."

    fake.queue("chat.update", {"ok": False, "error": "message_not_found"})
    fake.calls.clear()
    assert _morning(ann) == "sent (DU1:1700000000.000003)"
    (posted,) = fake.calls_to("chat.postMessage")
    assert posted.args["metadata"]["event_type"] == "nbm_delivery"

    fake.calls.clear()
    _done_by_email(web, fake, ann, plan_of(ann).items[0].action_id)
    run_redraws()
    assert [call.args["ts"] for call in fake.calls_to("chat.update")] == ["1700000000.000003", "1700000000.000002"]
