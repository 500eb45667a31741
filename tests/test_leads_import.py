"""CSV import: LinkedIn exports and plain files; bad rows reported by line, good rows land, no duplicates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import db, leads_import
from core.errors import ValidationError
from core.leads_import import ImportReport, RowNote, import_leads_csv
from core.models import Action, ActionEvent, ActionOrigin, ActionState, ActionType, Channel, Lead, LeadStatus, User
from tests.factories import make_lead, make_user

#: 11:30 UTC on Wed 25 Nov 2026: already Thu 26 Nov in Auckland.
MORNING = datetime(2026, 11, 25, 11, 30, tzinfo=UTC)

LINKEDIN_EXPORT = (
    "\ufeffNotes:\r\n"
    '"When exporting your connection data, you may notice that some of the email addresses are missing. '
    'You will only see email addresses for connections who have allowed it, see '
    'https://www.linkedin.com/psettings/privacy/email."\r\n'
    "\r\n"
    "First Name,Last Name,URL,Email Address,Company,Position,Connected On\r\n"  # line 4
    'Ann,Lee,https://www.linkedin.com/in/ann-lee,,"Acme, Inc.",CTO,12 Nov 2026\r\n'  # line 5
    "Bob,Stone,,bob@example.com,Globex,,03 Oct 2025\r\n"  # line 6
    "Cara,,,,,,01 Jan 2024\r\n"  # line 7: neither a URL nor an email address
    "Dan,Wu,https://www.linkedin.com/in/dan-wu,,,Founder,05 May 2025\r\n"  # line 8
).encode()


@pytest.fixture()
def clock():
    with time_machine.travel(MORNING, tick=False):
        yield


@pytest.fixture()
def user(service: Session) -> User:
    return make_user(service, timezone="Pacific/Auckland")


def _import(service: Session, user: User, text: str | bytes) -> ImportReport:
    data = text.encode() if isinstance(text, str) else text
    return import_leads_csv(service, user=user, data=data, channel=Channel.CLI)


def _names(service: Session, user: User) -> list[str]:
    return [lead.name for lead in service.scalars(select(Lead).where(Lead.user_id == user.id).order_by(Lead.name))]


def _leads(service: Session, user: User) -> list[tuple[str, str, str | None]]:
    rows = service.scalars(select(Lead).where(Lead.user_id == user.id).order_by(Lead.name))
    return [(lead.name, lead.url, lead.notes) for lead in rows]


def _count(service: Session, model: type) -> int:
    return service.scalar(select(func.count()).select_from(model))


def test_a_plain_file_adds_each_lead_with_its_outreach_due_the_users_today(
    service: Session, clock: None, user: User
) -> None:
    text = "name,url,notes\nAnn Lee,https://a.io/ann,Met at a meetup\nBob,https://b.io/bob,\n"
    report = _import(service, user, text)

    assert report == ImportReport(added=2, duplicates=0, refused=0, first_duplicates=(), first_refused=())
    assert _leads(service, user) == [
        ("Ann Lee", "https://a.io/ann", "Met at a meetup"), ("Bob", "https://b.io/bob", None)]
    leads = service.scalars(select(Lead).where(Lead.user_id == user.id)).all()
    actions = service.scalars(select(Action).where(Action.user_id == user.id)).all()
    assert {(a.person_id, a.action_type, a.state, a.due_date, a.origin, a.auto_created, a.created_at)
            for a in actions} == {
        (lead.id, ActionType.OUTREACH, ActionState.NEW, date(2026, 11, 26), ActionOrigin.LEAD_ADDED, True, MORNING)
        for lead in leads
    }
    events = service.scalars(select(ActionEvent)).all()
    assert {(e.action_id, e.from_state, e.to_state, e.channel, e.created_at) for e in events} == {
        (a.id, None, ActionState.NEW, Channel.CLI, MORNING) for a in actions}
    assert all((lead.status, lead.email, lead.created_at) == (LeadStatus.ACTIVE, None, MORNING) for lead in leads)


def test_the_header_matches_without_regard_to_case_spaces_or_order_and_notes_are_optional(
    service: Session, clock: None, user: User
) -> None:
    _import(service, user, " URL , Name \nhttps://a.io/ann,Ann\n")
    _import(service, user, "NAME,Url,NOTES\nBob,https://b.io/bob,Met once\n")
    assert _leads(service, user) == [("Ann", "https://a.io/ann", None), ("Bob", "https://b.io/bob", "Met once")]


def test_a_linkedin_export_with_its_preamble_bom_and_windows_line_endings(
    service: Session, clock: None, user: User
) -> None:
    report = _import(service, user, LINKEDIN_EXPORT)

    assert _leads(service, user) == [
        ("Ann Lee", "https://www.linkedin.com/in/ann-lee", "CTO at Acme, Inc."),
        ("Bob Stone", "mailto:bob@example.com", "Globex"),
        ("Dan Wu", "https://www.linkedin.com/in/dan-wu", "Founder"),
    ]
    assert [note.line for note in report.first_refused] == [7]
    assert "a lead needs a link" in report.first_refused[0].message
    assert (report.added, report.duplicates, report.refused) == (3, 0, 1)


@pytest.mark.parametrize(
    "text",
    [
        "Name,Link\nAnn,https://a.io\n",
        "Ann,https://a.io/ann\nBob,https://b.io/bob\n",
        "Notes:\nsome preamble\n\nname,url\nAnn,https://a.io\n",
        "",
        "\ufeff\r\n\r\n",
    ],
    ids=["unknown-columns", "no-header", "preamble-without-linkedin-header", "empty", "bom-and-blank-lines"],
)
def test_a_file_without_a_known_header_imports_nothing_and_names_both_headers(
    service: Session, clock: None, user: User, text: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        _import(service, user, text)

    message = str(refused.value)
    assert "First Name,Last Name,URL,Email Address,Company,Position,Connected On" in message
    assert "name,url,notes" in message
    assert _count(service, Lead) == 0


def test_empty_rows_are_skipped_silently_and_lines_are_counted_as_in_the_file(
    service: Session, clock: None, user: User
) -> None:
    text = "\n\nname,url\r\n\r\nAnn,https://a.io/ann\r\n ,  \r\n\r\nBad,javascript:alert(1)\r\n\n"
    report = _import(service, user, text)

    assert _names(service, user) == ["Ann"]
    assert report.first_refused == (
        RowNote(8, "only https://, http:// and mailto: links are accepted; 'javascript:alert(1)' is not one"),
    )
    assert (report.added, report.duplicates, report.refused) == (1, 0, 1)


def test_quoted_values_may_hold_commas_and_line_breaks(service: Session, clock: None, user: User) -> None:
    report = _import(
        service, user,
        'name,url,notes\n"Lee, Ann",https://a.io/ann,"Met in Lisbon,\nthen again in Porto"\n,https://b.io/nameless,\n',
    )

    assert _leads(service, user) == [("Lee, Ann", "https://a.io/ann", "Met in Lisbon,\nthen again in Porto")]
    assert [note.line for note in report.first_refused] == [4]
    assert report.first_refused[0].message.startswith("the name is blank")


def test_bad_rows_are_reported_by_line_and_the_good_rows_still_land(service: Session, clock: None, user: User) -> None:
    huge = "x" * 200_000  # more than csv reads in one field
    report = _import(service, user, "\n".join([
        "name,url,notes",
        "Ann,https://a.io/ann,",  # 2
        "Spy,javascript:alert(document.cookie),",  # 3
        f"Wordy,https://w.io/wordy,{'n' * 10_001}",  # 4
        "Ann Lee,https://a.io/ann-lee,Met at a conference, Lisbon",  # 5: unquoted comma
        f"Huge,https://h.io/huge,{huge}",  # 6
        "Bob,ftp://b.io/bob,",  # 7
        "Cara,https://c.io/cara,",  # 8
    ]))

    assert _names(service, user) == ["Ann", "Cara"]
    assert [note.line for note in report.first_refused] == [3, 4, 5, 6, 7]
    messages = [note.message for note in report.first_refused]
    assert "only https://, http:// and mailto: links are accepted" in messages[0]
    assert "the note is 10,001 characters long; the limit is 10,000" in messages[1]
    assert "put quotes around a value that contains a comma" in messages[2]
    assert "cannot be read" in messages[3]
    assert "only https://, http:// and mailto: links are accepted" in messages[4]
    assert _count(service, Lead) == 2
    assert _count(service, Action) == 2


def test_links_already_known_or_repeated_in_the_file_are_duplicates_not_errors(
    service: Session, clock: None, user: User
) -> None:
    make_lead(service, user, name="Ann Lee", url="https://a.io/ann")

    text = "name,url\nAnnie,HTTPS://A.IO/ann/\nBob,https://b.io/bob\nBobby,https://b.io/bob/\n"
    report = _import(service, user, text)

    assert _names(service, user) == ["Ann Lee", "Bob"]
    assert report.first_duplicates == (
        RowNote(2, "Annie: you already have Ann Lee with this link"),
        RowNote(4, "Bobby: line 3 of this file has the same link"),
    )
    assert (report.added, report.duplicates, report.refused) == (1, 2, 0)


def test_importing_the_same_file_again_adds_nobody(service: Session, clock: None, user: User) -> None:
    first = _import(service, user, LINKEDIN_EXPORT)
    second = _import(service, user, LINKEDIN_EXPORT)

    assert first.added == 3
    assert second.added == 0
    assert [note.line for note in second.first_duplicates] == [5, 6, 8]
    assert [note.line for note in second.first_refused] == [7]
    assert (_count(service, Lead), _count(service, Action)) == (3, 3)


def test_another_users_leads_do_not_count_as_duplicates(service: Session, clock: None, user: User) -> None:
    other = make_user(service)
    make_lead(service, other, name="Ann", url="https://a.io/ann")

    report = _import(service, user, "name,url\nAnn,https://a.io/ann\n")

    assert report.added == 1
    assert _names(service, user) == ["Ann"]


def test_a_user_imports_under_row_level_security(service: Session, clock: None, user: User) -> None:
    with db.unit_of_work(user_id=user.id) as session:
        data = b"name,url\nAnn,https://a.io/ann\n"
        report = import_leads_csv(session, user=user, data=data, channel=Channel.SLACK)
        assert report.added == 1
        assert session.scalars(select(Lead.name)).all() == ["Ann"]  # RLS: only this user's leads are seen


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"name,url\n" + b"x" * (32 * 1024 * 1024), r"the file is 32.0 MB; the limit is 32 MB"),
        ("name,url\nJosé,https://j.io\n".encode("latin-1"), "not UTF-8 text"),
        ("name,url\nAnn,https://a.io\n".encode("utf-16"), "not UTF-8 text"),
        ("name,url\nAnn,https://a.io\n".encode("utf-16-le"), "not UTF-8 text"),
    ],
    ids=["over-32mb", "latin-1", "utf-16", "utf-16-without-bom"],
)
def test_files_too_large_or_not_utf8_are_refused_whole(
    service: Session, clock: None, user: User, data: bytes, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        import_leads_csv(service, user=user, data=data, channel=Channel.CLI)
    assert _count(service, Lead) == 0


def test_a_file_of_exactly_the_limit_is_read(
    service: Session, clock: None, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(leads_import, "MAX_BYTES", 1024 * 1024)  # the rule, without streaming 32 MB of newlines
    head = b"name,url\nAnn,https://a.io/ann\n"
    data = head + b"\n" * (1024 * 1024 - len(head))
    assert _import(service, user, data).added == 1
    with pytest.raises(ValidationError, match=r"the file is 1\.0 MB; the limit is 1 MB"):
        _import(service, user, data + b"\n")


def test_a_row_with_a_known_link_is_a_duplicate_even_with_a_bad_name_as_it_always_was(
    service: Session, clock: None, user: User
) -> None:
    make_lead(service, user, name="Ann Lee", url="https://a.io/ann")
    report = _import(service, user, "\n".join([
        "name,url",
        ",https://a.io/ann",  # 2: no name, but a link the user has: a duplicate
        ",https://b.io/bob",  # 3: no name, and the first row with this link: refused
        "Bob,https://b.io/bob",  # 4: the first good row with this link: added
        ",https://b.io/bob",  # 5: no name, after the row that added the link: a duplicate
    ]))

    assert _names(service, user) == ["Ann Lee", "Bob"]
    assert report.first_duplicates == (
        RowNote(2, "https://a.io/ann: you already have Ann Lee with this link"),
        RowNote(5, "https://b.io/bob: line 4 of this file has the same link"),
    )
    assert [note.line for note in report.first_refused] == [3]
    assert report.first_refused[0].message.startswith("the name is blank")


def test_a_file_found_not_utf8_far_down_is_refused_whole_and_the_transaction_goes_on(
    service: Session, clock: None, user: User
) -> None:
    good = "".join(f"Lead {n},https://x.io/{n}\n" for n in range(4_000))  # 100 KB: staged before the bad byte
    data = ("name,url\n" + good).encode() + "José,https://j.io\n".encode("latin-1")

    with pytest.raises(ValidationError, match="not UTF-8 text"):
        _import(service, user, data)
    assert _count(service, Lead) == 0
    assert _import(service, user, "name,url\n" + good).added == 4_000  # the same transaction, usable as before


def test_the_report_keeps_the_first_notes_of_each_kind_counts_all_and_streams_every_one(
    service: Session, clock: None, user: User
) -> None:
    rows = ["name,url"]
    for n in range(30):
        rows += [f"Lead {n},https://x.io/{n}", f"Again {n},https://x.io/{n}", f"Bad {n},ftp://x.io/{n}"]
    seen: list[tuple[str, RowNote]] = []

    report = import_leads_csv(service, user=user, data="\n".join(rows).encode(), channel=Channel.CLI,
                              every_note=lambda kind, note: seen.append((kind, note)))

    assert (report.added, report.duplicates, report.refused) == (30, 30, 30)
    assert [note.line for note in report.first_duplicates] == [3 + 3 * n for n in range(leads_import.FIRST_NOTES)]
    assert [note.line for note in report.first_refused] == [4 + 3 * n for n in range(leads_import.FIRST_NOTES)]
    assert [(kind, note.line) for kind, note in seen] == [
        (kind, line) for n in range(30) for kind, line in (("duplicate", 3 + 3 * n), ("refused", 4 + 3 * n))]
    assert seen[1] == ("refused", RowNote(4, "only https://, http:// and mailto: links are accepted; "
                                             "'ftp://x.io/0' is not one"))


def test_an_open_file_is_read_as_a_stream_and_left_open(
    service: Session, clock: None, user: User, tmp_path: Path
) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(b"name,url\r\nAnn,https://a.io/ann\r\n")
    with path.open("rb") as source:
        assert import_leads_csv(service, user=user, data=source, channel=Channel.CLI).added == 1
        assert not source.closed


@pytest.mark.parametrize("url", ["http://[abc", "https://[::1/x", "http://a\uff03b/", "http://x.io:99999/"])
def test_a_link_urlsplit_cannot_read_is_a_refused_row_not_a_crash(
    service: Session, clock: None, user: User, url: str
) -> None:
    report = _import(service, user, f"name,url\nAnn,{url}\nBob,https://b.io/bob\n")

    assert _names(service, user) == ["Bob"]
    assert [(note.line, "has no valid host" in note.message) for note in report.first_refused] == [(2, True)]
