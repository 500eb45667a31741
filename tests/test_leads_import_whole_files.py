"""`nbm leads import` of a file from a pipe (which cannot seek), and of a file refused as a whole:
exit 2, nobody added, no calendar read, no plan made."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import leads_import
from core.calendars.service import connect_ics
from core.models import DailyPlan, User
from tests.calendars.feeds import REQUESTED
from tests.cli import nbm
from tests.test_leads_import_cli import clock, counts, import_file, user  # noqa: F401  (fixtures)


@contextmanager
def piped(data: bytes) -> Iterator[str]:
    """A path that reads ``data`` from a pipe, as ``/dev/stdin`` does under ``cat x.csv |``, or a process
    substitution ``<(…)``: it cannot seek. A thread writes it (a pipe holds 64 KB), and stops when the
    reader has closed its end without reading it all."""
    read, write = os.pipe()

    def feed() -> None:
        try:
            with os.fdopen(write, "wb") as writer:
                writer.write(data)
        except BrokenPipeError:
            pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        yield f"/dev/fd/{read}"
    finally:
        os.close(read)
        feeder.join(timeout=30)


def test_a_file_from_a_pipe_is_imported(service: Session, user: User) -> None:  # noqa: F811
    """It crashed with "OSError: Illegal seek" and a traceback: the size was checked by seeking."""
    with piped(b"name,url,notes\nAnn Lee,https://a.io/ann,met at a fair\nBo Chen,https://b.io/bo,\n") as source:
        result = nbm("leads", "import", "--user", user.email, source)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["imported 2 leads, 0 already there, 0 rows refused"]
    assert counts(service, user) == (2, 2, 2)


def test_a_pipe_longer_than_the_limit_is_refused_whole(
    service: Session, user: User, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    monkeypatch.setattr(leads_import, "MAX_BYTES", 1024 * 1024)  # the rule, without piping 32 MB
    head = b"name,url\nAnn,https://a.io/ann\n"
    with piped(head + b"\n" * (1024 * 1024 - len(head))) as source:  # exactly the limit: read
        assert nbm("leads", "import", "--user", user.email, source).exit_code == 0
    with piped(b"name,url\nBo,https://b.io/bo\n" + b"\n" * (1024 * 1024)) as source:  # a byte more
        result = nbm("leads", "import", "--user", user.email, source)

    assert result.exit_code == 2, result.output
    assert "the file is over the limit of 1 MB, so split it into smaller files" in result.stderr
    assert "Traceback" not in result.output
    assert counts(service, user) == (1, 1, 1)  # Ann, from the first: Bo's file added nobody


#: Files refused as a whole, each with what its refusal says.
REFUSED_WHOLE = {
    "empty": (b"", "this file is empty: it has no header and no rows; use a LinkedIn connections export"),
    "blank lines only": (b"\xef\xbb\xbf\r\n  \r\n,,\r\n", "this file is empty: it has no header and no rows; use a"),
    "another header": (b"who,where\nAnn,https://a.io/ann\n", "this file's header is not one the import knows"),
    "not text": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "the file is not UTF-8 text"),
    "not UTF-8 on its last line": (b"name,url\n" + b"".join(f"Lead {n},https://x.io/{n}\n".encode() for n in range(
        3_000)) + "José,https://j.io/jose\n".encode("latin-1"), "the file is not UTF-8 text"),
}


@pytest.mark.parametrize("piped_in", [False, True], ids=["file", "pipe"])
@pytest.mark.parametrize("name", sorted(REFUSED_WHOLE))
def test_a_file_refused_whole_reads_no_calendar_makes_no_plan_and_adds_nobody(
    service: Session, user: User, tmp_path: Path, server: str, name: str, piped_in: bool  # noqa: F811
) -> None:
    """An import that may make today's plan reads the calendar first, to size it; it read it before it
    refused the file, which a calendar cannot make acceptable: seconds of waiting and a read logged
    for an import that changed nothing (core.leads_import.check_file now comes first)."""
    connect_ics(service, user=user, url=f"{server}/cal/weekly.ics")
    data, said = REFUSED_WHOLE[name]
    read_before = len(REQUESTED)

    if piped_in:
        with piped(data) as source:
            result = nbm("leads", "import", "--user", user.email, source)
    else:
        (path := tmp_path / "leads.csv").write_bytes(data)
        result = import_file(user, path)

    assert result.exit_code == 2, result.output
    assert said in result.output
    assert len(REQUESTED) == read_before
    assert counts(service, user) == (0, 0, 0)
    assert service.scalars(select(DailyPlan)).all() == []
    (path := tmp_path / "good.csv").write_bytes(b"name,url\nAnn Lee,https://a.io/ann\n")
    assert import_file(user, path).exit_code == 0  # a file it takes: the calendar sizes today's plan
    assert len(REQUESTED) > read_before
    assert counts(service, user) == (1, 1, 1)
