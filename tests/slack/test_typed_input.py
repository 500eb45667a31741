"""What a person types after `/nbm`, sent as Slack sends it: spaces of any kind in a name, `#2` for a
plan number, a lead whose name ends in a date word, a colon in a name, Slack's escapes and wrapped
links, and the snooze menu's own labels typed back in."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import select, update

from core.actions.snooze import ACCEPTED_FORMS
from core.db import unit_of_work
from core.models import Action, ActionState, Lead, User
from core.text import short_date
from tests.slack.conftest import add_leads, command, plan_of, replies
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")

NBSP = "\u00a0"


def _leads(user: User) -> list[tuple[str, str]]:
    with unit_of_work(user_id=user.id) as session:
        return [(lead.name, lead.url) for lead in session.scalars(select(Lead).where(Lead.user_id == user.id))]


def _snoozed_until(user: User, lead: Lead) -> date | None:
    """Until when the lead's outreach is snoozed (None: not snoozed)."""
    with unit_of_work(user_id=user.id) as session:
        action = session.scalars(select(Action).where(Action.person_id == lead.id)).one()
        return action.snooze_until if action.state == ActionState.SNOOZED else None


def _rename(lead: Lead, name: str) -> None:
    """Store ``name`` as it was stored before names were folded (as typed, spaces and all)."""
    with unit_of_work(service=True) as session:
        session.execute(update(Lead).where(Lead.id == lead.id).values(name=name))


# --- spaces in names ------------------------------------------------------------------------------

@pytest.mark.parametrize("typed", ["Ann  Lee", f"Ann{NBSP}Lee", f" Ann {NBSP} Lee "],
                         ids=["two spaces", "a non-breaking space", "a mix"])
def test_add_stores_a_name_with_its_spaces_folded(web: FlaskClient, fake: FakeSlack, ann: User, typed: str) -> None:
    command(web, fake, f"add {typed} https://www.linkedin.com/in/ann-lee")
    assert _leads(ann) == [("Ann Lee", "https://www.linkedin.com/in/ann-lee")]
    assert replies(fake) == ["➕ Added <https://www.linkedin.com/in/ann-lee|Ann Lee>. "
                             "Reaching out to them is in today's plan."]


@pytest.mark.parametrize("stored", ["Dana  Fox", f"Dana{NBSP}Fox", "Dana Fox"])
@pytest.mark.parametrize("typed", ["snooze Dana Fox", f"snooze Dana{NBSP}Fox tomorrow", "done Dana   Fox",
                                   f"sent dana{NBSP}{NBSP}fox"])
def test_a_name_is_found_however_its_spaces_were_typed_or_stored(
    web: FlaskClient, fake: FakeSlack, ann: User, stored: str, typed: str
) -> None:
    (dana,) = add_leads(ann, "Dana Fox")
    _rename(dana, stored)
    command(web, fake, typed)
    (reply,) = replies(fake)
    assert reply.startswith(("💤 Snoozed until Thu 26 Nov: Reach out to Dana", "✅ Marked done: Reach out to Dana",
                             "✅ Marked sent: Reach out to Dana")), reply


# --- #2 is the number 2 ---------------------------------------------------------------------------

def test_a_plan_number_may_be_written_as_the_answers_print_it(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz")
    first, second = plan_of(ann).items
    command(web, fake, "done #2")
    command(web, fake, "snooze #1 next monday")
    assert replies(fake) == [f"✅ Marked done: #2 of today's plan — {second.title}.",
                             f"💤 Snoozed until Mon 30 Nov: #1 of today's plan — {first.title}."]
    assert [item.state for item in plan_of(ann).items] == [ActionState.SNOOZED, ActionState.DONE]


@pytest.mark.parametrize(("text", "answer"), [
    ("done #9", "Today's plan has 2 actions; use a number from 1 to 2, or a lead's name or link"),
    ("done Zed", "No lead is called 'Zed'; use a lead's name or link (`/nbm leads` lists yours), "
                 "or a number from today's plan (`/nbm today`)"),
    ("replied #two", "No lead is called '#two'; use a lead's name or link (`/nbm leads` lists yours), "
                     "or a number from today's plan (`/nbm today`)"),
])
def test_a_reference_that_is_neither_says_that_a_number_or_a_name_is_accepted(
    web: FlaskClient, fake: FakeSlack, ann: User, text: str, answer: str
) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz")
    before = plan_of(ann)
    command(web, fake, text)
    assert replies(fake) == [answer]
    assert plan_of(ann) == before


# --- a lead's name that ends in a date word --------------------------------------------------------

def test_a_whole_name_that_could_also_be_a_name_and_a_date_asks_for_the_date(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    """"Ruby Tuesday" is a lead, and so is Ruby: neither "Ruby Tuesday until tomorrow" nor "Ruby until
    Tuesday" is guessed; the lead is preferred, and the answer asks for its date."""
    ruby, ruby_tuesday = add_leads(ann, "Ruby", "Ruby Tuesday")
    before = plan_of(ann)
    command(web, fake, "snooze Ruby Tuesday")
    (reply,) = replies(fake)
    assert reply == ("'Ruby Tuesday' names a lead, so 'Tuesday' is read as part of its name, not as the date, and "
                     "nothing was snoozed; say until when after the name, e.g. `/nbm snooze Ruby Tuesday tomorrow` "
                     f"({ACCEPTED_FORMS}), or snooze by the number from `/nbm today`")
    assert plan_of(ann) == before

    command(web, fake, "snooze Ruby Tuesday next monday")
    command(web, fake, "snooze ruby tuesday 2026-12-02")
    assert replies(fake)[1:] == ["💤 Snoozed until Mon 30 Nov: Reach out to Ruby Tuesday.",
                                 "💤 Snoozed until Wed 2 Dec: Reach out to Ruby Tuesday."]
    assert (_snoozed_until(ann, ruby), _snoozed_until(ann, ruby_tuesday)) == (None, date(2026, 12, 2))


def test_a_trailing_date_is_split_off_only_when_the_words_before_it_name_a_lead(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    ruby, bea = add_leads(ann, "Ruby", "Bea Stone")
    command(web, fake, "snooze Ruby Tuesday")  # no lead is called Ruby Tuesday: Ruby, until Tuesday
    command(web, fake, "snooze Bea Stone")  # the whole text names a lead, and nothing else: tomorrow
    assert replies(fake)[0] == "💤 Snoozed until Tue 1 Dec: Reach out to Ruby."
    assert replies(fake)[1].startswith("💤 Snoozed until Thu 26 Nov: Reach out to Bea Stone. For another day")
    assert (_snoozed_until(ann, ruby), _snoozed_until(ann, bea)) == (date(2026, 12, 1), date(2026, 11, 26))


def test_a_word_after_a_lead_that_is_no_date_is_named_as_such(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone")
    before = plan_of(ann)
    command(web, fake, "snooze Bea Stone nextweek")
    command(web, fake, "snooze Bea Stone 9999d")
    (not_a_date, too_far) = replies(fake)
    assert not_a_date.startswith("'nextweek' is not a snooze date; use 'tomorrow'")
    assert too_far == "A snooze can last at most 365 days; pick an earlier date"
    assert plan_of(ann) == before


# --- a colon in a name ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "name", "notes"), [
    ("add Ann Re:Search https://x.com met at SaaStr", "Ann Re:Search", "met at SaaStr"),
    ("add Dr:Who <https://x.com|x.com> note:important", "Dr:Who", "note:important"),
])
def test_the_link_is_the_word_that_is_a_link_not_any_word_with_a_colon(
    web: FlaskClient, fake: FakeSlack, ann: User, text: str, name: str, notes: str
) -> None:
    command(web, fake, text)
    with unit_of_work(user_id=ann.id) as session:
        lead = session.scalars(select(Lead)).one()
        assert (lead.name, lead.url, lead.notes) == (name, "https://x.com", notes)


def test_a_name_with_a_colon_and_no_link_is_refused_saying_which_links_are_accepted(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    command(web, fake, "add Ann Re:Search")
    assert replies(fake)[0].startswith("Only https://, http:// and mailto: links are accepted; 'Re:Search' is not one")
    assert _leads(ann) == []


# --- Slack's escapes and wrapped links ------------------------------------------------------------

@pytest.mark.parametrize(("sent", "name", "url"), [
    ("Smith &amp; Co <https://x.com>", "Smith & Co", "https://x.com"),
    ("Smith &amp; Co <https://x.com|x.com>", "Smith & Co", "https://x.com"),
    ("&lt;Bea&gt; &amp;amp; Co <https://x.com/p?a=1&amp;b=2|x.com/p?a=1&amp;b=2>", "<Bea> &amp; Co",
     "https://x.com/p?a=1&b=2"),
    ("Dana Fox <mailto:dana@x.com|dana@x.com>", "Dana Fox", "mailto:dana@x.com"),
], ids=["ampersand", "link with its label", "what looks like an escape, typed", "email address"])
def test_add_stores_what_was_typed_from_the_text_slack_sends(
    web: FlaskClient, fake: FakeSlack, ann: User, sent: str, name: str, url: str
) -> None:
    command(web, fake, f"add {sent}")
    assert _leads(ann) == [(name, url)]


@pytest.mark.parametrize(("sent", "name", "url", "notes"), [
    ("<http://Acme.io|Acme.io> <http://linkedin.com/in/acme|linkedin.com/in/acme>", "Acme.io",
     "http://linkedin.com/in/acme", None),
    ("<http://Acme.io|Acme.io> &amp; Co <https://www.linkedin.com/in/acme> met at <http://saastr.com|saastr.com>",
     "Acme.io & Co", "https://www.linkedin.com/in/acme", "met at http://saastr.com"),
    ("<mailto:bea@acme.io|bea@acme.io> <https://www.linkedin.com/in/bea>", "bea@acme.io",
     "https://www.linkedin.com/in/bea", None),
], ids=["a domain as the name", "a domain starting the name", "an email address as the name"])
def test_a_first_word_slack_made_a_link_of_is_the_name_when_a_link_follows(
    web: FlaskClient, fake: FakeSlack, ann: User, sent: str, name: str, url: str, notes: str | None
) -> None:
    """`/nbm add Acme.io linkedin.com/in/acme`: Slack links both words; the first, where the name goes,
    is the name as typed, and the link is the word after it."""
    command(web, fake, f"add {sent}")
    with unit_of_work(user_id=ann.id) as session:
        lead = session.scalars(select(Lead)).one()
        assert (lead.name, lead.url, lead.notes) == (name, url, notes)
    assert replies(fake) == [f"➕ Added <{url}|{name.replace('&', '&amp;')}>. Reaching out to them is in today's plan."]


@pytest.mark.parametrize("sent", [
    "<http://Acme.io|Acme.io>",
    "<https://www.linkedin.com/in/acme> met via <https://x.com>",
], ids=["the only link, made by Slack", "a first link typed whole"])
def test_a_first_word_that_is_the_link_still_asks_for_the_name(
    web: FlaskClient, fake: FakeSlack, ann: User, sent: str
) -> None:
    command(web, fake, f"add {sent}")
    assert replies(fake) == ["Put the lead's name before the link; write `/nbm add &lt;name&gt; &lt;link&gt; [notes]`, "
                             "e.g. `/nbm add Ann Lee https://www.linkedin.com/in/ann-lee`"]
    assert _leads(ann) == []


def test_a_lead_named_like_an_address_is_found_by_its_name_once_slack_made_it_a_link(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    """`/nbm done Acme.io`: Slack sends the name as the link ``http://Acme.io``, which is no lead's."""
    command(web, fake, "add <http://Acme.io|Acme.io> <https://www.linkedin.com/in/acme>")
    command(web, fake, "done <http://acme.io|acme.io>")
    assert replies(fake)[-1] == "✅ Marked done: Reach out to Acme.io."
    command(web, fake, "done <http://acme.com|acme.com>")  # neither a link nor a name of any lead
    assert replies(fake)[-1] == ("No lead has the link 'http://acme.com' or is called 'acme.com'; "
                                 "`/nbm leads` lists yours")


def test_a_name_with_an_ampersand_is_found_and_shown_escaped(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    command(web, fake, "add Smith &amp; Co <https://x.com|x.com>")
    command(web, fake, "done smith &amp; co")
    assert replies(fake) == ["➕ Added <https://x.com|Smith &amp; Co>. Reaching out to them is in today's plan.",
                             "✅ Marked done: Reach out to Smith &amp; Co."]


def test_a_focus_is_stored_as_typed(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    command(web, fake, "focus R&amp;D &lt;first&gt;")
    assert plan_of(ann).focus == "R&D <first>"
    assert replies(fake) == ["🎯 This week's focus: R&amp;D &lt;first&gt;"]


# --- the snooze menu's labels, typed --------------------------------------------------------------

@pytest.mark.parametrize("day", [datetime(2026, 11, 25, 12, tzinfo=UTC), datetime(2026, 11, 27, 12, tzinfo=UTC),
                                 datetime(2026, 11, 28, 12, tzinfo=UTC)], ids=["Wednesday", "Friday", "Saturday"])
def test_each_label_of_the_snooze_menu_typed_back_gives_the_menus_date(
    web: FlaskClient, fake: FakeSlack, ann: User, day: datetime
) -> None:
    with time_machine.travel(day, tick=False):
        leads = add_leads(ann, "Bea Stone", "Carl Diaz", "Dana Fox", "Eli Gray")
        command(web, fake, "today", channel="DU1")
        menu = next(e for b in fake.calls_to("chat.postMessage")[-1].args["blocks"] if b["type"] == "actions"
                    for e in b["elements"] if e["action_id"] == "nbm_snooze")
        offered = [(o["text"]["text"].rsplit(" (", 1)[0], date.fromisoformat(o["value"])) for o in menu["options"]]
        for (label, until), lead in zip(offered, leads, strict=False):
            command(web, fake, f"snooze {lead.name} {label.upper() if len(label) % 2 else label}")
            assert replies(fake)[-1] == f"💤 Snoozed until {short_date(until)}: Reach out to {lead.name}."
            assert _snoozed_until(ann, lead) == until


@pytest.mark.parametrize(("typed", "until"), [
    ("Next work day", "Thu 26 Nov"), ("in 3 work days", "Mon 30 Nov"), ("NEXT WEEK", "Mon 30 Nov"),
    ("2 workdays", "Fri 27 Nov"),
])
def test_work_day_words_are_read_on_the_users_work_days(web: FlaskClient, fake: FakeSlack, ann: User, typed: str,
                                                        until: str) -> None:
    add_leads(ann, "Bea Stone")
    plan_of(ann)  # today's plan, the one whose numbers she types
    command(web, fake, f"snooze 1 {typed}")
    assert replies(fake) == [f"💤 Snoozed until {until}: #1 of today's plan — Reach out to Bea Stone."]
