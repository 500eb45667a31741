"""A log record is one line whatever text from outside it carries: a lead's name holding a line
break and a forged timestamp cannot start a line that reads as a record of its own."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from bot.cli import main
from tests.factories import make_lead, make_user

FORGED = "2026-11-28 07:00:00,000 ERROR nbm.slack: the database was dropped"


@pytest.fixture()
def nbm_logging() -> Iterator[None]:
    """Logging as every ``nbm`` process sets it up before its command runs (``nbm web``, ``nbm worker``…);
    the record factory it installs is put back afterwards."""
    before = logging.getLogRecordFactory()
    result = CliRunner().invoke(main, ["web", "--help"])
    assert result.exit_code == 0, result.output
    yield
    logging.setLogRecordFactory(before)


def test_a_lead_name_with_a_line_break_stays_on_its_records_line(
        nbm_logging: None, service: Session, caplog: pytest.LogCaptureFixture) -> None:
    user = make_user(service)
    lead = make_lead(service, user, name=f"Ann Lee\n{FORGED}")  # stored before names were checked
    log = logging.getLogger("nbm.test")
    with caplog.at_level(logging.DEBUG):
        log.info("planned an outreach to %s", lead.name)
        try:
            raise RuntimeError(f"could not plan {lead.name}")
        except RuntimeError:
            log.exception("planning failed")
    planned, failed = caplog.records
    assert planned.getMessage() == f"planned an outreach to Ann Lee\\n{FORGED}", "kept, escaped"
    assert "\n" not in failed.getMessage()
    lines = caplog.text.splitlines()
    assert not [line for line in lines if line.startswith(FORGED[:10])], caplog.text
    assert [line for line in lines if line.lstrip().startswith(FORGED)], "the traceback keeps it, indented"
