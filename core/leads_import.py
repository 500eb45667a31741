"""Bulk import of leads from a CSV file: a LinkedIn connections export or a plain ``name,url,notes`` file.

Rules chosen where the specification is silent:

* **The file as a whole** must be UTF-8 text (a BOM is fine) of at most 5 MB, with a header the
  import recognises; otherwise nothing is imported and the message says what is accepted.
* **The header** is the first non-empty row. LinkedIn's export may put a preamble before it (a row
  starting with ``Notes:``); then the header is the first row that looks like LinkedIn's. Column names
  match without regard to case or surrounding spaces and in any order; columns the import does not use
  are ignored.
* **Each row** stands alone: a bad one is reported with its physical line number (where it starts,
  counting the lines inside quoted values) and the others still land. A row with more non-empty values
  than the header has columns is refused, because it usually means a comma inside an unquoted value.
* **Duplicates are not errors**: a link the user already has, or one repeated in the same file, is
  listed as a duplicate; importing the same file twice adds nobody the second time.
* **Names** (core.names): in a plain file the user wrote the names, so one with a line break, a tab
  or another control character is refused like any bad row; in a LinkedIn export each connection
  wrote their own, which the user cannot fix, so such characters are cleaned away instead.
* **LinkedIn rows**: the name is first and last name; the link is the profile URL, or ``mailto:`` the
  email address when the URL is empty; the notes are "Position at Company" (or whichever is present).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ValidationError
from core.leads import DuplicateLead, add_lead, validate_url
from core.models import Channel, Lead, User
from core.names import clean_name

MAX_BYTES = 5 * 1024 * 1024
LINKEDIN_HEADER = "First Name,Last Name,URL,Email Address,Company,Position,Connected On"
PLAIN_HEADER = "name,url,notes"
_ACCEPTED_HEADERS = (
    f"use a LinkedIn connections export (header {LINKEDIN_HEADER}) "
    f"or a file whose first line is {PLAIN_HEADER} (notes optional)"
)
_LINKEDIN_REQUIRED = ("first name", "last name", "url")
_PLAIN_REQUIRED = ("name", "url")


@dataclass(frozen=True)
class RowNote:
    """Something to say about one row: ``line`` is its physical line number in the file, from 1."""

    line: int
    message: str


@dataclass(frozen=True)
class ImportReport:
    added: list[Lead]
    duplicates: list[RowNote]
    errors: list[RowNote]


@dataclass(frozen=True)
class _Row:
    """A data row as name/url/notes, or the reason it cannot be read at all (``problem``)."""

    line: int
    name: str = ""
    url: str = ""
    notes: str = ""
    problem: str | None = None


def import_leads_csv(session: Session, *, user: User, data: bytes, channel: Channel) -> ImportReport:
    """Add a lead (with its OUTREACH action, as :func:`core.leads.add_lead` does) for each good row.

    The whole file is read and its header checked before anything is written. ``add_lead`` validates a
    row before writing it and stores it inside a savepoint, so a refused row writes nothing and the
    rows after it still land in the same transaction. Links already known are found in one query, so
    re-importing a large export costs no write.
    """
    rows = _read(data)
    known: dict[str, str] = {
        url: f"you already have {name} with this link"
        for url, name in session.execute(select(Lead.url, Lead.name).where(Lead.user_id == user.id))
    }
    added: list[Lead] = []
    duplicates: list[RowNote] = []
    errors: list[RowNote] = []
    for row in rows:
        try:
            if row.problem:
                raise ValidationError(row.problem)
            url = validate_url(row.url)
            if url in known:
                duplicates.append(RowNote(row.line, f"{row.name or url}: {known[url]}"))
                continue
            added.append(add_lead(session, user=user, name=row.name, url=url, notes=row.notes, channel=channel))
            known[url] = f"line {row.line} of this file has the same link"
        except DuplicateLead as duplicate:  # added by someone else since ``known`` was read
            duplicates.append(RowNote(row.line, f"{row.name}: {duplicate}"))
        except ValidationError as error:
            errors.append(RowNote(row.line, str(error)))
    return ImportReport(added=added, duplicates=duplicates, errors=errors)


def _read(data: bytes) -> list[_Row]:
    """Every non-empty data row of the file, or a ValidationError about the file as a whole."""
    if len(data) > MAX_BYTES:
        raise ValidationError(
            f"the file is {len(data) / 1024 / 1024:.1f} MB; the limit is {MAX_BYTES // 1024 // 1024} MB, "
            "so split it into smaller files"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = "\x00"
    if "\x00" in text:  # also catches UTF-16 without a BOM, which decodes as UTF-8 with NULs
        raise ValidationError("the file is not UTF-8 text; save it as 'CSV UTF-8' and import it again")
    records = _records(text)
    columns, width = _header(records)
    convert = _linkedin if all(name in columns for name in _LINKEDIN_REQUIRED) else _plain
    rows = []
    for line, cells in records:
        if isinstance(cells, str):
            rows.append(_Row(line, problem=f"this row cannot be read: {cells}"))
        elif any(cell.strip() for cell in cells[width:]):
            rows.append(_Row(line, problem="this row has more values than the header has columns; "
                                           "put quotes around a value that contains a comma"))
        else:
            named = {name: cells[index].strip() if index < len(cells) else "" for name, index in columns.items()}
            rows.append(convert(line, named))
    return rows


def _records(text: str) -> Iterator[tuple[int, list[str] | str]]:
    """Each non-empty record with the physical line it starts on; one csv cannot read comes as its error."""
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield line, str(error)
            continue
        if any(cell.strip() for cell in cells):
            yield line, cells


def _header(records: Iterator[tuple[int, list[str] | str]]) -> tuple[dict[str, int], int]:
    """Consume records up to the header; return its column positions by lower-case name, and its width."""
    in_preamble = False
    for _line, cells in records:
        names = [cell.strip().lower() for cell in cells] if isinstance(cells, list) else []
        columns: dict[str, int] = {}
        for index, name in enumerate(names):
            columns.setdefault(name, index)
        if all(name in columns for name in _LINKEDIN_REQUIRED) or (
            not in_preamble and all(name in columns for name in _PLAIN_REQUIRED)
        ):
            return columns, len(names)
        in_preamble = in_preamble or (bool(names) and names[0].startswith("notes:"))
        if not in_preamble:
            break
    raise ValidationError(f"this file's header is not one the import knows; {_ACCEPTED_HEADERS}")


def _linkedin(line: int, cells: dict[str, str]) -> _Row:
    """A LinkedIn connection: an email address stands in for a missing profile URL; the name, written
    by the connection, is cleaned (see the module docstring)."""
    email = cells.get("email address")
    position_at_company = " at ".join(part for part in (cells.get("position"), cells.get("company")) if part)
    return _Row(
        line,
        name=clean_name(" ".join(part for part in (cells["first name"], cells["last name"]) if part)),
        url=cells["url"] or (f"mailto:{email}" if email else ""),
        notes=position_at_company,
    )


def _plain(line: int, cells: dict[str, str]) -> _Row:
    return _Row(line, name=cells["name"], url=cells["url"], notes=cells.get("notes", ""))
