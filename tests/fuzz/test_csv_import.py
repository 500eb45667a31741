"""``nbm leads import`` fuzzed with CSV files: random bytes, other encodings, BOMs, every quoting,
line ends and header (LinkedIn's export with and without its preamble, plain ``name,url,notes`` in any
case and order), huge fields, odd names and links. Never a traceback: exit 0 (all imported), 1 (some
rows refused, said on stderr, the others imported) or 2 (the file refused, with a message, and
nothing changed)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import event, example, given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from bot.cli import main
from core.models import User
from tests.factories import make_lead, make_user
from tests.fuzz.conftest import changed, snapshot
from tests.fuzz.strategies import SPLIT_CRASHES, awkward_text, huge_text, links, mostly, unicode_text, word

LINKEDIN = ["First Name", "Last Name", "URL", "Email Address", "Company", "Position", "Connected On"]
PREAMBLE = ("Notes:\r\n\"When exporting your connection data, you may notice that some of the email addresses are "
            "missing.\"\r\n\r\n")
ENCODINGS = ("utf-8", "utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-8-sig", "utf-16", "utf-16-le", "latin-1",
             "cp1252", "utf-32")


@pytest.fixture()
def ann(service: Session) -> User:
    """Ann, with one lead already (so a file can repeat a link she has)."""
    user = make_user(service, email="ann@example.com", name="Ann Lee", timezone="Europe/Paris")
    make_lead(service, user, name="Old Friend", url="https://www.linkedin.com/in/old-friend")
    return user


def cells() -> st.SearchStrategy[str]:
    return st.one_of(word(), links(), unicode_text, awkward_text, st.just(""), st.sampled_from(
        ["Dana Fox", "https://www.linkedin.com/in/old-friend", "HTTPS://WWW.LINKEDIN.COM/IN/OLD-FRIEND/",
         "https://www.linkedin.com/in/dana", "dana@acme.io", "12 Nov 2026", " ", "\"", "a,b", "a\nb", "a\r\nb"]),
        huge_text().map(lambda text: text[:2_000]))


@st.composite
def headers(draw: st.DrawFn) -> list[str]:
    kind = draw(st.sampled_from(["linkedin", "linkedin", "plain", "plain", "any"]))
    if kind == "linkedin":
        names = draw(st.permutations(LINKEDIN)) if draw(st.booleans()) else list(LINKEDIN)
        if draw(st.integers(0, 3)) == 0:
            names = [n for n in names if n not in draw(st.lists(st.sampled_from(LINKEDIN), max_size=2))]
    elif kind == "plain":
        names = draw(st.permutations(["name", "url", "notes"] if draw(st.booleans()) else ["name", "url"]))
        if draw(st.integers(0, 5)) == 0:
            names = names[:1]
    else:
        names = draw(st.lists(word(), max_size=6))
    variants = [str.upper, str.lower, str.title, lambda n: f" {n} ", lambda n: n]
    return [draw(st.sampled_from(variants))(name) for name in names] + draw(st.lists(word(), max_size=2))


def plausible_rows(header: list[str]) -> st.SearchStrategy[list[str]]:
    """A row whose cells fit their columns: a name, a link, an email address, a company."""
    by_column = {"first name": st.sampled_from(["Dana", "Émile", "李", "O'Brien", ""]),
                 "last name": st.sampled_from(["Fox", "Zola", "", "Lee\u200b"]),
                 "name": st.sampled_from(["Dana Fox", "Émile Zola", "Bo", "Tab\tName"]),
                 "url": st.sampled_from(["https://www.linkedin.com/in/old-friend", "", "mailto:x@y.io"])
                 | st.text("abcdefgh-", min_size=1, max_size=8).map("https://www.linkedin.com/in/{}".format),
                 "email address": st.sampled_from(["", "dana@acme.io", "not an address"])}
    return st.tuples(*(by_column.get(name.strip().lower(), cells()) for name in header)).map(list)


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """A CSV file as a spreadsheet, LinkedIn or a person might have written it, or any bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(min_size=1, max_size=2_000))
    header = draw(headers())
    width = max(len(header), 1)
    rows = draw(st.lists(st.lists(cells(), min_size=0, max_size=width + 2) | plausible_rows(header), max_size=12))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC, csv.QUOTE_NONE]))
    out = io.StringIO()
    line_end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    writer = csv.writer(out, quoting=quoting, escapechar="\\", lineterminator=line_end)
    for row in [header, *rows]:
        try:
            writer.writerow(row)
        except csv.Error:  # what csv will not write, written by hand
            out.write(",".join(row) + line_end)
    text = out.getvalue()
    if draw(st.booleans()) and any(name.strip().lower() == "first name" for name in header):
        text = PREAMBLE + text
    if draw(st.integers(0, 6)) == 0:  # broken quoting, a huge field, a stray NUL, a cut in the middle
        after_header = min(len(text), max(text.find(line_end), 0) + 1)
        at = draw(mostly(st.integers(after_header, len(text)), st.integers(0, len(text))))
        text = text[:at] + draw(st.sampled_from(['"', '"unclosed', "x" * 140_000, "\x00", "\ufeff"])) + text[at:]
    if draw(st.integers(0, 6)) == 0:  # cut short: a few characters off its end, or anywhere
        text = text[: len(text) - draw(mostly(st.integers(0, 40), st.integers(0, len(text))))]
    encoding = draw(mostly(st.sampled_from(["utf-8", "utf-8-sig"]), st.sampled_from(ENCODINGS)))
    return text.encode(encoding, errors="replace")


def import_file(path: Path, data: bytes, *extra: str) -> Result:
    path.write_bytes(data)
    return CliRunner().invoke(main, ["leads", "import", "--user", "ann@example.com", str(path), *extra])


def check_import(result: Result, before: dict[str, str]) -> None:
    """Exit 0, 1 or 2 as the module docstring says; never a traceback."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    said = result.stderr.strip().splitlines()[-1].split(";")[0] if result.exit_code == 2 else ""
    event(f"exit {result.exit_code} {said}".strip())
    assert result.exit_code in (0, 1, 2), result.output
    if result.exit_code == 2:
        assert "Error:" in result.stderr and len(result.stderr.strip()) > len("Error:")
        assert changed(before, snapshot()) == []
    elif result.exit_code == 1:
        assert re.search(r"nbm: (1 row|[\d,]+ rows) refused, so this import is incomplete", result.stderr)
    elif result.stdout.startswith("{"):
        assert json.loads(result.stdout)["refused"] == 0
    else:
        assert result.stdout.startswith("imported ") and ", 0 rows refused" in result.stdout


@given(data=csv_files(),
       extra=st.sampled_from([(), ("--json",), ("--report", "report.csv")]))
def test_any_file_is_imported_refused_by_row_or_refused_whole(
    ann: User, tmp_path: Path, in_savepoint: Any, data: bytes, extra: tuple[str, ...]
) -> None:
    extra = tuple(str(tmp_path / part) if part.endswith(".csv") else part for part in extra)
    with in_savepoint():
        before = snapshot()
        check_import(import_file(tmp_path / "leads.csv", data, *extra), before)


@example(url="http://[abc")
@given(url=st.sampled_from(SPLIT_CRASHES))
def test_a_link_urlsplit_cannot_read_is_a_refused_row(ann: User, tmp_path: Path, in_savepoint: Any,
                                                      url: str) -> None:
    """Found by the fuzz test above (a traceback, exit 1); fixed in core/leads.py."""
    with in_savepoint():
        before = snapshot()
        result = import_file(tmp_path / "leads.csv", f"name,url\nAnn,{url}\n".encode())
        check_import(result, before)
        assert result.exit_code == 1 and "line 2:" in result.stdout
