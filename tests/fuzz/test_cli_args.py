"""The ``nbm`` commands that read or change a user's data, fuzzed with any arguments: unknown users and
ids, another user's ids, odd names, links, dates, capacities and hours. Never a traceback: exit 0,
or exit 2 with a message and nothing changed."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from bot.cli import main
from tests.factories import make_action, make_lead, make_user
from tests.fuzz.conftest import Book, changed, snapshot
from tests.fuzz.strategies import awkward_text, date_words, huge_text, links, mostly, unicode_text, word


@pytest.fixture()
def people(service: Session) -> Book:
    ann = make_user(service, email="ann@example.com", name="Ann Lee", timezone="Europe/Paris")
    bob = make_user(service, email="bob@example.com", name="Bob Lee")
    lead = make_lead(service, ann, name="Dana Fox", url="https://www.linkedin.com/in/dana-fox")
    action = make_action(service, ann, lead)
    bob_lead = make_lead(service, bob, name="Eve Ng", url="https://www.linkedin.com/in/eve-ng")
    bob_action = make_action(service, bob, bob_lead)
    return Book(ann=ann, lead=lead, action=action, bob_lead=bob_lead, bob_action=bob_action)


def text() -> st.SearchStrategy[str]:
    # A text starting with "-" is an option to click: anything else is fine.
    return st.one_of(word(), unicode_text, awkward_text, huge_text(), st.just("")).filter(
        lambda value: "\x00" not in value)


@st.composite
def argvs(draw: st.DrawFn, people: Book) -> list[str]:
    """A command line: the command, its user, its arguments and options, any of them odd."""
    user = draw(mostly(st.sampled_from(["ann@example.com", "ann@example.com", "ANN@EXAMPLE.COM", "bob@example.com",
                                        "nobody@example.com"]), text(), one_in=6))
    lead = draw(mostly(st.sampled_from([str(people["lead"].id), str(people["lead"].id), str(people["bob_lead"].id)]),
                       st.uuids().map(str) | text()))
    action = draw(mostly(st.sampled_from([str(people["action"].id), str(people["action"].id),
                                          str(people["bob_action"].id)]), st.uuids().map(str) | text()))
    day = draw(mostly(st.dates(min_value=date(2026, 11, 1), max_value=date(2027, 12, 31)).map(date.isoformat),
                      date_words() | text()))
    optional = mostly(st.none(), text(), one_in=2)
    command = draw(st.sampled_from(["leads add", "leads edit", "leads snooze", "leads unsnooze", "leads archive",
                                    "leads list", "plan", "actions list", "mark", "call", "streak", "summary",
                                    "calendar hours", "calendar calls", "calendar connect", "calendar list",
                                    "users add", "billing status"]))
    args: list[str | None] = []
    if command == "leads add":
        args = [draw(mostly(st.just("Gus Poe"), text())), draw(mostly(st.just("https://gus.io/p"), links())),
                "--notes", draw(optional), "--email", draw(optional)]
    elif command == "leads edit":
        args = [lead, "--name", draw(optional), "--url", draw(st.none() | links()), "--notes", draw(optional),
                "--email", draw(optional)]
    elif command == "leads snooze":
        args = [lead, "--until", day]
    elif command in ("leads unsnooze", "leads archive"):
        args = [lead]
    elif command in ("leads list", "actions list"):
        args = ["--status" if command == "leads list" else "--state", draw(st.sampled_from(
            ["active", "SNOOZED", "new", "sent", "done"]) | text())]
    elif command == "plan":
        args = ["--date", day, "--capacity", draw(st.sampled_from(["light", "heavy", "micro"]) | text()),
                *draw(st.sampled_from([[], ["--refresh"]]))]
    elif command == "mark":
        args = [action, draw(st.sampled_from(["sent", "replied", "done", "snooze", "DONE"]) | text()),
                "--until", draw(st.none() | st.just(day))]
    elif command == "call":
        args = [lead, day]
    elif command == "summary":
        args = ["--week", day]
    elif command == "calendar hours":
        args = [draw(st.sampled_from(["09:00-17:00", "17:00-09:00", "9-5", "24:00-25:00", "09:00-09:00"]) | text())]
    elif command == "calendar calls":
        args = [draw(st.sampled_from(["on", "off", "ON"]) | text())]
    elif command == "calendar connect":
        args = [draw(st.sampled_from(["ics", "google", "outlook"]) | text()), draw(links() | text())]
    elif command == "users add":
        args = [draw(st.sampled_from(["cy@example.com", "ann@example.com"]) | text()), "--name", draw(text()),
                "--tz", draw(st.sampled_from(["Europe/Paris", "US/Eastern", "Factory"]) | text())]
    argv = command.split() + ([] if command == "users add" else [f"--user={user}"])
    # Options as --name=value (one without a value is left out), then the arguments after "--", so that
    # a value starting with "-" is a value, not an option.
    options, positional = [], []
    pairs = iter(args)
    for item in pairs:
        if item is not None and item.startswith("--") and item != "--refresh":
            value = next(pairs)
            if value is not None:
                options.append(f"{item}={value}")
        elif item is not None:
            (options if item == "--refresh" else positional).append(item)
    if draw(st.booleans()):
        options.append("--json")
    return [*argv, *options, "--", *positional]


@given(data=st.data())
def test_any_arguments_exit_0_or_2_with_a_message_never_a_traceback(
    people: Book, in_savepoint: Any, data: st.DataObject
) -> None:
    argv = data.draw(argvs(people), label="argv")
    with in_savepoint():
        before = snapshot()
        result = CliRunner().invoke(main, argv)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        event(f"{argv[0]} exit {result.exit_code}")
        assert result.exit_code in (0, 2), result.output
        if result.exit_code == 2:
            assert result.stderr.strip(), "exit 2 without a message"
            assert changed(before, snapshot()) == []
