"""Reading a leads CSV file into rows: its header, each row's values, and the check that a quote left
open has not swallowed the rows after it (:func:`read_rows`, for core.leads_import, which stages the
rows and adds the leads).

Rules chosen where the specification is silent (the file as a whole, duplicates and the one
transaction: core.leads_import):

* **The header** is the first non-empty row; a file with none (nothing, or blank rows only) is refused
  as empty. LinkedIn's export may put a preamble before it (a row starting with ``Notes:``); then the
  header is the first row that looks like LinkedIn's. Column names match without regard to case or
  surrounding spaces and in any order; columns the import does not use are ignored.
* **Each row** stands alone: a bad one is reported with its physical line number (where it starts,
  counting the lines inside quoted values) and the others still land. A row with more non-empty values
  than the header has columns is refused, because it usually means a comma inside an unquoted value.
* **A quote left open** makes csv read the lines after it as one value: the rows on them would vanish
  into a note, counted nowhere. So a row whose quoted value runs on over lines that look like rows of
  their own (read alone up to where the quote closes, a name and, where the link goes, something
  shaped like a link: a scheme and no space), or past the 131,072 characters csv reads in a value, is
  refused, naming the lines its quote covers; and each of those lines that looks like a row is
  refused too, pointing back to it, so the counts hold every row of the file. A quoted note that
  spans lines of prose still lands whole, and so does a name over two lines in a LinkedIn export.
  A line of a note that happens to read like a row (``see also,https://…``) makes its row refused: the
  message says why, and rewording that line lets it through.
* **Names** (core.names): in a plain file the user wrote the names, so one with a line break, a tab
  or another control character is refused like any bad row (core.leads_import validates them); in a
  LinkedIn export each connection wrote their own, which the user cannot fix, so such characters are
  cleaned away here instead.
* **LinkedIn rows**: the name is first and last name; the link is the profile URL, or ``mailto:`` the
  email address when the URL is empty; the notes are "Position at Company" (or whichever is present);
  the email address is also the lead's email (call detection finds a lead's meetings by it), checked
  and kept or left out by core.leads_import.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from core.errors import ValidationError
from core.names import clean_name

LINKEDIN_HEADER = "First Name,Last Name,URL,Email Address,Company,Position,Connected On"
PLAIN_HEADER = "name,url,notes"
_ACCEPTED_HEADERS = (
    f"use a LinkedIn connections export (header {LINKEDIN_HEADER}) "
    f"or a file whose first line is {PLAIN_HEADER} (notes optional)"
)
_LINKEDIN_REQUIRED = ("first name", "last name", "url")
_PLAIN_REQUIRED = ("name", "url")

#: Something shaped like a link, to tell a row from a line of a note (:func:`_looks_like_row`).
_LINK_SHAPE = re.compile(r"[a-z][a-z0-9+.-]*:\S+", re.IGNORECASE)
_CLOSE_THE_QUOTE = 'a quote inside a value is written twice: ""'


@dataclass(frozen=True)
class Row:
    """A data row as name/url/notes/email, or the reason it cannot be read at all (``problem``)."""

    line: int
    name: str = ""
    url: str = ""
    notes: str = ""
    problem: str | None = None
    email: str = ""


#: A record as csv read it: the physical line it starts on, its cells (or csv's error about it), and the
#: lines after its first when a quoted value ran on across lines (empty otherwise).
_Record = tuple[int, list[str] | str, tuple[str, ...]]

#: Reads a data row's named values (``name``, ``url``...) as a :class:`Row`: :func:`_linkedin` or :func:`_plain`.
_Convert = Callable[[int, dict[str, str]], Row]


def read_rows(lines: Iterable[str]) -> Iterator[Row]:
    """The data rows of the file whose text ``lines`` are, in file order, each read as the module
    docstring says. The header is read at once: one the import does not know raises ValidationError
    before this returns (before the caller writes anything); the rows are read as they are iterated."""
    records = _records(lines)
    columns, width = _header(records)
    convert = _linkedin if all(name in columns for name in _LINKEDIN_REQUIRED) else _plain
    return (row for record in records for row in _rows(record, columns, width, convert))


def _records(lines: Iterable[str]) -> Iterator[_Record]:
    """Each non-empty record with the physical line it starts on; one csv cannot read comes as its error.

    A record csv read over several lines comes with the lines after its first, for :func:`_rows` to
    check: csv takes a line from ``lines`` only when the record needs it, so the lines taken while it
    reads a record are that record's (at most a value's limit of characters, plus a line).
    """
    taken: list[str] = []

    def taking() -> Iterator[str]:
        for physical in lines:
            taken.append(physical)
            yield physical

    reader = csv.reader(taking())
    while True:
        line = reader.line_num + 1
        taken.clear()
        cells: list[str] | str
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            cells = str(error)
        if isinstance(cells, str) or any(cell.strip() for cell in cells):
            yield line, cells, tuple(taken[1:])


def _header(records: Iterator[_Record]) -> tuple[dict[str, int], int]:
    """Consume records up to the header; return its column positions by lower-case name, and its width.

    A file without a non-empty row (nothing, or blank rows only) is said to be empty: "its header is
    not one the import knows" would send the user looking for a header in a file that has none."""
    in_preamble, empty = False, True
    for _line, cells, _more in records:
        empty = False
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
    if empty:
        raise ValidationError(f"this file is empty: it has no header and no rows; {_ACCEPTED_HEADERS}")
    raise ValidationError(f"this file's header is not one the import knows; {_ACCEPTED_HEADERS}")


def _rows(record: _Record, columns: dict[str, int], width: int, convert: _Convert) -> Iterator[Row]:
    """The row a record holds; or, when a quoted value of it ran on over lines that look like rows of
    their own, or past csv's limit of a value, the record refused and each of those lines with it
    (the module docstring: "A quote left open")."""
    line, cells, more = record
    inside = [n for n, physical in enumerate(more, start=line + 1) if _looks_like_row(physical, columns, convert)]
    over_limit = isinstance(cells, str) and bool(more)  # a value csv gave up on after more than one line
    if not inside and not over_limit:
        yield _row(line, cells, columns, width, convert)
        return
    span = f"line {line + 1}" if len(more) == 1 else f"lines {line + 1} to {line + len(more)}"
    if len(inside) == len(more):
        rows = "which looks like a row of its own" if len(more) == 1 else "which look like rows of their own"
    else:
        rows = f"{len(inside)} of which " + ("looks like a row of its own" if len(inside) == 1
                                             else "look like rows of their own")
    lost = "the row and those lines were not imported" if inside else "the row was not imported"
    if over_limit:
        problem = (f"a quoted value in this row runs on over {span} and past the {csv.field_size_limit():,} "
                   f"characters a value may hold{', ' + rows if inside else ''}: {lost}; close the quote if it "
                   f"was left open ({_CLOSE_THE_QUOTE}) or shorten the value, and import the file again")
    else:
        problem = (f"a quote opened in this row is still open on {span}, {rows}: {lost}; close the quote "
                   f"({_CLOSE_THE_QUOTE}) and import the file again")
    yield Row(line, problem=problem)
    for inner in inside:
        yield Row(inner, problem=f"this line is inside a quoted value of the row on line {line}, so it was not "
                                  f"imported; see line {line}")


def _looks_like_row(physical: str, columns: dict[str, int], convert: _Convert) -> bool:
    """Whether ``physical``, a line that begins inside a quoted value, holds a row of its own there:
    read alone up to where that value's quote closes, a name and something shaped like a link where
    the link goes (LinkedIn's: the profile URL, else the email). What follows the closing quote is the
    rest of the quoted value's own row (the line ``Dan",Hill,https://…`` after ``"Cy``), not another row."""
    try:
        cells = next(csv.reader([physical[:_closing_quote(physical)]]), [])
    except csv.Error:
        return False
    row = convert(0, _named(cells, columns))
    return bool(row.name) and _LINK_SHAPE.fullmatch(row.url) is not None


def _closing_quote(physical: str) -> int:
    """Where the quote of a value open at the start of ``physical`` closes (its first quote that is not
    one of a doubled pair, ``""``), or the line's length when it stays open."""
    at = physical.find('"')
    while at != -1 and physical.startswith('"', at + 1):
        at = physical.find('"', at + 2)
    return len(physical) if at == -1 else at


def _row(line: int, cells: list[str] | str, columns: dict[str, int], width: int, convert: _Convert) -> Row:
    if isinstance(cells, str):
        return Row(line, problem=f"this row cannot be read: {cells}")
    if any(cell.strip() for cell in cells[width:]):
        return Row(line, problem="this row has more values than the header has columns; "
                                  "put quotes around a value that contains a comma")
    return convert(line, _named(cells, columns))


def _named(cells: list[str], columns: dict[str, int]) -> dict[str, str]:
    """The row's values by column name, stripped; a column the row is too short for is empty."""
    return {name: cells[index].strip() if index < len(cells) else "" for name, index in columns.items()}


def _linkedin(line: int, cells: dict[str, str]) -> Row:
    """A LinkedIn connection: an email address stands in for a missing profile URL and is the lead's
    email; the name, written by the connection, is cleaned (see the module docstring)."""
    email = cells.get("email address", "")
    position_at_company = " at ".join(part for part in (cells.get("position"), cells.get("company")) if part)
    return Row(
        line,
        name=clean_name(" ".join(part for part in (cells["first name"], cells["last name"]) if part)),
        url=cells["url"] or (f"mailto:{email}" if email else ""),
        notes=position_at_company,
        email=email,
    )


def _plain(line: int, cells: dict[str, str]) -> Row:
    return Row(line, name=cells["name"], url=cells["url"], notes=cells.get("notes", ""))
