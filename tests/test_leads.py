"""Leads: links that can be opened safely, one lead per link, status changes in the user's own calendar."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import db
from core.errors import InvalidTransition, NotFound, ValidationError
from core.lead_lookup import find_leads_by_name
from core.leads import add_lead, archive_lead, edit_lead, get_lead, list_leads, snooze_lead, unsnooze_lead, validate_url
from core.models import Action, ActionEvent, ActionOrigin, ActionState, ActionType, Channel, Lead, LeadStatus
from tests.factories import make_action, make_lead, make_user

#: 11:30 UTC on Wed 25 Nov 2026: still the 25th in Los Angeles, already the 26th in Auckland.
MORNING = datetime(2026, 11, 25, 11, 30, tzinfo=UTC)


@pytest.fixture()
def clock():
    with time_machine.travel(MORNING, tick=False):
        yield


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))


# --- validate_url -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("https://www.linkedin.com/in/ann-lee", "https://www.linkedin.com/in/ann-lee"),
        ("  HTTPS://WWW.LinkedIn.com/in/Ann-Lee/  ", "https://www.linkedin.com/in/Ann-Lee"),
        ("http://Example.com/", "http://example.com"),
        ("https://example.com:8443/a/?q=Ab#Top", "https://example.com:8443/a?q=Ab#Top"),
        ("MAILTO:Ann.Lee@Example.COM", "mailto:Ann.Lee@example.com"),
        ("mailto:ann@example.com?subject=Hello", "mailto:ann@example.com?subject=Hello"),
    ],
)
def test_accepted_links_are_normalised_lightly(given: str, stored: str) -> None:
    assert validate_url(given) == stored


@pytest.mark.parametrize(
    "refused",
    [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        "ftp://files.example.com/a",
        "data:text/html,<script>alert(1)</script>",
        "www.linkedin.com/in/ann",
    ],
)
def test_other_schemes_are_refused_saying_what_is_accepted(refused: str) -> None:
    with pytest.raises(ValidationError, match=r"only https://, http:// and mailto: links are accepted"):
        validate_url(refused)


@pytest.mark.parametrize(
    ("refused", "reason"),
    [
        ("https://", "no valid host"),
        ("https:example.com", "no valid host"),
        ("http://example.com:99999/", "no valid host"),
        ("mailto:", "no valid email address after mailto:"),
        ("   ", "needs a link"),
        ("https://example.com/ann lee", "spaces or invisible characters"),
        ("https://example.com/\u200bann", "spaces or invisible characters"),
        ("https://example.com/" + "a" * 1990, "the limit is 2,000"),
    ],
)
def test_malformed_links_are_refused_with_the_reason(refused: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        validate_url(refused)


def test_a_link_of_exactly_two_thousand_characters_is_accepted() -> None:
    url = "https://example.com/" + "a" * 1980
    assert validate_url(url) == url


# --- add_lead -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("timezone", "local_date"), [
    ("America/Los_Angeles", date(2026, 11, 25)),
    ("Pacific/Auckland", date(2026, 11, 26)),
])
def test_adding_a_lead_creates_an_outreach_due_the_users_own_today(
    service: Session, clock: None, timezone: str, local_date: date
) -> None:
    user = make_user(service, timezone=timezone)

    lead = add_lead(service, user=user, name="  Ann Lee ", url="https://LinkedIn.com/in/ann/",
                    notes=" Met at a conference ", channel=Channel.SLACK)

    assert (lead.name, lead.url, lead.notes, lead.status) == (
        "Ann Lee", "https://linkedin.com/in/ann", "Met at a conference", LeadStatus.ACTIVE)
    action = service.scalars(select(Action).where(Action.person_id == lead.id)).one()
    assert (action.action_type, action.state, action.due_date, action.origin, action.auto_created) == (
        ActionType.OUTREACH, ActionState.NEW, local_date, ActionOrigin.LEAD_ADDED, True)
    event = service.scalars(select(ActionEvent).where(ActionEvent.action_id == action.id)).one()
    assert (event.from_state, event.to_state, event.channel) == (None, ActionState.NEW, Channel.SLACK)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"url": "javascript:alert(1)"}, "only https://, http:// and mailto: links are accepted"),
        ({"notes": "x" * 10_000_000}, r"the note is 10,000,000 characters long; the limit is 10,000"),
        ({"name": "   "}, "the name is blank"),
        ({"name": "A" * 201}, "between 1 and 200 characters; this one has 201"),
    ],
    ids=["javascript-url", "10mb-notes", "empty-name", "long-name"],
)
def test_a_refused_lead_leaves_nothing_behind(service: Session, clock: None, fields: dict, message: str) -> None:
    user = make_user(service)
    given = {"name": "Ann Lee", "url": "https://example.com/ann", "notes": None} | fields

    with pytest.raises(ValidationError, match=message):
        add_lead(service, user=user, channel=Channel.CLI, **given)

    assert (_count(service, Lead), _count(service, Action)) == (0, 0)


def test_a_name_of_two_hundred_characters_is_accepted(service: Session, clock: None) -> None:
    user = make_user(service)
    assert add_lead(service, user=user, name="A" * 200, url="https://a.io", channel=Channel.CLI).name == "A" * 200


def test_the_same_link_twice_names_the_lead_that_has_it(service: Session, clock: None) -> None:
    user = make_user(service)
    add_lead(service, user=user, name="Ann Lee", url="https://linkedin.com/in/ann", channel=Channel.CLI)

    with pytest.raises(ValidationError, match=re.escape("you already have Ann Lee with the link https://linkedin.com/in/ann")):
        add_lead(service, user=user, name="Ann L.", url="HTTPS://LINKEDIN.COM/in/ann/", channel=Channel.CLI)

    assert (_count(service, Lead), _count(service, Action)) == (1, 1)
    # The transaction is still usable after the refusal.
    assert add_lead(service, user=user, name="Bob", url="https://b.io", channel=Channel.CLI).name == "Bob"


def test_two_users_may_each_have_a_lead_with_the_same_link(service: Session, clock: None) -> None:
    alice, bob = make_user(service), make_user(service)
    add_lead(service, user=alice, name="Ann", url="https://a.io/ann", channel=Channel.CLI)
    add_lead(service, user=bob, name="Ann", url="https://a.io/ann", channel=Channel.CLI)
    assert _count(service, Lead) == 2


def test_a_user_adds_a_lead_under_row_level_security(service: Session, clock: None) -> None:
    user = make_user(service)
    with db.unit_of_work(user_id=user.id) as session:
        lead = add_lead(session, user=user, name="Ann", url="https://a.io/ann", channel=Channel.EMAIL)
        assert [found.id for found in list_leads(session, user=user)] == [lead.id]


# --- get / list / find --------------------------------------------------------------------------

def test_someone_elses_lead_is_not_found_just_like_an_unknown_one(service: Session) -> None:
    alice, bob = make_user(service), make_user(service)
    bobs = make_lead(service, bob)

    with pytest.raises(NotFound) as theirs:
        get_lead(service, user=alice, lead_id=bobs.id)
    with pytest.raises(NotFound) as unknown:
        get_lead(service, user=alice, lead_id=uuid.uuid4())

    assert str(theirs.value) == str(unknown.value)
    with db.unit_of_work(user_id=alice.id) as session, pytest.raises(NotFound):
        get_lead(session, user=alice, lead_id=bobs.id)


def test_leads_are_listed_by_name_ignoring_case_and_filtered_by_status(service: Session) -> None:
    user, other = make_user(service), make_user(service)
    carol = make_lead(service, user, name="carol")
    bob = make_lead(service, user, name="Bob", status=LeadStatus.ARCHIVED)
    ann = make_lead(service, user, name="Ann")
    make_lead(service, other, name="Aaron")

    assert list_leads(service, user=user) == [ann, bob, carol]
    assert list_leads(service, user=user, status=LeadStatus.ACTIVE) == [ann, carol]
    assert list_leads(service, user=user, status=LeadStatus.ARCHIVED) == [bob]


def test_find_by_name_prefers_the_exact_name_over_partial_matches(service: Session) -> None:
    user, other = make_user(service), make_user(service)
    ann = make_lead(service, user, name="Ann Lee")
    annabel = make_lead(service, user, name="Annabel Smith")
    joanne = make_lead(service, user, name="Joanne Annis")
    make_lead(service, user, name="Ann Old", status=LeadStatus.ARCHIVED)
    make_lead(service, other, name="Ann Lee")

    assert find_leads_by_name(service, user=user, name="  ann lee ") == [ann]
    assert find_leads_by_name(service, user=user, name="ANN") == [ann, annabel, joanne]
    assert find_leads_by_name(service, user=user, name="Ann Old") == []
    assert find_leads_by_name(service, user=user, name="zed") == []


def test_find_by_name_treats_wildcards_as_plain_characters(service: Session) -> None:
    user = make_user(service)
    make_lead(service, user, name="Ann Lee")
    percent = make_lead(service, user, name="100% Growth Ltd")

    assert find_leads_by_name(service, user=user, name="%") == [percent]
    assert find_leads_by_name(service, user=user, name="_") == []
    with pytest.raises(ValidationError, match="give a lead's name"):
        find_leads_by_name(service, user=user, name="  ")


# --- edit ---------------------------------------------------------------------------------------

def test_editing_changes_only_the_given_fields_and_empty_notes_clear_them(service: Session) -> None:
    user = make_user(service)
    lead = make_lead(service, user, name="Ann", url="https://a.io/ann", notes="old")

    edit_lead(service, user=user, lead_id=lead.id, name="Ann Lee")
    assert (lead.name, lead.url, lead.notes) == ("Ann Lee", "https://a.io/ann", "old")
    edit_lead(service, user=user, lead_id=lead.id, url="HTTPS://A.IO/ann-lee/", notes="")
    service.expire_all()
    assert (lead.name, lead.url, lead.notes) == ("Ann Lee", "https://a.io/ann-lee", None)


def test_an_edit_to_another_leads_link_is_refused_and_changes_nothing(service: Session) -> None:
    user = make_user(service)
    make_lead(service, user, name="Bob", url="https://b.io/bob")
    ann = make_lead(service, user, name="Ann", url="https://a.io/ann")

    with pytest.raises(ValidationError, match=re.escape("you already have Bob with the link https://b.io/bob")):
        edit_lead(service, user=user, lead_id=ann.id, name="Ann Lee", url="https://b.io/bob/")

    service.expire_all()
    assert (ann.name, ann.url) == ("Ann", "https://a.io/ann")


@pytest.mark.parametrize(
    "fields", [{"url": "javascript:alert(1)"}, {"name": ""}, {"notes": "x" * 10_001}],
    ids=["javascript-url", "empty-name", "long-notes"],
)
def test_a_bad_edit_changes_nothing(service: Session, fields: dict) -> None:
    user = make_user(service)
    lead = make_lead(service, user, name="Ann", url="https://a.io/ann", notes="n")

    with pytest.raises(ValidationError):
        edit_lead(service, user=user, lead_id=lead.id, **({"name": "Ann Lee"} | fields))

    service.expire_all()
    assert (lead.name, lead.url, lead.notes) == ("Ann", "https://a.io/ann", "n")


def test_someone_elses_lead_cannot_be_edited(service: Session) -> None:
    alice, bob = make_user(service), make_user(service)
    bobs = make_lead(service, bob, name="Bob's lead")
    with pytest.raises(NotFound):
        edit_lead(service, user=alice, lead_id=bobs.id, name="Mine now")
    assert bobs.name == "Bob's lead"


# --- snooze / unsnooze / archive ------------------------------------------------------------------

def test_snoozing_until_tomorrow_in_the_users_own_calendar(service: Session, clock: None) -> None:
    los_angeles = make_user(service, timezone="America/Los_Angeles")  # on Wed 25 Nov
    auckland = make_user(service, timezone="Pacific/Auckland")  # already on Thu 26 Nov
    la_lead, nz_lead = make_lead(service, los_angeles), make_lead(service, auckland)

    snoozed = snooze_lead(service, user=los_angeles, lead_id=la_lead.id, until=date(2026, 11, 26)).lead

    assert (snoozed.status, snoozed.snooze_until) == (LeadStatus.SNOOZED, date(2026, 11, 26))
    with pytest.raises(ValidationError, match=r"a snooze must end after today \(Thu 26 Nov\)"):
        snooze_lead(service, user=auckland, lead_id=nz_lead.id, until=date(2026, 11, 26))
    assert (nz_lead.status, nz_lead.snooze_until) == (LeadStatus.ACTIVE, None)


def test_snoozing_into_the_past_or_more_than_a_year_ahead_is_refused(service: Session, clock: None) -> None:
    user = make_user(service, timezone="Europe/London")
    lead = make_lead(service, user)
    with pytest.raises(ValidationError, match="Mon 2 Nov has passed"):
        snooze_lead(service, user=user, lead_id=lead.id, until=date(2026, 11, 2))
    with pytest.raises(ValidationError, match="at most 365 days"):
        snooze_lead(service, user=user, lead_id=lead.id, until=date(2027, 11, 26))
    assert snooze_lead(service, user=user, lead_id=lead.id, until=date(2027, 11, 25)).changed


def test_snoozing_again_moves_the_date_and_the_same_date_is_a_no_op(service: Session, clock: None) -> None:
    user = make_user(service)
    lead = make_lead(service, user)
    assert snooze_lead(service, user=user, lead_id=lead.id, until=date(2026, 12, 1)).changed

    again = snooze_lead(service, user=user, lead_id=lead.id, until=date(2026, 12, 1))
    assert (again.lead.status, again.lead.snooze_until, again.changed) == (LeadStatus.SNOOZED, date(2026, 12, 1), False)
    moved = snooze_lead(service, user=user, lead_id=lead.id, until=date(2026, 12, 7))
    assert (moved.lead.snooze_until, moved.changed) == (date(2026, 12, 7), True)


def test_unsnoozing_makes_the_lead_active_and_repeating_it_is_harmless(service: Session, clock: None) -> None:
    user = make_user(service)
    lead = make_lead(service, user)
    snooze_lead(service, user=user, lead_id=lead.id, until=date(2026, 12, 1))

    assert unsnooze_lead(service, user=user, lead_id=lead.id).changed
    again = unsnooze_lead(service, user=user, lead_id=lead.id)

    assert (again.lead.status, again.lead.snooze_until, again.changed) == (LeadStatus.ACTIVE, None, False)


def test_archiving_a_snoozed_lead_clears_its_date_and_leaves_its_actions(service: Session, clock: None) -> None:
    user = make_user(service)
    lead = make_lead(service, user)
    action = make_action(service, user, lead, due_date=date(2026, 11, 25))
    snooze_lead(service, user=user, lead_id=lead.id, until=date(2026, 12, 1))

    assert archive_lead(service, user=user, lead_id=lead.id).changed
    again = archive_lead(service, user=user, lead_id=lead.id)

    assert (again.lead.status, again.lead.snooze_until, again.changed) == (LeadStatus.ARCHIVED, None, False)
    service.refresh(action)
    assert action.state == ActionState.NEW


def test_an_archived_lead_cannot_be_snoozed_or_unsnoozed(service: Session, clock: None) -> None:
    user = make_user(service)
    lead = make_lead(service, user, name="Ann", status=LeadStatus.ARCHIVED)

    with pytest.raises(InvalidTransition, match="Ann is archived, so it cannot be snoozed"):
        snooze_lead(service, user=user, lead_id=lead.id, until=date(2026, 12, 1))
    with pytest.raises(InvalidTransition, match="Ann is archived, not snoozed"):
        unsnooze_lead(service, user=user, lead_id=lead.id)
    assert (lead.status, lead.snooze_until) == (LeadStatus.ARCHIVED, None)


def test_someone_elses_lead_cannot_be_snoozed_or_archived(service: Session, clock: None) -> None:
    alice, bob = make_user(service), make_user(service)
    bobs = make_lead(service, bob)
    with pytest.raises(NotFound):
        snooze_lead(service, user=alice, lead_id=bobs.id, until=date(2026, 12, 1))
    with pytest.raises(NotFound):
        archive_lead(service, user=alice, lead_id=bobs.id)
    assert bobs.status == LeadStatus.ACTIVE
