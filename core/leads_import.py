"""Bulk import of leads from a CSV file: a LinkedIn connections export or a plain ``name,url,notes`` file.

Rules chosen where the specification is silent:

* **The file as a whole** must be UTF-8 text (a BOM is fine) of at most 32 MB (a 100,000-row
  LinkedIn export is about 13 MB), with a header the import recognises; otherwise nothing is imported
  and the message says what is accepted. It may come from a pipe (``/dev/stdin``, a process
  substitution), whose size cannot be known first: it is refused once it passes 32 MB as it is read.
  A caller that would wait on something else first (a calendar read) checks the whole file before
  it (:func:`check_file`), so a file refused waits on nothing and touches nothing.
* **The header, each row, a quote left open, names and LinkedIn rows**: core.leads_csv, which reads
  the file's text into rows.
* **Duplicates are not errors**: a link the user already has, or one repeated in the same file, is
  listed as a duplicate; importing the same file twice adds nobody the second time.
* **A row's email** (a LinkedIn export's "Email Address") becomes the lead's email, checked as
  ``nbm leads add --email`` checks it (:func:`core.leads.validate_email`). A lead's email is unique
  among the user's leads, so an email another lead has (from before, or an earlier row of the file),
  or one that is not an email address, is left out: the lead is added without it, and the report
  says so (kind ``email skipped``).
* **All or nothing, in one transaction**, however large the file: the caller's unit of work. An
  import that fails half-way (the connection drops, the process is killed) leaves nothing behind, so
  the user simply runs it again; an import that succeeds is complete, and running the same file again
  adds nobody (every link is then a duplicate). Chunked commits would leave a half-imported book after
  a failure, reported as "N duplicates" on the retry, for no gain: the whole write is a handful of
  set-based statements that take seconds, not minutes.

How it runs (issue 14: 12 ms and several ORM round trips a row before): the file is streamed, never held
whole; each row is read and validated in Python as it arrives and streamed on, by one ``COPY``, into a
temporary table of the transaction. Three set-based statements then add the leads (the first good row
of each link the user does not have yet), their OUTREACH actions due the user's today, and the actions'
creation events; one more reads the duplicates and refusals back, in line order, through a server-side
cursor. The unique index on (user, link) stays the guarantee: the insert skips a link that another
transaction adds meanwhile, and that row is reported as a duplicate. So memory stays flat in the number
of rows, and so does the number of statements: ten, and two more (see :data:`ANALYZE_FROM`) when a
thousand leads or more are added. Everything runs in the user's context, under row-level security.
"""

from __future__ import annotations

import io
import shutil
import uuid
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from tempfile import TemporaryFile
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

from sqlalchemy import text
from sqlalchemy.engine import Row as ResultRow
from sqlalchemy.orm import Session

from core.actions.records import check_text
from core.clock import local_today, utcnow
from core.db import rows_affected
from core.errors import ValidationError
from core.leads import validate_email, validate_url
from core.leads_csv import Row, read_rows
from core.models import Channel, User
from core.names import validate_name

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

MAX_BYTES = 32 * 1024 * 1024
#: How many duplicate and refused rows a report keeps (each kind); the counts are always complete,
#: and ``every_note`` receives all of them.
FIRST_NOTES = 20
#: From this many leads added, the statistics of ``user_id`` are refreshed after the leads and after
#: the actions are inserted, before the next insert is planned. Every row the next insert writes is
#: checked by a lookup of its lead or action (the policies' reference checks, ``app.owns``, and the
#: foreign keys). Planned with statistics that still say this user has few rows (a new user's first
#: import: autovacuum cannot see rows before they are committed), that lookup may walk all of the
#: user's rows every time, and the import turns quadratic: 100,000 rows ran for over 15 minutes.
#: ANALYZE counts the transaction's own rows, and what it stores is kept only if the import commits;
#: a role that does not own the tables gets a warning and no refresh. The lock it takes (SHARE UPDATE
#: EXCLUSIVE, to the commit) lets every read and write through; only a second large import, VACUUM or
#: a schema change of the same table waits for this one to finish.
ANALYZE_FROM = 1_000
_NOT_UTF8 = "the file is not UTF-8 text; save it as 'CSV UTF-8' and import it again"

Kind = Literal["duplicate", "refused", "email skipped"]


@dataclass(frozen=True)
class RowNote:
    """Something to say about one row: ``line`` is its physical line number in the file, from 1."""

    line: int
    message: str


@dataclass(frozen=True)
class ImportReport:
    """How many rows were added, were duplicates, were refused, were added without their email; the first
    :data:`FIRST_NOTES` of each."""

    added: int
    duplicates: int
    refused: int
    first_duplicates: tuple[RowNote, ...]
    first_refused: tuple[RowNote, ...]
    emails_skipped: int = 0
    first_emails_skipped: tuple[RowNote, ...] = ()


#: ``every_note(kind, note)``: called for every duplicate, refused row and email left out, in line order.
NoteSink = Callable[[Kind, RowNote], None]

#: A row as staged: line, label (how a duplicate note names it, when not by its name), name, url, notes,
#: email, why its email is left out (not one), problem. ``url`` is None when the link itself is refused;
#: ``problem`` is None for a row that can be added.
_Staged = tuple[int, str | None, str | None, str | None, str | None, str | None, str | None, str | None]


def import_leads_csv(
    session: Session,
    *,
    user: User,
    data: bytes | BinaryIO,
    channel: Channel,
    every_note: NoteSink | None = None,
) -> ImportReport:
    """Add a lead, with its OUTREACH action due the user's today, for each good row of ``data``.

    ``data`` is the file's content or a binary file open for reading, read as a stream: the size of a
    seekable one is checked first, any other (a pipe) is refused once it passes the limit as it is read.
    The header is checked before anything is written; a problem with the file as a whole (too large,
    not UTF-8, no known header) raises ValidationError and adds nobody.
    Flushes, never commits: the caller's unit of work is the one transaction (see the module docstring).
    """
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    _check_size(source)
    session.flush()  # the user's pending leads count as known links
    with closing(_decoded_lines(source)) as lines:
        rows = read_rows(lines)
        with session.begin_nested():  # a file found unreadable half-way undoes only this: nobody was added
            session.execute(_CREATE_STAGING)
            session.execute(_CREATE_ADDED)
            _copy(session, (_stage(row) for row in rows))
    now = utcnow()
    params = {"user_id": user.id, "now": now, "today": local_today(user.timezone, at=now), "channel": channel.value}
    added = rows_affected(session, _ADD_LEADS, params)
    if added >= ANALYZE_FROM:
        session.execute(text("ANALYZE leads (user_id)"))
    session.execute(_ADD_ACTIONS, params)
    if added >= ANALYZE_FROM:
        session.execute(text("ANALYZE actions (user_id)"))
    session.execute(_ADD_EVENTS, params)
    report = _read_notes(session, user_id=user.id, added=added, every_note=every_note)
    session.execute(_DROP_STAGING)
    return report


def check_file(source: BinaryIO) -> None:
    """Refuse the file as a whole as :func:`import_leads_csv` would (too large, not UTF-8 text, no
    header it knows), reading ``source`` to its end and then back to where it was, writing nothing:
    so a caller refuses such a file before it waits on anything else (``nbm leads import`` reads the
    user's calendar before an import that may make today's plan, and a refused file reads none).
    ``source`` must seek: :func:`rewindable` gives a pipe's content as a file that can."""
    start = source.tell()
    _check_size(source)
    with closing(_decoded_lines(source)) as lines:
        read_rows(lines)  # reads up to the header, refusing a file without one
        deque(lines, maxlen=0)  # and every line after it: one not UTF-8, even the last, refuses the file
    source.seek(start)


@contextmanager
def rewindable(source: BinaryIO) -> Iterator[BinaryIO]:
    """``source`` itself when it can seek, else its content copied into a temporary file that can, a
    stream past :data:`MAX_BYTES` refused as the import refuses it: a pipe (``/dev/stdin``, a process
    substitution) can be read only once, and :func:`check_file` reads the file before the import."""
    if source.seekable():
        yield source
        return
    with TemporaryFile() as copy:
        shutil.copyfileobj(_Capped(source), copy)
        copy.seek(0)
        yield copy


def _copy(session: Session, rows: Iterable[_Staged]) -> None:
    """Stream ``rows`` into the staging table with one COPY, as they are read.

    COPY goes to the driver directly, so SQLAlchemy's statement events do not see it: it is one
    statement more than they count, whatever the number of rows.
    """
    driver = session.connection().connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(_STAGE) as copy:
        for row in rows:
            copy.write_row(row)


_CREATE_STAGING = text("""
    CREATE TEMPORARY TABLE lead_import_rows (
      line integer NOT NULL,
      label text,
      name text,
      url text,
      notes text,
      email text,
      email_problem text,
      problem text,
      lead_id uuid NOT NULL DEFAULT gen_random_uuid()
    ) ON COMMIT DROP
""")

#: The leads this import added, and the ids of their actions.
_CREATE_ADDED = text("""
    CREATE TEMPORARY TABLE lead_import_added (
      lead_id uuid NOT NULL,
      action_id uuid NOT NULL DEFAULT gen_random_uuid()
    ) ON COMMIT DROP
""")

_DROP_STAGING = text("DROP TABLE pg_temp.lead_import_rows, pg_temp.lead_import_added")

_STAGE = "COPY lead_import_rows (line, label, name, url, notes, email, email_problem, problem) FROM STDIN"

#: The first good row of each link becomes a lead (with the id staged for it), unless the user has the
#: link already, with its email unless another lead has it or an earlier new lead takes it; ON CONFLICT
#: covers a lead with its link or email another transaction adds meanwhile. Inserting in link order
#: keeps two imports of overlapping files from deadlocking on each other's uncommitted links.
_ADD_LEADS = text("""
    WITH added AS (
      INSERT INTO leads (id, user_id, name, url, notes, email, status, created_at, updated_at)
      SELECT f.lead_id, :user_id, f.name, f.url, f.notes,
             CASE WHEN f.email_rank = 1 AND NOT EXISTS (
               SELECT FROM leads l WHERE l.user_id = :user_id AND l.email = f.email) THEN f.email END,
             'ACTIVE', :now, :now
      FROM (
        SELECT d.*, row_number() OVER (PARTITION BY d.email ORDER BY d.line) AS email_rank
        FROM (
          SELECT DISTINCT ON (url) lead_id, line, name, url, notes, email
          FROM lead_import_rows WHERE problem IS NULL
          ORDER BY url, line
        ) d
        WHERE NOT EXISTS (SELECT FROM leads l WHERE l.user_id = :user_id AND l.url = d.url)
      ) f
      ORDER BY f.url
      ON CONFLICT DO NOTHING
      RETURNING id
    )
    INSERT INTO lead_import_added (lead_id) SELECT id FROM added
""")

#: The actions and their events are separate statements, not data-modifying CTEs of the one above:
#: the policies check that an action's lead (and an event's action) is the user's, and a policy does
#: not see rows inserted by the same statement.
_ADD_ACTIONS = text("""
    INSERT INTO actions (id, user_id, person_id, action_type, state, due_date, origin, auto_created,
                         created_at, updated_at)
    SELECT action_id, :user_id, lead_id, 'OUTREACH', 'NEW', :today, 'LEAD_ADDED', true, :now, :now
    FROM lead_import_added
""")

_ADD_EVENTS = text("""
    INSERT INTO action_events (user_id, action_id, from_state, to_state, channel, created_at)
    SELECT :user_id, action_id, NULL, 'NEW', CAST(:channel AS event_channel), :now
    FROM lead_import_added
""")

#: Every row that did not become a lead, or became one without its email, in line order, with the lead
#: that has its link now (``known``), when a row of this file added that lead that row's line
#: (``first_line``), and for an email left out, the lead that has it and that lead's line in the file.
_NOTES = text("""
    SELECT s.line, coalesce(s.label, s.name) AS label, s.problem, l.name AS known, f.line AS first_line,
           l.id = s.lead_id AS added, s.email, s.email_problem, e.name AS email_known, fe.line AS email_line
    FROM lead_import_rows s
    LEFT JOIN leads l ON l.user_id = :user_id AND l.url = s.url
    LEFT JOIN lead_import_rows f ON f.lead_id = l.id
    LEFT JOIN leads e ON e.user_id = :user_id AND e.email = s.email AND e.id <> s.lead_id
    LEFT JOIN lead_import_rows fe ON fe.lead_id = e.id
    WHERE l.id IS NULL OR l.id <> s.lead_id OR s.email_problem IS NOT NULL OR s.email IS DISTINCT FROM l.email
    ORDER BY s.line
""")


def _read_notes(session: Session, *, user_id: uuid.UUID, added: int, every_note: NoteSink | None) -> ImportReport:
    """Sort every row that was not added into duplicates and refusals, and every lead added without its
    row's email (rules: the module docstring)."""
    counts: dict[Kind, int] = {"duplicate": 0, "refused": 0, "email skipped": 0}
    first: dict[Kind, list[RowNote]] = {"duplicate": [], "refused": [], "email skipped": []}
    result = session.execute(_NOTES, {"user_id": user_id}, execution_options={"yield_per": 2_000})
    try:
        for row in result:
            kind, note = _note(row)
            counts[kind] += 1
            if len(first[kind]) < FIRST_NOTES:
                first[kind].append(note)
            if every_note is not None:
                every_note(kind, note)
    finally:
        result.close()
    return ImportReport(added=added, duplicates=counts["duplicate"], refused=counts["refused"],
                        first_duplicates=tuple(first["duplicate"]), first_refused=tuple(first["refused"]),
                        emails_skipped=counts["email skipped"], first_emails_skipped=tuple(first["email skipped"]))


def _note(row: ResultRow[Any]) -> tuple[Kind, RowNote]:
    """A row of :data:`_NOTES` said. A lead added without its email says why. A row whose link the user
    had before (or that another transaction added meanwhile) is a duplicate of that lead, even when its
    name is bad, as it always was; a row whose link an earlier row of this file added is a duplicate of
    that line; any other row is refused with its problem."""
    line, label = row.line, row.label
    if row.added:
        why = (f"its email: {row.email_problem}" if row.email_problem else
               f"the email {row.email}: line {row.email_line} of this file has it" if row.email_line is not None else
               f"the email {row.email}: you already have {row.email_known} with it" if row.email_known is not None
               else f"the email {row.email}: another lead took it as the file was imported")
        return "email skipped", RowNote(line, f"{label}: added without {why}")
    if row.first_line is not None and row.first_line < line:
        return "duplicate", RowNote(line, f"{label}: line {row.first_line} of this file has the same link")
    if row.known is not None and row.first_line is None:
        return "duplicate", RowNote(line, f"{label}: you already have {row.known} with this link")
    return "refused", RowNote(line, row.problem or "this row was not added: your leads changed while it was "
                                                   "imported; import the file again")


def _stage(row: Row) -> _Staged:
    """Validate a row as the import always has: its link first (a link the user already has makes the
    row a duplicate whatever else is wrong with it), then its name, note and email as
    :func:`core.leads.add_lead` checks them (an email that is not one is left out, not the row)."""
    if row.problem:
        return row.line, "", None, None, None, None, None, row.problem
    try:
        url = validate_url(row.url)
    except ValidationError as error:
        return row.line, "", None, None, None, None, None, str(error)
    label = row.name or url
    try:
        name, notes = validate_name(row.name), check_text(row.notes, field="the note")
    except ValidationError as error:
        return row.line, label, None, url, None, None, None, str(error)
    try:
        return row.line, None, name, url, notes, validate_email(row.email), None, None
    except ValidationError as error:  # the lead is added without it (the module docstring)
        return row.line, None, name, url, notes, None, str(error), None


def _check_size(source: BinaryIO) -> None:
    """Refuse a file larger than :data:`MAX_BYTES` before reading it, saying its size, when its size can
    be known; a stream that cannot seek (a pipe, ``/dev/stdin``) is capped as it is read (:class:`_Capped`)."""
    if not source.seekable():
        return
    start = source.tell()
    size = source.seek(0, io.SEEK_END) - start
    source.seek(start)
    if size > MAX_BYTES:
        raise ValidationError(
            f"the file is {size / 1024 / 1024:.1f} MB; the limit is {MAX_BYTES // 1024 // 1024} MB, "
            "so split it into smaller files"
        )


class _Capped(io.RawIOBase):
    """``source`` as it is read, refused with a ValidationError once more than :data:`MAX_BYTES` have
    come: the cap of a stream whose size cannot be known first (and of a file that grows as it is read).
    Closing it leaves ``source`` open."""

    def __init__(self, source: BinaryIO) -> None:
        super().__init__()
        self._source = source
        self._left = MAX_BYTES

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        with memoryview(buffer) as into:
            data = self._source.read(len(into))
            self._left -= len(data)
            if self._left < 0:
                raise ValidationError(f"the file is over the limit of {MAX_BYTES // 1024 // 1024} MB, "
                                      "so split it into smaller files")
            into[: len(data)] = data
        return len(data)


def _decoded_lines(source: BinaryIO) -> Generator[str]:
    """The file's lines as text, line ends kept as csv wants them, or a ValidationError about the file.

    Read as a stream: a file found not to be UTF-8 on its last line is refused whole all the same, since
    nothing is written before the last line has been read.
    """
    lines = io.TextIOWrapper(io.BufferedReader(_Capped(source)), encoding="utf-8-sig", newline="")
    try:
        for line in lines:
            if "\x00" in line:  # also catches UTF-16 without a BOM, which decodes as UTF-8 with NULs
                raise ValidationError(_NOT_UTF8)
            yield line
    except UnicodeDecodeError:
        raise ValidationError(_NOT_UTF8) from None
    finally:
        if not lines.closed:
            lines.detach()  # the caller's file stays open: a wrapper closes what it wraps when it goes
