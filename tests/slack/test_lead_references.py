"""Two leads of the same name told apart in `/nbm`: each can be named by its link (as typed, in another
case, or as Slack wraps a link), and a name both share is refused listing each with its link."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from core.db import unit_of_work
from core.models import ActionState, Lead, LoggedCall, User
from tests.slack.conftest import add_leads, block_action, command, interact, plan_of, replies
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")

FIRST, SECOND = "https://www.linkedin.com/in/bea-stone-1", "https://www.linkedin.com/in/bea-stone-2"


@pytest.fixture()
def beas(ann: User) -> list[Lead]:
    """Two active leads called Bea Stone, each with its outreach in today's plan."""
    return add_leads(ann, "Bea Stone", "Bea Stone", urls=[FIRST, SECOND])


def _calls(user: User) -> list[tuple[object, object]]:
    with unit_of_work(user_id=user.id) as session:
        return [(call.lead_id, call.call_date.isoformat()) for call in session.scalars(select(LoggedCall))]


def _states(user: User) -> dict[object, ActionState]:
    """Each lead's state in today's plan."""
    return {item.lead_id: item.state for item in plan_of(user).items}


def test_call_by_link_logs_the_call_with_that_lead(web: FlaskClient, fake: FakeSlack, ann: User,
                                                   beas: list[Lead]) -> None:
    command(web, fake, f"call {SECOND} friday")
    assert replies(fake) == ["📞 Logged your call with Bea Stone on Fri 27 Nov. "
                             "Planned: prep on Thu 26 Nov and the follow-up on Mon 30 Nov."]
    assert _calls(ann) == [(beas[1].id, "2026-11-27")]


@pytest.mark.parametrize("written", [
    SECOND, "HTTPS://WWW.LinkedIn.com/in/bea-stone-2/", f"<{SECOND}>", f"<{SECOND}|Bea Stone>",
], ids=["as stored", "as added in another case", "wrapped by Slack", "wrapped by Slack with its label"])
def test_done_by_link_marks_that_leads_action_only(web: FlaskClient, fake: FakeSlack, ann: User,
                                                   beas: list[Lead], written: str) -> None:
    command(web, fake, f"done {written}")
    assert replies(fake) == ["✅ Marked done: Reach out to Bea Stone."]
    assert _states(ann) == {beas[0].id: ActionState.NEW, beas[1].id: ActionState.DONE}


def test_a_shared_name_is_refused_listing_each_lead_with_its_link(web: FlaskClient, fake: FakeSlack, ann: User,
                                                                  beas: list[Lead]) -> None:
    before = plan_of(ann)
    command(web, fake, "done Bea Stone")
    command(web, fake, "call bea friday")
    assert replies(fake) == [
        f"'Bea Stone' matches Bea Stone ({FIRST}), Bea Stone ({SECOND}); use the URL to pick one, "
        "or a number from today's plan (`/nbm today`)",
        # A call takes no plan number.
        f"'bea' matches Bea Stone ({FIRST}), Bea Stone ({SECOND}); use the URL to pick one",
    ]
    assert plan_of(ann) == before
    assert _calls(ann) == []


def test_the_links_listed_are_short_and_escaped_for_slack(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    long = "https://crm.example.com/people?id=7&view=" + "x" * 80
    add_leads(ann, "Bea Stone", "Bea Stone", "Beatrice Ray", urls=[FIRST, "https://b.io/?a=1&b=<2>", long])
    command(web, fake, "done bea")
    assert replies(fake) == [
        f"'bea' matches Bea Stone (https://b.io?a=1&amp;b=&lt;2&gt;), Bea Stone ({FIRST}), "
        f"Beatrice Ray (…/people?id=7&amp;view={'x' * 21}…{'x' * 19}); use the URL to pick one (a link "
        "shortened with … is whole in `/nbm leads`), or a number from today's plan (`/nbm today`)"]


#: Two links of one site that differ only past their 60th character, as long LinkedIn addresses do.
LONG_FIRST, LONG_SECOND = (f"https://www.linkedin.com/in/bea-stone-marketing-director-emea-region-{n}" for n in (1, 2))


def test_a_long_link_is_shown_shortened_never_as_a_cut_address(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    """Cut at 60 characters, both links read "https://www.linkedin.com/in/bea-stone-marketing-director-em…",
    which Slack made a link to an address that is neither lead's, and the two read alike. Shown without
    the host they are no link, say that they are shortened and where they are whole, and differ."""
    add_leads(ann, "Bea Stone", "Bea Stone", urls=[LONG_FIRST, LONG_SECOND])
    command(web, fake, "call bea friday")
    assert replies(fake) == [
        "'bea' matches Bea Stone (…/in/bea-stone-marketing-director-emea-region-1), "
        "Bea Stone (…/in/bea-stone-marketing-director-emea-region-2); use the URL to pick one "
        "(a link shortened with … is whole in `/nbm leads`)"]
    assert _calls(ann) == []


def test_different_names_are_still_told_apart_by_writing_more_of_the_name(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    add_leads(ann, "Bea Stone", "Bea Stoner")
    command(web, fake, "call bea friday")
    assert replies(fake) == ["'bea' matches Bea Stone, Bea Stoner; write more of the name"]


@pytest.mark.parametrize(("text", "expected"), [
    ("done https://www.linkedin.com/in/bea-stone-3", "No lead has the link 'https://www.linkedin.com/in/bea-stone-3'; "
                                                     "`/nbm leads` lists yours"),
    ("call javascript:alert(1) friday", "No lead is called 'javascript:alert(1)'; use a lead's name or link "
                                        "(`/nbm leads` lists yours)"),
    ("done http://", "'http://' has no valid host; a web link looks like https://example.com/page"),
    (f"done https://www.linkedin.com/in/{'bea-stone-' * 10}", "No lead has the link "
     "'…/in/bea-stone-bea-stone-bea-stone-bea-stone-bea-ston…stone-bea-stone-bea-stone-'; `/nbm leads` lists yours"),
])
def test_a_link_no_lead_has_is_refused_and_changes_nothing(web: FlaskClient, fake: FakeSlack, ann: User,
                                                           beas: list[Lead], text: str, expected: str) -> None:
    before = plan_of(ann)
    command(web, fake, text)
    assert replies(fake) == [expected]
    assert plan_of(ann) == before
    assert _calls(ann) == []


def _log_call_options(web: FlaskClient, fake: FakeSlack) -> list[tuple[str, str]]:
    """App Home's "Log a call" pressed: the lead menu of the form Slack is asked to open, (text, lead id)."""
    interact(web, block_action(fake, {"type": "button", "action_id": "nbm_open_log_call", "block_id": "x"}))
    (opened,) = fake.calls_to("views.open")
    (menu,) = [block["element"] for block in opened.args["view"]["blocks"] if block["block_id"] == "lead"]
    return [(option["text"]["text"], option["value"]) for option in menu["options"]]


def test_the_log_call_form_tells_leads_of_one_name_apart_by_their_link(
    web: FlaskClient, fake: FakeSlack, ann: User, beas: list[Lead]
) -> None:
    """Two leads called Bea Stone were two identical lines of the menu: each now shows its link, as
    `/nbm call` asks for it, and a name no other lead has stays alone."""
    (carl,) = add_leads(ann, "Carl Diaz")
    assert sorted(_log_call_options(web, fake)) == [
        (f"Bea Stone ({FIRST})", str(beas[0].id)), (f"Bea Stone ({SECOND})", str(beas[1].id)),
        ("Carl Diaz", str(carl.id))]


def test_a_long_shared_name_is_cut_in_the_log_call_form_and_the_link_never_is(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    """An option holds 75 characters: the name gives way, so the link that tells the two apart stays whole."""
    name = "Beatrice Alexandra Stone-Whitfield of Whitfield Consulting Partners Ltd"
    add_leads(ann, name, name, urls=[FIRST, SECOND])
    texts = sorted(text for text, _ in _log_call_options(web, fake))
    assert [text[-len(FIRST) - 2:] for text in texts] == [f"({FIRST})", f"({SECOND})"]
    assert all(len(text) <= 75 and text.startswith("Beatrice Alexandra") for text in texts)


def test_the_log_call_form_shows_a_long_link_shortened_and_tells_namesakes_apart(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    """Cut at 60 characters the two options were the same line, an address neither lead has; shortened
    without their host, they say they are shortened, fit an option's 75 characters, and differ."""
    beas = add_leads(ann, "Bea Stone", "Bea Stone", urls=[LONG_FIRST, LONG_SECOND])
    assert sorted(_log_call_options(web, fake)) == [
        ("Bea Stone (…/in/bea-stone-marketing-director-emea-region-1)", str(beas[0].id)),
        ("Bea Stone (…/in/bea-stone-marketing-director-emea-region-2)", str(beas[1].id))]
