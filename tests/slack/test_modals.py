"""Modals: bad input is answered inside the modal on the field at fault, and nothing is saved."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.slack.blocks.home import NOT_PLANNED
from core.calendars.call_detection import FINDS
from core.db import unit_of_work
from core.models import ActionState, CalendarProvider, DailyPlan, Lead, LoggedCall, User, UserSettings
from core.streaks import refresh_streak
from tests.factories import make_action, make_calendar_connection, make_event
from tests.slack.conftest import add_leads, command, interact, plan_of, replies, view_submission
from tests.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.usefixtures("clock")


def _text(value: str | None) -> dict:
    return {"type": "plain_text_input", "value": value}


def _add_lead(name: str | None, url: str | None, notes: str | None = None) -> dict:
    return view_submission("nbm_add_lead", {"name": _text(name), "url": _text(url), "notes": _text(notes)})


def _leads(user: User) -> list[Lead]:
    with unit_of_work(user_id=user.id) as session:
        return list(session.scalars(select(Lead)))


def test_add_lead_saves_and_turns_into_a_confirmation(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    response = interact(web, _add_lead("Dana Fox", "mailto:dana@example.com", "Intro from Bea"))
    assert response.json["response_action"] == "update"
    assert response.json["view"]["blocks"][0]["text"]["text"] == (
        "➕ Added <mailto:dana@example.com|Dana Fox>. Reaching out to them is in today's plan.")
    (lead,) = _leads(ann)
    assert (lead.name, lead.url, lead.notes) == ("Dana Fox", "mailto:dana@example.com", "Intro from Bea")
    assert [item.lead_name for item in plan_of(ann).items] == ["Dana Fox"]
    assert fake.calls_to("views.publish")


@pytest.mark.parametrize(("name", "url", "notes", "field", "message"), [
    ("Dana", "javascript:alert(1)", None, "url", "Only https://, http:// and mailto: links are accepted"),
    ("Dana", "ftp://files.example.com", None, "url", "Only https://, http:// and mailto:"),
    ("   ", "https://example.com/dana", None, "name", "The name is blank"),
    ("Dana", "https://example.com/dana", "x" * 10_001, "notes", "The note is 10,001 characters long"),
])
def test_add_lead_errors_are_shown_on_the_field(web: FlaskClient, fake: FakeSlack, ann: User, name: str, url: str,
                                                notes: str | None, field: str, message: str) -> None:
    response = interact(web, _add_lead(name, url, notes))
    assert response.json["response_action"] == "errors"
    assert list(response.json["errors"]) == [field]
    assert response.json["errors"][field].startswith(message)
    assert _leads(ann) == []


def test_a_duplicate_link_is_shown_on_the_link_field(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    add_leads(ann, "Bea Stone")
    response = interact(web, _add_lead("Bea S.", "https://www.linkedin.com/in/bea-stone"))
    assert response.json == {"response_action": "errors", "errors": {
        "url": "You already have Bea Stone with the link https://www.linkedin.com/in/bea-stone"}}
    assert len(_leads(ann)) == 1


def _log_call(lead_id: str, day: str | None) -> dict:
    return view_submission("nbm_log_call", {
        "lead": {"type": "static_select", "selected_option": {"value": lead_id, "text": {"text": "x"}}},
        "date": {"type": "datepicker", "selected_date": day}})


def test_log_call_saves_and_confirms(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    (lead,) = add_leads(ann, "Bea Stone")
    response = interact(web, _log_call(str(lead.id), "2026-11-30"))
    assert response.json["response_action"] == "update"
    assert "Logged your call with Bea Stone on Mon 30 Nov" in str(response.json["view"]["blocks"])


def test_log_call_for_someone_elses_lead_is_refused_in_the_modal(web: FlaskClient, fake: FakeSlack, ann: User,
                                                                 service) -> None:
    from tests.factories import make_lead, make_user

    stranger = make_lead(service, make_user(service))
    response = interact(web, _log_call(str(stranger.id), "2026-11-30"))
    assert response.json["response_action"] == "errors"
    assert list(response.json["errors"]) == ["lead"]
    with unit_of_work(service=True) as session:
        assert session.scalars(select(LoggedCall)).all() == []


def test_log_call_without_a_date_is_refused_in_the_modal(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    (lead,) = add_leads(ann, "Bea Stone")
    response = interact(web, _log_call(str(lead.id), None))
    assert response.json == {"response_action": "errors", "errors": {"lead": "Choose a lead and a date."}}


def _settings(*, at: str = "08:15", channels: tuple[str, ...] = ("email",), tz: str = "Asia/Tokyo",
              days: tuple[str, ...] = ("1", "2", "3"), calls: tuple[str, ...] | None = None) -> dict:
    """The settings form; ``calls`` None is a form opened before it had the call detection box."""
    values = {
        "delivery_time": {"type": "timepicker", "selected_time": at},
        "channels": {"type": "checkboxes", "selected_options": [{"value": c} for c in channels]},
        "timezone": _text(tz),
        "work_days": {"type": "checkboxes", "selected_options": [{"value": d} for d in days]},
    }
    if calls is not None:
        values["call_detection"] = {"type": "checkboxes", "selected_options": [{"value": c} for c in calls]}
    return view_submission("nbm_settings", values)


def test_settings_are_saved_and_the_modal_closes(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    response = interact(web, _settings())
    assert response.status_code == 200 and response.data == b""
    with unit_of_work(user_id=ann.id) as session:
        settings = session.get_one(UserSettings, ann.id)
        assert (settings.delivery_time, settings.email_enabled, settings.slack_enabled, settings.work_days) == (
            time(8, 15), True, False, [1, 2, 3])
        assert session.get_one(User, ann.id).timezone == "Asia/Tokyo"
    assert fake.calls_to("views.publish")


def test_the_redraw_after_a_change_builds_no_plan(web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    """A redraw only reads: without a plan today App Home says so, and no plan is made."""
    add_leads(ann, "Bea Stone")
    interact(web, _settings())
    with unit_of_work(user_id=ann.id) as session:
        assert session.scalars(select(DailyPlan).where(DailyPlan.user_id == ann.id)).all() == []
    (home,) = fake.calls_to("views.publish")
    assert NOT_PLANNED in str(home.args["view"]["blocks"])


def test_turning_call_detection_on_says_which_calendar_to_connect_again(web: FlaskClient, fake: FakeSlack,
                                                                       ann: User, google_on: None) -> None:
    """Only Google sign-in is set up here: Slack sends Google Calendar to `/nbm connect google` and says
    Outlook's calls are not found, as the preferences page does (core.calendars.health.hiding_guests). It
    sent Outlook to `/nbm connect outlook` too, which answers that Outlook is not offered, and said a
    calendar "only sizes your plan", whatever capacity was set for a day."""
    with unit_of_work(service=True) as session:
        for kind in (CalendarProvider.GOOGLE, CalendarProvider.OUTLOOK):
            make_calendar_connection(session, session.get_one(User, ann.id), provider=kind)
    response = interact(web, _settings(calls=("on",)))
    assert response.json["response_action"] == "update"
    assert response.json["view"]["blocks"][0]["text"]["text"] == (
        "Saved. To find your calls, connect Google Calendar again (`/nbm connect google`) and allow it to see who "
        "attends your events; until then your calls with leads are not found in it. Outlook shows only when you "
        "are busy, not who attends your events, and this server is not set up to connect it again: your calls "
        "with leads are not found in it.")
    with unit_of_work(user_id=ann.id) as session:
        assert session.get_one(UserSettings, ann.id).call_detection
    assert interact(web, _settings()).data == b""  # a form from before the switch leaves it as it is
    assert interact(web, _settings(calls=())).data == b""
    with unit_of_work(user_id=ann.id) as session:
        assert not session.get_one(UserSettings, ann.id).call_detection


def test_turning_call_detection_on_without_a_calendar_says_none_is_connected(web: FlaskClient, fake: FakeSlack,
                                                                            ann: User) -> None:
    response = interact(web, _settings(calls=("on",)))
    assert response.json["response_action"] == "update"
    assert response.json["view"]["blocks"][0]["text"]["text"] == (
        f"Saved. Call detection is on, but no calendar is connected: once one is, {FINDS}. Connect one from App "
        "Home or with `/nbm connect`.")
    with unit_of_work(user_id=ann.id) as session:
        assert session.get_one(UserSettings, ann.id).call_detection


def _calls_hint(web: FlaskClient, fake: FakeSlack) -> str:
    """The hint beside the call-detection box of the settings form `/nbm settings` opens."""
    fake.calls.clear()
    command(web, fake, "settings")
    (opened,) = fake.calls_to("views.open")
    (box,) = [b for b in opened.args["view"]["blocks"] if b["block_id"] == "call_detection"]
    return str(box["hint"]["text"])


def test_the_settings_form_says_what_call_detection_does_now_without_a_calendar(web: FlaskClient, fake: FakeSlack,
                                                                               ann: User) -> None:
    """Said as App Home says it (core.calendars.call_detection.detection_said), not as a promise."""
    assert _calls_hint(web, fake) == (
        "Call detection is off. Turned on, it reads who attends the events of your connected calendars, not only "
        "when you are busy, to log your meetings with leads as calls.")
    interact(web, _settings(calls=("on",)))
    assert _calls_hint(web, fake) == (
        f"Call detection is on, but no calendar is connected: once one is, {FINDS}. It reads who attends your "
        "events, not only when you are busy.")


def test_bad_settings_are_answered_on_their_fields_and_nothing_is_saved(web: FlaskClient, fake: FakeSlack,
                                                                        ann: User) -> None:
    response = interact(web, _settings(tz="Mars/Base", days=()))
    assert response.json["response_action"] == "errors"
    assert set(response.json["errors"]) == {"timezone", "work_days"}
    assert "is not an IANA timezone" in response.json["errors"]["timezone"]
    with unit_of_work(user_id=ann.id) as session:
        assert session.get_one(User, ann.id).timezone == "Europe/London"
        assert session.get_one(UserSettings, ann.id).work_days == [1, 2, 3, 4, 5]


def test_add_lead_takes_an_optional_email_and_refuses_a_bad_or_taken_one_on_its_field(
        web: FlaskClient, fake: FakeSlack, ann: User) -> None:
    def submit(email: str | None) -> dict:
        return view_submission("nbm_add_lead", {"name": _text("Dana Fox"), "url": _text("https://dana.io"),
                                                "email": _text(email)})

    bad = interact(web, submit("dana at dana.io"))
    assert bad.json == {"response_action": "errors", "errors": {
        "email": "'dana at dana.io' is not an email address; one looks like ann@example.com"}}
    assert interact(web, submit("Dana@Dana.io")).json["response_action"] == "update"
    assert [(lead.name, lead.email) for lead in _leads(ann)] == [("Dana Fox", "dana@dana.io")]
    taken = interact(web, view_submission("nbm_add_lead", {"name": _text("Dee"), "url": _text("https://dee.io"),
                                                           "email": _text("dana@dana.io")}))
    assert taken.json["errors"] == {"email": "You already have Dana Fox with the email dana@dana.io"}


LONDON = ZoneInfo("Europe/London")


def _done_at(service: Session, user: User, *instants: datetime) -> None:
    """Completions of ``user`` at those instants, and the streak stored as a completion leaves it."""
    for at in instants:
        action = make_action(service, user, due_date=at.date(), created_at=at)
        make_event(service, action, from_state=ActionState.NEW, to_state=ActionState.DONE, at=at)
    refresh_streak(service, user=user)


def test_saving_other_work_days_shows_the_streak_they_make_at_once(web: FlaskClient, fake: FakeSlack, ann: User,
                                                                   service: Session) -> None:
    """Done on Monday and today (Wednesday), nothing on Tuesday: 1 day while Tuesday is a work day,
    2 as soon as it is not, without waiting for the next completion or the night's housekeeping."""
    _done_at(service, ann, datetime(2026, 11, 23, 10, tzinfo=LONDON), datetime(2026, 11, 25, 10, tzinfo=LONDON))
    command(web, fake, "streak")
    interact(web, _settings(tz="Europe/London", days=("1", "3", "4", "5")))
    command(web, fake, "streak")
    assert replies(fake) == ["🔥 You are on a 1-day streak, today included.",
                             "🔥 You are on a 2-day streak, today included."]


def test_moving_to_another_timezone_redates_the_days_of_the_streak(web: FlaskClient, fake: FakeSlack, ann: User,
                                                                   service: Session) -> None:
    """Tuesday 23:30 and Wednesday 11:00 in London are two days; in Tokyo (9 hours ahead of London)
    both are Wednesday: one day."""
    _done_at(service, ann, datetime(2026, 11, 24, 23, 30, tzinfo=LONDON), datetime(2026, 11, 25, 11, tzinfo=LONDON))
    command(web, fake, "streak")
    interact(web, _settings(tz="Asia/Tokyo", days=("1", "2", "3", "4", "5")))
    command(web, fake, "streak")
    assert replies(fake) == ["🔥 You are on a 2-day streak, today included.",
                             "🔥 You are on a 1-day streak, today included."]
