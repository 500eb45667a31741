"""`/nbm` and every subcommand, through the signed Flask route: answers are ephemeral, the plan
goes to the DM, bad input is answered with what is accepted and changes nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select

from bot.cli import main
from core.db import unit_of_work
from core.leads import snooze_lead
from core.models import ActionState, CapacityLevel, CapacityOverride, Lead, LeadStatus, LoggedCall, User
from tests.factories import JOINED, joined
from tests.slack.conftest import NOW, add_leads, command, events_of, plan_of, replies, state_of
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")


def _leads(user: User) -> list[Lead]:
    with unit_of_work(user_id=user.id) as session:
        return list(session.scalars(select(Lead).where(Lead.user_id == user.id)))


def test_every_answer_is_ephemeral(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    command(web, fake, "streak")
    command(web, fake, "nonsense")
    assert [call.args["response_type"] for call in fake.calls_to("respond")] == ["ephemeral", "ephemeral"]


@pytest.mark.parametrize("text", ["", "help", "what is this", "DONEZO 2"])
def test_unknown_or_empty_input_answers_with_help(web: FlaskClient, fake: FakeSlack, ann: User, text: str) -> None:
    assert command(web, fake, text).status_code == 200
    (reply,) = replies(fake)
    assert "`/nbm today`" in reply and "`/nbm snooze &lt;n&gt; [when]`" in reply  # escaped: Slack reads <n> as markup
    assert "`/nbm connect`: connect a calendar (it lists the kinds this server offers)" in reply
    assert "`/nbm unsnooze &lt;n&gt;`: bring a snoozed action" in reply
    assert "google|outlook" not in reply  # a server without their sign-in offers only iCal addresses


def test_today_posts_the_plan_in_the_dm_and_says_so(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz")
    command(web, fake, "today")
    (opened,) = fake.calls_to("conversations.open")
    assert opened.args["users"] == "U1" and opened.token == "xoxb-test-token"
    (posted,) = fake.calls_to("chat.postMessage")
    assert posted.args["channel"] == "DU1"
    assert "Bea Stone" in str(posted.args["blocks"]) and "Carl Diaz" in str(posted.args["blocks"])
    assert posted.args["text"] == "Your next best moves for Wed 25 Nov: 2 actions, ~20 min"
    assert replies(fake) == ["📬 Today's plan is in your DM with me: 2 actions, ~20 min."]


def test_today_after_a_mark_says_what_is_left_of_the_plan(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    """The size is what is left out of the whole (one definition: ``PlanView.size``): counting the
    done item too said "2 actions, ~20 min" of a plan with one action left. Asked again, the plan
    already in the DM is brought up to date and linked to, not posted twice."""
    add_leads(ann, "Bea Stone", "Carl Diaz")
    plan_of(ann)  # today's plan, the one whose numbers she types
    command(web, fake, "done 1")
    fake.calls.clear()
    command(web, fake, "today")
    (posted,) = fake.calls_to("chat.postMessage")
    assert posted.args["text"] == "Your next best moves for Wed 25 Nov: 1 of 2 actions left, ~10 min"
    assert "1 of 2 actions left, ~10 min" in str(posted.args["blocks"])
    assert replies(fake) == ["📬 Today's plan is in your DM with me: 1 of 2 actions left, ~10 min."]
    command(web, fake, "done 2")
    fake.calls.clear()
    command(web, fake, "today")
    assert fake.calls_to("chat.postMessage") == []
    (update,) = fake.calls_to("chat.update")
    assert (update.args["channel"], update.args["ts"]) == ("DU1", "1700000000.000001")
    assert update.args["text"] == "Your next best moves for Wed 25 Nov: all 2 actions acted on"
    assert replies(fake) == ["📬 Today's plan is in your DM with me, up to date: all 2 actions acted on. "
                             "<https://acme.slack.com/archives/DU1/p1700000000000001|Open it>"]


def test_today_typed_in_the_dm_itself_needs_no_pointer(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    command(web, fake, "today", channel="DU1")
    assert len(fake.calls_to("chat.postMessage")) == 1
    assert replies(fake) == []


def test_add_with_a_link_adds_the_lead_and_plans_its_outreach(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    command(web, fake, "add Dana Fox https://www.linkedin.com/in/dana-fox met at the meetup")
    (lead,) = _leads(ann)
    assert (lead.name, lead.notes) == ("Dana Fox", "met at the meetup")
    assert lead.url == "https://www.linkedin.com/in/dana-fox"
    assert replies(fake) == ["➕ Added <https://www.linkedin.com/in/dana-fox|Dana Fox>. "
                             "Reaching out to them is in today's plan."]
    assert [item.lead_name for item in plan_of(ann).items] == ["Dana Fox"]
    assert fake.calls_to("views.publish"), "App Home is redrawn after the change"


@pytest.mark.parametrize(("text", "expected"), [
    ("add Eve javascript:alert(1)", "Only https://, http:// and mailto: links are accepted"),
    ("add Eve Smith", "No link found (https://, http:// or mailto:)"),
    ("add https://example.com/eve", "Put the lead's name before the link"),
])
def test_add_with_bad_input_says_what_is_accepted_and_adds_nothing(
        web: FlaskClient, fake: FakeSlack, ann: User, text: str, expected: str) -> None:
    command(web, fake, text)
    (reply,) = replies(fake)
    assert expected in reply
    assert _leads(ann) == []


def test_add_twice_names_the_lead_already_there(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    command(web, fake, "add Dana Fox https://www.linkedin.com/in/dana-fox")
    command(web, fake, "add Dana F. https://www.linkedin.com/in/dana-fox/")
    assert "You already have Dana Fox" in replies(fake)[-1]
    assert len(_leads(ann)) == 1


def test_add_alone_opens_the_add_lead_modal(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    command(web, fake, "add")
    (opened,) = fake.calls_to("views.open")
    assert opened.args["trigger_id"] == "trigger-1"
    assert opened.args["view"]["callback_id"] == "nbm_add_lead"


def test_leads_lists_them_with_their_links(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz")
    command(web, fake, "leads")
    (reply,) = replies(fake)
    assert reply.splitlines() == ["*Your leads (2)*", "• <https://www.linkedin.com/in/bea-stone|Bea Stone>",
                                  "• <https://www.linkedin.com/in/carl-diaz|Carl Diaz>"]


def test_leads_says_when_a_snoozed_lead_comes_back_with_the_year_when_months_away(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    """Today is Wed 25 Nov 2026: next month needs no year; next October does, or its weekday reads wrong."""
    bea, carl = add_leads(ann, "Bea Stone", "Carl Diaz")
    for lead, until in ((bea, "2026-12-15"), (carl, "2027-10-01")):
        assert CliRunner().invoke(main, ["leads", "snooze", "--user", ann.email, str(lead.id),
                                         "--until", until]).exit_code == 0
    command(web, fake, "leads")
    (reply,) = replies(fake)
    assert reply.splitlines()[1:] == ["• <https://www.linkedin.com/in/bea-stone|Bea Stone>  💤 until Tue 15 Dec",
                                      "• <https://www.linkedin.com/in/carl-diaz|Carl Diaz>  💤 until Fri 1 Oct 2027"]


def test_done_by_number_marks_that_action_once(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz")
    second = plan_of(ann).items[1]
    command(web, fake, "done 2")
    command(web, fake, "done 2")
    assert state_of(ann, second.action_id) == ActionState.DONE
    assert [e.to_state for e in events_of(ann, second.action_id)] == [ActionState.NEW, ActionState.DONE]
    assert replies(fake) == [f"✅ Marked done: #2 of today's plan — {second.title}.",
                             f"Already done: #2 of today's plan — {second.title}."]


def test_sent_by_lead_name_plans_the_follow_up(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz")
    command(web, fake, "sent carl")
    (reply,) = replies(fake)
    assert reply.startswith("✅ Marked sent: Reach out to Carl Diaz.\nNext: Follow up with Carl Diaz, due ")
    carl = next(item for item in plan_of(ann).items if item.lead_name == "Carl Diaz")
    assert carl.state == ActionState.SENT


def test_replied_by_name_finds_the_action_waiting_for_a_reply(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone")
    command(web, fake, "sent Bea Stone")
    command(web, fake, "replied Bea Stone")
    assert replies(fake)[-1].startswith("✅ Marked replied: Reach out to Bea Stone.")


@pytest.mark.parametrize(("text", "expected"), [
    ("done 7", "Today's plan has 2 actions; use a number from 1 to 2, or a lead's name"),
    ("done", "Say which action"),
    ("done Zed", "No lead is called 'Zed'"),
    ("done a", "'a' matches Bea Stone, Carl Diaz; write more of the name"),
    ("snooze 1 yesterday", "'yesterday' is not a snooze date"),
    ("snooze 1 2026-11-20", "a snooze must end after today (Wed 25 Nov); Fri 20 Nov has passed, so pick a later day"),
])
def test_marks_with_bad_input_change_nothing(web: FlaskClient, fake: FakeSlack, ann: User, text: str,
                                             expected: str) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz")
    before = plan_of(ann)
    command(web, fake, text)
    (reply,) = replies(fake)
    assert expected.lower() in reply.lower()
    assert plan_of(ann) == before


def test_snooze_without_a_date_snoozes_until_tomorrow_and_says_how_to_pick(
        web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone")
    plan_of(ann)  # today's plan, the one whose numbers she types
    command(web, fake, "snooze 1")
    (reply,) = replies(fake)
    assert reply.startswith("💤 Snoozed until Thu 26 Nov: #1 of today's plan — Reach out to Bea Stone. "
                            "For another day, add it:")
    assert plan_of(ann).items[0].state == ActionState.SNOOZED


def test_a_sent_message_snoozed_then_answered_is_unsnoozed_by_hand_and_marked_replied(
        web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    """The lead answers a week into a two-week snooze: Replied is refused saying the action can be
    unsnoozed now, `/nbm unsnooze` (by name, as the refusal's action is no plan item to number)
    brings it back due today, and Replied then lands."""
    add_leads(ann, "Bea Stone")
    outreach = plan_of(ann).items[0].action_id
    command(web, fake, "sent Bea Stone")
    command(web, fake, "snooze Bea Stone 2026-12-09")
    command(web, fake, "replied Bea Stone")
    command(web, fake, "unsnooze bea")
    command(web, fake, "replied Bea Stone")
    assert replies(fake)[2:] == [
        "This action is snoozed, so you cannot mark it replied yet; it comes back in your plan on Wed 9 Dec, "
        "or unsnooze it now",
        "⏰ Unsnoozed, open again and due today: Reach out to Bea Stone.",
        "✅ Marked replied: Reach out to Bea Stone.\nNext: Reply to Bea Stone, due Wed 25 Nov."]
    assert state_of(ann, outreach) == ActionState.REPLIED


def test_a_mark_by_name_of_a_lead_snoozed_on_another_day_points_to_unsnooze(
        web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    """Snoozed yesterday, the action is in no plan of today's: Replied finds nothing due, and says
    the snoozed action is there to unsnooze rather than that the lead has nothing."""
    with time_machine.travel(NOW - timedelta(days=1), tick=False):
        add_leads(ann, "Bea Stone")
        command(web, fake, "snooze Bea Stone 2026-12-09")
    command(web, fake, "replied Bea Stone")
    assert replies(fake)[-1] == ("Bea Stone has no action due now: one is snoozed until Wed 9 Dec, which "
                                 "`/nbm unsnooze` with their name brings back today")


def test_unsnooze_by_number_answers_with_the_plan_number_and_a_repeat_changes_nothing(
        web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz")
    second = plan_of(ann).items[1]
    command(web, fake, "snooze 2 next monday")
    command(web, fake, "unsnooze 2")
    command(web, fake, "unsnooze 2")
    command(web, fake, "unsnooze Carl Diaz")
    assert replies(fake)[1:] == [f"⏰ Unsnoozed, open again and due today: #2 of today's plan — {second.title}.",
                                 f"Already open, not snoozed: #2 of today's plan — {second.title}.",
                                 "Carl Diaz has no snoozed action, so there is nothing to unsnooze"]
    assert [(e.from_state, e.to_state) for e in events_of(ann, second.action_id)][1:] == [
        (ActionState.NEW, ActionState.SNOOZED), (ActionState.SNOOZED, ActionState.NEW)]
    assert plan_of(ann).items[1].state == ActionState.NEW


def test_snooze_by_name_with_words_for_the_date(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone")
    command(web, fake, "snooze Bea Stone next monday")
    assert replies(fake) == ["💤 Snoozed until Mon 30 Nov: Reach out to Bea Stone."]


def test_a_snooze_months_away_names_its_year(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    """A snooze may last a year: "Fri 1 Oct" alone would read as this year's, a Thursday."""
    add_leads(ann, "Bea Stone")
    plan_of(ann)  # today's plan, the one whose numbers she types
    command(web, fake, "snooze 1 2027-10-01")
    assert replies(fake) == ["💤 Snoozed until Fri 1 Oct 2027: #1 of today's plan — Reach out to Bea Stone."]


def test_waiting_lists_sent_actions_with_a_replied_button(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone")
    plan_of(ann)  # today's plan, the one whose numbers she types
    command(web, fake, "sent 1")
    command(web, fake, "waiting")
    waiting = fake.calls_to("respond")[-1].args
    assert waiting["text"] == "1 action waiting for a reply"
    buttons = [b["accessory"] for b in waiting["blocks"] if "accessory" in b]
    assert [(b["text"]["text"], b["action_id"]) for b in buttons] == [("Replied", "nbm_replied")]


def test_waiting_with_nothing_sent(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    command(web, fake, "waiting")
    assert replies(fake) == ["Nothing is waiting for a reply. Actions you mark Sent show up here."]


def test_what_a_person_typed_is_escaped_in_the_answer(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    command(web, fake, "done <!channel>")
    assert replies(fake) == ["No lead is called '&lt;!channel&gt;'; use a lead's name or link "
                             "(`/nbm leads` lists yours), or a number from today's plan (`/nbm today`)"]


def test_focus_sets_this_weeks_focus_and_shows_it_in_the_plan(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    command(web, fake, "focus Close two pilots")
    assert replies(fake) == ["🎯 This week's focus: Close two pilots"]
    assert plan_of(ann).focus == "Close two pilots"


def test_capacity_says_the_size_in_force_and_why_the_plan_is_longer(web: FlaskClient, fake: FakeSlack,
                                                                     ann: User) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz", "Dana Fox", "Eli Gray")
    plan_of(ann)  # today's plan, the one whose numbers she types
    command(web, fake, "done 1")
    command(web, fake, "done 2")
    command(web, fake, "capacity micro")
    command(web, fake, "capacity default")
    assert replies(fake)[2:] == [
        "Today is now a *micro* day: up to 1 action; today's plan has 2 actions (2 already acted on, which stay).",
        "Today is back to its planned size, a *default* day: up to 5 actions; today's plan has 4 actions.",
    ]


def test_a_number_past_a_one_item_plan_names_the_one_number(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone")
    plan_of(ann)  # today's plan, the one whose numbers she types
    command(web, fake, "done 2")
    assert replies(fake) == ["Today's plan has 1 action; use 1, or a lead's name or link"]


def test_focus_without_text_is_refused(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    command(web, fake, "focus")
    assert "A focus needs some text" in replies(fake)[0]


def test_capacity_overrides_today_and_refreshes_the_plan(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone", "Carl Diaz", "Dana Fox", "Eli Gray")
    command(web, fake, "capacity micro")
    assert replies(fake) == ["Today is now a *micro* day: up to 1 action; today's plan has 1 action."]
    view = plan_of(ann)
    assert (view.capacity, len(view.items)) == (CapacityLevel.MICRO, 1)


def test_capacity_with_an_unknown_level_lists_the_levels(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    command(web, fake, "capacity huge")
    assert replies(fake) == ["'huge' is not a capacity level; use one of: micro, light, standard, heavy, default"]
    with unit_of_work(user_id=ann.id) as session:
        assert session.scalars(select(CapacityOverride)).all() == []


def test_call_logs_it_and_plans_prep_and_follow_up(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone")
    command(web, fake, "call Bea friday")
    assert replies(fake) == ["📞 Logged your call with Bea Stone on Fri 27 Nov. "
                             "Planned: prep on Thu 26 Nov and the follow-up on Mon 30 Nov."]
    with unit_of_work(user_id=ann.id) as session:
        assert session.scalars(select(LoggedCall.call_date)).all() == [date(2026, 11, 27)]


def test_a_call_with_a_snoozed_lead_brings_the_lead_back_so_its_prep_reaches_the_plan(
    web: FlaskClient, fake: FakeSlack, ann: User
) -> None:
    (bea,) = add_leads(ann, "Bea Stone")
    with unit_of_work(user_id=ann.id) as session:
        snooze_lead(session, user=session.get_one(User, ann.id), lead_id=bea.id, until=date(2026, 12, 15))
    command(web, fake, "call Bea tomorrow")
    assert replies(fake) == ["📞 Logged your call with Bea Stone on Thu 26 Nov. "
                             "Planned: prep on Wed 25 Nov and the follow-up on Fri 27 Nov. "
                             "Bea Stone was snoozed and is active again."]
    with unit_of_work(user_id=ann.id) as session:
        assert session.get_one(Lead, bea.id).status == LeadStatus.ACTIVE
    assert "Prepare for your call with Bea Stone on Thu 26 Nov" in [item.title for item in plan_of(ann).items]


@pytest.mark.parametrize(("text", "expected"), [
    ("call Zed tomorrow", "No lead is called 'Zed'"),
    ("call Bea", "Give the lead and the call's date"),
    ("call Bea someday", "'someday' is not a date"),
    ("call Bea 2026-02-30", "'2026-02-30' is not a real date"),
])
def test_call_with_bad_input_logs_nothing(web: FlaskClient, fake: FakeSlack, ann: User, text: str,
                                          expected: str) -> None:
    add_leads(ann, "Bea Stone")
    command(web, fake, text)
    assert expected in replies(fake)[0]
    with unit_of_work(user_id=ann.id) as session:
        assert session.scalars(select(LoggedCall)).all() == []


def test_call_alone_opens_the_log_call_modal_with_the_leads(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone")
    command(web, fake, "call")
    view = fake.calls_to("views.open")[0].args["view"]
    assert view["callback_id"] == "nbm_log_call"
    assert [o["text"]["text"] for o in view["blocks"][0]["element"]["options"]] == ["Bea Stone"]


def test_summary_shows_last_week_with_save_draft_buttons(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    joined(ann, JOINED)  # before last week: a summary covers only weeks its user lived (tests/slack/test_summary.py)
    command(web, fake, "summary")
    answer = fake.calls_to("respond")[0].args
    assert answer["response_type"] == "ephemeral"
    assert answer["blocks"][0]["text"]["text"] == "Your week of 16–22 Nov"
    saves = [b["accessory"]["text"]["text"] for b in answer["blocks"] if b.get("accessory")]
    assert saves == ["Save draft", "Save draft"]


def test_streak(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    command(web, fake, "streak")
    add_leads(ann, "Bea Stone")
    plan_of(ann)  # today's plan, the one whose numbers she types
    command(web, fake, "done 1")
    command(web, fake, "streak")
    assert replies(fake)[0] == "Finish one action today to start a streak."
    assert replies(fake)[2] == "🔥 You are on a 1-day streak, today included."  # not "keeps it going": it did


def test_settings_opens_the_settings_modal(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    command(web, fake, "settings")
    view = fake.calls_to("views.open")[0].args["view"]
    assert view["callback_id"] == "nbm_settings"
    assert [b["block_id"] for b in view["blocks"]] == ["delivery_time", "channels", "timezone", "work_days",
                                                       "hours_start", "hours_end", "call_detection"]


@pytest.mark.parametrize(("text", "expected"), [
    # Google and Outlook are not configured here: only an iCal address can be connected.
    ("connect google", "Connect a calendar with `/nbm connect ics <private iCal address>`."),
    ("connect myspace", "Connect a calendar with `/nbm connect ics <private iCal address>`."),
    ("billing", "Billing is not set up on this server: you have full service."),
])
def test_what_this_server_offers_for_calendars_and_billing(web: FlaskClient, fake: FakeSlack, ann: User, text: str,
                                                        expected: str) -> None:
    command(web, fake, text)
    assert replies(fake)[0].startswith(expected)


def test_a_subcommand_may_be_followed_by_a_new_line(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    command(web, fake, "add\nDana Fox https://www.linkedin.com/in/dana-fox")
    assert [lead.name for lead in _leads(ann)] == ["Dana Fox"]
