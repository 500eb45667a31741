"""`nbm digest preview` and `nbm digest send`, run the way an operator runs them."""

from __future__ import annotations

import contextlib
import json
import resource
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.cli import digest as digest_cli
from bot.cli import main
from bot.email.backends import get_backend
from core import config
from core.clock import utcnow
from core.demo import DEMO_EMAIL, seed_demo
from core.jobs.tasks import deliver
from core.models import ActionType, Channel, DailyPlan, Delivery, DeliveryKind, DeliveryStatus
from tests.email.pages import TODAY, make_world
from tests.factories import make_action, make_lead, make_user

pytestmark = pytest.mark.usefixtures("email_settings", "clock", "connection")


def test_nbm_digest_preview_writes_the_html_and_the_text_beside_it(service: Session, tmp_path) -> None:
    make_world(service, email="zoe@example.com")
    out = tmp_path / "today.html"
    result = CliRunner().invoke(main, ["digest", "preview", "--user", "ZOE@example.com", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Subject: Your next best moves for Wed 25 Nov — 3 actions, ~30 min" in result.output
    assert "Reach out to Bo Chen" in out.read_text()
    assert "Reach out to Bo Chen" in (tmp_path / "today.txt").read_text()
    assert get_backend().entries() == []


def test_a_digest_composed_after_a_completion_today_does_not_ask_for_one(service: Session, tmp_path) -> None:
    """A digest sent once something was done today (a catch-up, a preview in the afternoon) says the
    day is counted instead of asking for an action that was already done."""
    world = make_world(service, email="zoe@example.com")
    runner = CliRunner()
    assert runner.invoke(main, ["mark", "--user", "zoe@example.com", str(world.actions[0].id), "done"]).exit_code == 0
    out = tmp_path / "today.html"
    assert runner.invoke(main, ["digest", "preview", "--user", "zoe@example.com", "--out", str(out)]).exit_code == 0
    text = (tmp_path / "today.txt").read_text()
    assert "You are on a 1-day streak, today included." in text
    assert "keeps it going" not in text and "start a streak" not in text


def test_a_digest_composed_after_a_completion_states_what_is_left_out_of_the_whole(service: Session, tmp_path) -> None:
    """The subject and the opening line state the same size, the one the list beneath shows: what is
    left out of the whole plan (``PlanView.size``). The body used to count 2 actions above 3 items."""
    world = make_world(service, email="zoe@example.com")
    runner = CliRunner()
    assert runner.invoke(main, ["mark", "--user", "zoe@example.com", str(world.actions[0].id), "done"]).exit_code == 0
    out = tmp_path / "today.html"
    result = runner.invoke(main, ["digest", "preview", "--user", "zoe@example.com", "--out", str(out)])
    assert "Subject: Your next best moves for Wed 25 Nov — 2 of 3 actions left, ~20 min" in result.output
    text = (tmp_path / "today.txt").read_text()
    assert "Your next best moves for Wed 25 Nov: 2 of 3 actions left, about 20 min." in text
    plan = runner.invoke(main, ["plan", "--user", "zoe@example.com"]).output
    assert plan.splitlines()[0].startswith("Wed 25 Nov — 2 of 3 actions left, ~20 min")


def test_a_digest_of_a_plan_all_acted_on_says_so_without_calling_it_done(service: Session, tmp_path) -> None:
    """A snoozed or sent item is acted on, not done: "already done" was false for them."""
    world = make_world(service, email="zoe@example.com")
    runner = CliRunner()
    marks = {0: ["done"], 1: ["snooze", "--until", "2026-11-30"], 2: ["done"]}
    for index, mark in marks.items():
        result = runner.invoke(main, ["mark", "--user", "zoe@example.com", str(world.actions[index].id), *mark])
        assert result.exit_code == 0, result.output
    out = tmp_path / "today.html"
    result = runner.invoke(main, ["digest", "preview", "--user", "zoe@example.com", "--out", str(out)])
    assert "Subject: Your next best moves for Wed 25 Nov — all 3 actions acted on" in result.output
    text = (tmp_path / "today.txt").read_text()
    assert "Everything in your plan for Wed 25 Nov is acted on. Nice work." in text
    assert "already done" not in text


def test_the_dev_demo_users_first_digest_states_the_streak_its_history_makes(service: Session, tmp_path) -> None:
    """``nbm dev`` seeds the demo user due now (every day a work day); its first digest, composed
    before any housekeeping has run, states the streak the seeded history makes, as ``nbm streak`` does."""
    seed_demo(service, timezone="Europe/London", due_now=True)
    runner = CliRunner()
    out = tmp_path / "first.html"
    assert runner.invoke(main, ["digest", "preview", "--user", DEMO_EMAIL, "--out", str(out)]).exit_code == 0
    streak = json.loads(runner.invoke(main, ["streak", "--user", DEMO_EMAIL, "--json"]).output)["streak"]
    text = (tmp_path / "first.txt").read_text()
    assert streak > 0
    assert f"{streak}-day streak" in text and "start a streak" not in text


def test_a_lead_archived_or_snoozed_leaves_the_digest_at_once(service: Session, tmp_path) -> None:
    """Ann is archived and Bo snoozed after the morning's plan was built: the digest offers only Cy."""
    world = make_world(service, email="zoe@example.com")
    ann, bo, _ = world.leads
    runner = CliRunner()
    assert runner.invoke(main, ["leads", "archive", "--user", "zoe@example.com", str(ann.id)]).exit_code == 0
    assert runner.invoke(main, ["leads", "snooze", "--user", "zoe@example.com", str(bo.id),
                                "--until", "2026-12-15"]).exit_code == 0
    out = tmp_path / "today.html"
    result = runner.invoke(main, ["digest", "preview", "--user", "zoe@example.com", "--out", str(out)])
    assert "Subject: Your next best moves for Wed 25 Nov — 1 action, ~10 min" in result.output
    for part in (out, tmp_path / "today.txt"):
        text = part.read_text()
        assert "Reach out to Cy Dee" in text and "Ann Lee" not in text and "Bo Chen" not in text


def test_nbm_digest_send_sends_through_the_configured_backend(service: Session) -> None:
    make_world(service, email="zoe@example.com")
    result = CliRunner().invoke(main, ["digest", "send", "--user", "zoe@example.com"])
    assert result.exit_code == 0, result.output
    (entry,) = get_backend().entries()
    assert entry.subject.startswith("Your next best moves for Wed 25 Nov")
    assert "Sent today's digest to zoe@example.com via outbox" in result.output and "/dev/outbox" in result.output


def test_nbm_digest_send_sends_the_days_digest_once_whoever_sent_it_first(service: Session) -> None:
    """A second send by hand, or one after the morning job delivered the digest, sends nothing and
    says when it went; the morning job finds a digest sent by hand sent."""
    world = make_world(service, email="zoe@example.com")
    first = CliRunner().invoke(main, ["digest", "send", "--user", "zoe@example.com"])
    again = CliRunner().invoke(main, ["digest", "send", "--user", "zoe@example.com"])
    (entry,) = get_backend().entries()
    message_id = get_backend().read(entry.id)["Message-ID"]
    assert again.exit_code == 0, again.output
    assert (f"Today's digest to zoe@example.com was already sent on Wed 25 Nov: Message-ID {message_id}; "
            "nothing was sent again") in again.output
    assert message_id in first.output
    assert "already sent" in deliver("plan", "email", str(world.user.id), "2026-11-25")  # the morning's job
    assert len(get_backend().entries()) == 1


def test_nbm_digest_names_an_unknown_user_clearly(service: Session) -> None:
    result = CliRunner().invoke(main, ["digest", "send", "--user", "nobody@example.com"])
    assert result.exit_code == 2
    assert "no user with the email 'nobody@example.com'" in result.output


def test_nbm_digest_preview_refuses_an_out_file_the_text_part_would_overwrite(service: Session, tmp_path) -> None:
    make_world(service, email="zoe@example.com")
    out = tmp_path / "today.txt"
    result = CliRunner().invoke(main, ["digest", "preview", "--user", "zoe@example.com", "--out", str(out)])
    assert result.exit_code == 2
    assert "name the HTML file" in result.output
    assert not out.exists()


@pytest.mark.parametrize(("out", "message"), [
    ("missing/today.html", "does not exist"),
    ("notes.txt/today.html", "is not a folder"),
    ("today", "is a folder"),  # the text part would be written to today.txt: the HTML file is the one refused
    ("today.html", "today.txt is a folder"),
])
def test_nbm_digest_preview_refuses_an_out_file_it_cannot_write_before_building_a_plan(
    service: Session, tmp_path, out: str, message: str
) -> None:
    user = make_user(service, email="zoe@example.com", timezone="Europe/London")
    make_action(service, user, make_lead(service, user), action_type=ActionType.OUTREACH, due_date=TODAY)
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "today").mkdir()
    (tmp_path / "today.txt").mkdir()

    result = CliRunner().invoke(main, ["digest", "preview", "--user", "zoe@example.com", "--out", str(tmp_path / out)])

    assert result.exit_code == 2, result.output
    assert message in result.output and "--out" in result.output
    assert service.scalars(select(DailyPlan).where(DailyPlan.user_id == user.id)).all() == []
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "data") == ["notes.txt", "today", "today.txt"]


def _the_folder_goes(out: Path, undo: contextlib.ExitStack) -> str:
    out.parent.rmdir()
    return f"could not be written to {out}: No such file or directory"


def _a_folder_takes_the_text_parts_name(out: Path, undo: contextlib.ExitStack) -> str:
    out.with_suffix(".txt").mkdir()
    return f"could not be written to {out.with_suffix('.txt')}: Is a directory"


def _the_disk_fills(out: Path, undo: contextlib.ExitStack) -> str:
    """Files of this process may grow to 1 KiB and no more (RLIMIT_FSIZE): as on a full disk, a write
    past it fails part-way (EFBIG, once SIGXFSZ no longer ends the process)."""
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    undo.callback(signal.signal, signal.SIGXFSZ, signal.signal(signal.SIGXFSZ, signal.SIG_IGN))
    undo.callback(resource.setrlimit, resource.RLIMIT_FSIZE, limits)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, limits[1]))
    return f"could not be written to {out}: File too large"


@pytest.mark.parametrize(("mishap", "left"), [
    (_the_folder_goes, []),
    (_a_folder_takes_the_text_parts_name, ["digests", "digests/today.txt"]),  # the HTML part went with it
    (_the_disk_fills, ["digests"]),
])
def test_nbm_digest_preview_says_in_one_line_a_file_it_cannot_write_after_all_and_leaves_nothing_behind(
    service: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    mishap: Callable[[Path, contextlib.ExitStack], str], left: list[str]
) -> None:
    """The files were writable when the command started, and are not once the digest is built: the
    person reads which file and why in one line, no plan is saved for it, and no file is left behind."""
    user = make_user(service, email="zoe@example.com", timezone="Europe/London")
    make_action(service, user, make_lead(service, user), action_type=ActionType.OUTREACH, due_date=TODAY)
    out = tmp_path / "digests" / "today.html"
    out.parent.mkdir()
    real_build = digest_cli.digest_email_building_plan_if_missing
    said: list[str] = []

    with contextlib.ExitStack() as undo:
        def build_then_mishap(session: Session, **kwargs: Any) -> Any:
            built = real_build(session, **kwargs)
            said.append(mishap(out, undo))
            return built

        monkeypatch.setattr(digest_cli, "digest_email_building_plan_if_missing", build_then_mishap)
        result = CliRunner().invoke(main, ["digest", "preview", "--user", "zoe@example.com", "--out", str(out)])

    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == [f"Error: the digest {said[0]}; today's plan is as it was: run the command "
                                          "again once it can be written"]
    assert service.scalars(select(DailyPlan).where(DailyPlan.user_id == user.id)).all() == []
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")
                  if p.relative_to(tmp_path).parts[0] != "data") == left


def test_nbm_digest_send_uses_smtp_when_configured_and_says_plainly_when_it_is_refused(
    service: Session, smtp_server, monkeypatch
) -> None:
    make_world(service, email="zoe@example.com")
    server = smtp_server(failures=["550 5.7.1 Relaying denied"])
    for name, value in {"EMAIL_BACKEND": "smtp", "SMTP_HOST": server.host, "SMTP_PORT": str(server.port),
                        "SMTP_SECURITY": "none"}.items():
        monkeypatch.setenv(name, value)
    config.get_settings.cache_clear()
    refused = CliRunner().invoke(main, ["digest", "send", "--user", "zoe@example.com"])
    assert refused.exit_code == 1
    assert "nothing was sent" in refused.output and "Relaying denied" in refused.output
    assert "Traceback" not in refused.output and server.handler.received == []

    sent = CliRunner().invoke(main, ["digest", "send", "--user", "zoe@example.com"])
    assert sent.exit_code == 0, sent.output
    assert "via smtp" in sent.output
    (received,) = server.handler.received
    assert "zoe@example.com" in received["To"]
    assert received["Message-ID"] in sent.output


def test_nbm_digest_send_while_the_morning_job_is_sending_it_says_so_and_sends_nothing(service: Session) -> None:
    """The job's lease on today's digest is held (it is being sent right now): the command leaves it to
    that job and says so in a sentence, exit 2, where it failed an assertion with a traceback."""
    world = make_world(service, email="zoe@example.com")
    service.add(Delivery(user_id=world.user.id, kind=DeliveryKind.PLAN, channel=Channel.EMAIL, period=TODAY,
                         status=DeliveryStatus.PENDING, attempts=1, sending_since=utcnow()))
    service.flush()
    result = CliRunner().invoke(main, ["digest", "send", "--user", "zoe@example.com"])
    assert result.exit_code == 2, result.output
    assert "Today's digest to zoe@example.com was not sent by this command: being sent by another job" in result.output
    assert "Traceback" not in result.output and get_backend().entries() == []
