"""`nbm leads import` end to end: what the person reads, the exit code, re-runs, and a 5,000-row file."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import time_machine
from click.testing import Result
from sqlalchemy import Connection, event, func, select
from sqlalchemy.orm import Session

from bot.cli import leads as leads_import_cli
from core import leads_import
from core.models import Action, ActionEvent, Lead, User
from tests.cli import nbm
from tests.factories import make_lead, make_user

MORNING = datetime(2026, 11, 25, 11, 30, tzinfo=UTC)
LINKEDIN_HEADER = "First Name,Last Name,URL,Email Address,Company,Position,Connected On"


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(MORNING, tick=False):
        yield


@pytest.fixture()
def user(service: Session) -> User:
    return make_user(service, email="ann@example.com", timezone="Europe/Paris")


def import_file(user: User, path: Path, *extra: str) -> Result:
    return nbm("leads", "import", "--user", user.email, str(path), *extra)


def counts(service: Session, user: User) -> tuple[int, int, int]:
    """Leads, actions and action events of ``user``."""
    return tuple(  # type: ignore[return-value]
        service.scalar(select(func.count()).select_from(model).where(model.user_id == user.id))
        for model in (Lead, Action, ActionEvent)
    )


def linkedin_export(path: Path, rows: int) -> Path:
    """``rows`` connections, one in 50 without a URL or email (refused), one in 40 repeating an earlier link."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(LINKEDIN_HEADER.split(","))
        for n in range(rows):
            if n % 50 == 49:
                writer.writerow([f"Nolink{n}", "Person", "", "", "Acme", "CTO", "12 Nov 2026"])
            else:
                link = n - 1 if n % 40 == 39 else n
                writer.writerow([f"First{n}", f"Last{n}", f"https://www.linkedin.com/in/person-{link}", "",
                                 f"Company {n % 97}", "Founder", "12 Nov 2026"])
    return path


def test_refused_rows_exit_1_saying_so_and_the_other_rows_are_imported(
    service: Session, user: User, tmp_path: Path
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("name,url,notes\nAnn Lee,https://a.io/ann,met at a fair\nSpy,javascript:alert(1),\n"
                    "Bo Chen,https://b.io/bo,\n")

    result = import_file(user, path)

    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        "imported 2 leads, 0 already there, 1 row refused",
        "refused:",
        "  line 3: only https://, http:// and mailto: links are accepted; 'javascript:alert(1)' is not one",
    ]
    assert "1 row refused, so this import is incomplete" in result.stderr
    assert "import the file again" in result.stderr
    assert counts(service, user) == (2, 2, 2)  # committed: the good rows are kept


def test_duplicates_in_the_file_and_against_existing_leads_are_named_and_exit_0(
    service: Session, user: User, tmp_path: Path
) -> None:
    make_lead(service, user, name="Ann Lee", url="https://a.io/ann")
    path = tmp_path / "leads.csv"
    path.write_text("name,url\nAnnie,HTTPS://A.IO/ann/\nBob,https://b.io/bob\nBobby,https://b.io/bob/\n")

    result = import_file(user, path, "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "added": 1, "duplicates": 2, "refused": 0,
        "first_duplicates": [{"line": 2, "message": "Annie: you already have Ann Lee with this link"},
                             {"line": 4, "message": "Bobby: line 3 of this file has the same link"}],
        "first_refused": [], "emails_skipped": 0, "first_emails_skipped": [],
    }
    assert counts(service, user) == (2, 1, 1)  # Ann Lee's lead came from the factory, without an action


def test_running_the_same_file_again_adds_nobody(service: Session, user: User, tmp_path: Path) -> None:
    path = linkedin_export(tmp_path / "Connections.csv", 120)
    first = import_file(user, path)
    after_first = counts(service, user)

    again = import_file(user, path)

    assert (first.exit_code, again.exit_code) == (1, 1)  # the rows without a link are refused each time
    assert first.stdout.splitlines()[0] == "imported 115 leads, 3 already there, 2 rows refused"
    assert again.stdout.splitlines()[0] == "imported 0 leads, 118 already there, 2 rows refused"
    assert counts(service, user) == after_first == (115, 115, 115)


def test_a_file_refused_whole_exits_2_adds_nobody_and_leaves_no_report(
    service: Session, user: User, tmp_path: Path
) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes("name,url\nAnn,https://a.io/ann\nJosé,https://j.io\n".encode("latin-1"))
    report = tmp_path / "report.csv"

    result = import_file(user, path, "--report", str(report))

    assert result.exit_code == 2
    assert "not UTF-8 text" in result.output
    assert counts(service, user) == (0, 0, 0)
    assert not report.exists()


@pytest.mark.parametrize("spelled", ["same", "relative", "symlink"])
def test_a_report_naming_the_file_being_imported_is_refused_and_the_file_is_kept(
    service: Session, user: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spelled: str
) -> None:
    path = tmp_path / "Connections.csv"
    path.write_text(f"{LINKEDIN_HEADER}\nAnn,Lee,https://www.linkedin.com/in/ann-lee,,Acme,CTO,12 Nov 2026\n")
    before = path.read_bytes()
    monkeypatch.chdir(tmp_path)
    report = {"same": str(path), "relative": "Connections.csv", "symlink": str(tmp_path / "link.csv")}[spelled]
    if spelled == "symlink":
        (tmp_path / "link.csv").symlink_to(path)

    result = import_file(user, path, "--report", report)

    assert result.exit_code == 2, result.output
    assert "is the file being imported" in result.output and "name another file" in result.output
    assert path.read_bytes() == before
    assert counts(service, user) == (0, 0, 0)


@pytest.mark.parametrize("failure", ["file refused whole", "unknown user"])
def test_an_import_that_fails_leaves_an_existing_report_as_it_was(
    service: Session, user: User, tmp_path: Path, failure: str
) -> None:
    path = tmp_path / "leads.csv"
    report = tmp_path / "report.csv"
    report.write_text("line,outcome,message\n7,refused,from last week's import\n")
    if failure == "file refused whole":
        path.write_bytes("name,url\nJosé,https://j.io\n".encode("latin-1"))
        result = import_file(user, path, "--report", str(report))
    else:
        path.write_text("name,url\nAnn,https://a.io/ann\n")
        result = nbm("leads", "import", "--user", "nobody@example.com", str(path), "--report", str(report))

    assert result.exit_code == 2, result.output
    assert report.read_text() == "line,outcome,message\n7,refused,from last week's import\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leads.csv", "report.csv"]  # nothing left beside it
    assert counts(service, user) == (0, 0, 0)


@pytest.mark.parametrize(("report", "message"), [
    ("missing/report.csv", "does not exist"),
    ("leads.csv/report.csv", "is not a folder"),
])
def test_a_report_that_cannot_be_written_is_refused_before_anything_is_imported(
    service: Session, user: User, tmp_path: Path, report: str, message: str
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("name,url\nAnn,https://a.io/ann\n")

    result = import_file(user, path, "--report", str(tmp_path / report))

    assert result.exit_code == 2, result.output
    assert message in result.output and "--report" in result.output
    assert counts(service, user) == (0, 0, 0)
    assert path.read_text() == "name,url\nAnn,https://a.io/ann\n"


def test_a_report_that_cannot_be_written_once_the_import_is_done_is_said_in_one_line_with_the_counts(
    service: Session, user: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The report's folder was there when the command started and gone when the import ended (a
    clean-up, an unmounted disk): the import stands, and the person is told so, and why the report is
    missing, instead of reading a traceback."""
    path = tmp_path / "leads.csv"
    path.write_text("name,url\nAnn,https://a.io/ann\nBo,https://b.io/bo\n")
    folder = tmp_path / "reports"
    folder.mkdir()
    real_import = leads_import_cli.import_leads_and_replan

    def import_while_the_folder_goes(*args: Any, **kwargs: Any) -> Any:
        folder.rmdir()
        return real_import(*args, **kwargs)

    monkeypatch.setattr(leads_import_cli, "import_leads_and_replan", import_while_the_folder_goes)

    result = import_file(user, path, "--report", str(folder / "report.csv"))

    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [
        f"nbm: the import is done (imported 2 leads, 0 already there, 0 rows refused), but its report could not "
        f"be written to {folder / 'report.csv'}: No such file or directory. Import the same file again with "
        "another --report to list its rows: nobody is added twice."]
    assert result.stdout.splitlines() == ["imported 2 leads, 0 already there, 0 rows refused"]
    assert counts(service, user)[0] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["leads.csv"]


def test_many_refused_rows_show_the_first_and_the_report_file_lists_every_one(
    service: Session, user: User, tmp_path: Path
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("name,url\n" + "".join(f"Lead {n},https://x.io/{n}\nBad {n},x.io/{n}\nLead {n},https://x.io/{n}\n"
                                           for n in range(25)))
    report = tmp_path / "report.csv"

    shown = import_file(user, path)

    assert shown.exit_code == 1
    lines = shown.stdout.splitlines()
    assert lines[:2] == ["imported 25 leads, 25 already there, 25 rows refused",
                         f"refused (the first {leads_import.FIRST_NOTES} of 25):"]
    assert len([line for line in lines if line.startswith("  line ")]) == leads_import.FIRST_NOTES
    assert "--report PATH lists every refused row" in lines[-1]

    listed = import_file(user, path, "--report", str(report))

    assert listed.stdout.splitlines()[0] == "imported 0 leads, 50 already there, 25 rows refused"
    with report.open(newline="") as written:
        rows = list(csv.DictReader(written))
    assert [(row["line"], row["outcome"]) for row in rows] == [
        (str(line), outcome) for n in range(25)
        for line, outcome in ((2 + 3 * n, "duplicate"), (3 + 3 * n, "refused"), (4 + 3 * n, "duplicate"))]
    assert rows[1]["message"].startswith("only https://, http:// and mailto: links are accepted")
    assert rows[0]["message"] == "Lead 0: you already have Lead 0 with this link"


def _statements(connection: Connection, monkeypatch: pytest.MonkeyPatch, run: Callable[[], object]) -> list[str]:
    """Every statement ``run`` sends: those SQLAlchemy executes, and the COPYs that go to the driver directly."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    copy = psycopg.Cursor.copy

    def counted_copy(cursor: psycopg.Cursor[Any], statement: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(statement)
        return copy(cursor, statement, *args, **kwargs)

    event.listen(connection, "before_cursor_execute", count)
    try:
        with monkeypatch.context() as patched:
            patched.setattr(psycopg.Cursor, "copy", counted_copy)
            run()
    finally:
        event.remove(connection, "before_cursor_execute", count)
    return seen


def test_a_5000_row_export_imports_in_as_many_statements_as_a_1200_row_one(
    connection: Connection, service: Session, user: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = {size: make_user(service, email=f"user-{size}@example.com") for size in (3, 1_200)}
    results: dict[int, Result] = {}
    statements: dict[int, list[str]] = {}
    for size in (3, 1_200, 5_000):
        path = linkedin_export(tmp_path / f"{size}.csv", size)
        importer = users.get(size, user)
        statements[size] = _statements(
            connection, monkeypatch, lambda path=path, importer=importer, size=size: results.setdefault(
                size, import_file(importer, path)))

    assert results[5_000].exit_code == 1
    assert results[5_000].stdout.splitlines()[0] == "imported 4,800 leads, 100 already there, 100 rows refused"
    assert counts(service, user) == (4_800, 4_800, 4_800)
    assert results[1_200].stdout.splitlines()[0] == "imported 1,152 leads, 24 already there, 24 rows refused"
    assert len(statements[5_000]) == len(statements[1_200]), (statements[1_200], statements[5_000])
    assert len([s for s in statements[5_000] if s.startswith("COPY")]) == 1  # every row in one COPY
    # A small import leaves the statistics alone (core.leads_import.ANALYZE_FROM): two statements fewer.
    assert results[3].exit_code == 0, results[3].output
    assert len(statements[3]) == len(statements[1_200]) - 2
    assert [s for s in statements[1_200] if s.startswith("ANALYZE")] == ["ANALYZE leads (user_id)",
                                                                         "ANALYZE actions (user_id)"]


def _leads_by_name(service: Session, user: User) -> dict[str, str | None]:
    service.expire_all()
    return {lead.name: lead.notes for lead in service.scalars(select(Lead).where(Lead.user_id == user.id))}


def test_a_quote_left_open_refuses_its_row_and_each_row_it_ran_over_and_the_rest_land(
    service: Session, user: User, tmp_path: Path
) -> None:
    """An unclosed quote made csv read the rows after it as Ann's note: Bob and Cat were neither added
    nor refused, and the import said "0 rows refused", exit 0. A note over two lines of prose lands."""
    path = tmp_path / "leads.csv"
    path.write_text("\n".join([
        "name,url,notes",
        'Eve,https://e.io/eve,"Met in Lisbon,',  # 2: a note over two lines
        'then again in Porto"',  # 3
        'Ann,https://a.io/ann,"hi',  # 4: the quote is left open...
        "Bob,https://b.io/bob,x",  # 5
        'Cat,https://c.io/cat,"y"',  # 6: ...and csv reads on to the end of this line
        "Dan,https://d.io/dan,",  # 7
    ]) + "\n")

    result = import_file(user, path)

    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        "imported 2 leads, 0 already there, 3 rows refused",
        "refused:",
        "  line 4: a quote opened in this row is still open on lines 5 to 6, which look like rows of their own: "
        'the row and those lines were not imported; close the quote (a quote inside a value is written twice: "") '
        "and import the file again",
        "  line 5: this line is inside a quoted value of the row on line 4, so it was not imported; see line 4",
        "  line 6: this line is inside a quoted value of the row on line 4, so it was not imported; see line 4",
    ]
    assert _leads_by_name(service, user) == {"Eve": "Met in Lisbon,\nthen again in Porto", "Dan": None}


def test_a_quote_never_closed_refuses_every_row_after_it_by_line(
    service: Session, user: User, tmp_path: Path
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text('name,url,notes\nAnn,https://a.com,"hi\nBob,https://b.com,x\nCat,https://c.com,y\n')

    result = import_file(user, path, "--json")

    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert (report["added"], report["duplicates"], report["refused"]) == (0, 0, 3)
    assert [note["line"] for note in report["first_refused"]] == [2, 3, 4]
    assert report["first_refused"][0]["message"].startswith(
        "a quote opened in this row is still open on lines 3 to 4, which look like rows of their own")
    assert counts(service, user) == (0, 0, 0)


def test_a_quote_left_open_past_the_limit_of_a_value_counts_every_row_it_ran_over(
    service: Session, user: User, tmp_path: Path
) -> None:
    """csv gives up on a value past 131,072 characters and reads on from the next line: the rows in
    between were lost from the counts, the row with the quote refused as "cannot be read"."""
    rows = [f"Lead {n},https://x.io/{n},{'n' * 100}" for n in range(3, 2_003)]  # lines 3 to 2002
    path = tmp_path / "leads.csv"
    path.write_text("\n".join(["name,url,notes", 'Ann,https://a.io/ann,"hi', *rows]) + "\n")

    result = import_file(user, path, "--report", str(tmp_path / "report.csv"))

    assert result.exit_code == 1, result.output
    said = re.match(r"imported ([\d,]+) leads?, 0 already there, ([\d,]+) rows? refused", result.stdout)
    assert said is not None, result.stdout
    added, refused = (int(number.replace(",", "")) for number in said.groups())
    assert added + refused == 1 + len(rows)  # every row of the file is counted
    last = 2 + refused - 1  # the line csv gave up on: every line up to it looks like a row
    with (tmp_path / "report.csv").open(newline="") as written:
        notes = list(csv.DictReader(written))
    assert [int(note["line"]) for note in notes] == list(range(2, last + 1))
    assert notes[0]["message"].startswith(f"a quoted value in this row runs on over lines 3 to {last} and past the "
                                          "131,072 characters a value may hold, which look like rows of their own")
    assert notes[1]["message"] == "this line is inside a quoted value of the row on line 2, so it was not imported; " \
                                  "see line 2"
    assert sorted(_leads_by_name(service, user)) == sorted(f"Lead {n}" for n in range(last + 1, 2_003))
