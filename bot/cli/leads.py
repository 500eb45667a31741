"""``nbm leads``: add, edit, list, import, snooze, unsnooze and archive leads."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from tempfile import SpooledTemporaryFile
from typing import IO

import click
from sqlalchemy.orm import Session

from bot.cli.common import (
    DATE,
    LEAD_HELP,
    acting_as_email,
    emit,
    json_option,
    lead_argument,
    lead_for,
    planning_as_email,
    user_option,
)
from bot.cli.output_files import OUTPUT_FILE, NotWritten, write_whole
from core.clock import local_today
from core.leads import LeadStatusChange, NewLead, check_new_lead, edit_lead, list_leads
from core.leads_import import ImportReport, Kind, NoteSink, RowNote, check_file, rewindable
from core.models import Channel, Lead, LeadStatus, User
from core.planner.replan import (
    add_lead_and_replan,
    archive_lead_and_replan,
    import_leads_and_replan,
    snooze_lead_and_replan,
    unsnooze_lead_and_replan,
)
from core.text import noun, short_date_from

#: How much of an import's report is kept in memory before it goes to a temporary file.
_NOTES_IN_MEMORY = 4 * 1024 * 1024
LEAD_EMAIL_HELP = "The lead's email address: a meeting they attend is found as a call (call detection)."


def lead_json(lead: Lead) -> dict[str, object]:
    return {"id": lead.id, "name": lead.name, "url": lead.url, "email": lead.email, "notes": lead.notes,
            "status": lead.status.value, "snooze_until": lead.snooze_until}


def _line(lead: Lead, *, today: date) -> str:
    """The lead on one line; a snoozed one says until when, with the year when that is months away."""
    status = "" if lead.status == LeadStatus.ACTIVE else f"  [{lead.status.value.lower()}" + (
        f" until {short_date_from(lead.snooze_until, today=today)}]" if lead.snooze_until else "]")
    email = f"  <{lead.email}>" if lead.email else ""
    return f"{lead.id}  {lead.name}  {lead.url}{email}{status}"


@click.group("leads")
def leads_group() -> None:
    """The people you follow up with."""


@leads_group.command("add")
@user_option
@click.argument("name")
@click.argument("url")
@click.option("--notes", help="Anything worth remembering about this lead.")
@click.option("--email", "lead_email", metavar="ADDRESS", help=LEAD_EMAIL_HELP)
@json_option
def add_command(email: str, name: str, url: str, notes: str | None, lead_email: str | None, as_json: bool) -> None:
    """Add a lead (an outreach action due today comes with it, and today's plan is refreshed to take it in)."""
    def check(session: Session, user: User) -> NewLead:  # a refused lead waits on no calendar
        return check_new_lead(session, user=user, name=name, url=url, notes=notes, email=lead_email)

    with planning_as_email(email, check=check) as (session, user, calendar):
        lead, _ = add_lead_and_replan(session, user=user, name=name, url=url, notes=notes, email=lead_email,
                                      channel=Channel.CLI, calendar=calendar)
        today = local_today(user.timezone)
    emit(as_json, lead_json(lead), lambda: f"added {_line(lead, today=today)}")


@leads_group.command("edit", epilog=LEAD_HELP)
@user_option
@lead_argument
@click.option("--name", help="A new name.")
@click.option("--url", help="A new link (https://, http:// or mailto:).")
@click.option("--notes", help="New notes (an empty string clears them).")
@click.option("--email", "lead_email", metavar="ADDRESS", help=LEAD_EMAIL_HELP + " An empty string clears it.")
@json_option
def edit_command(email: str, lead_ref: str, name: str | None, url: str | None, notes: str | None,
                 lead_email: str | None, as_json: bool) -> None:
    """Change a lead's name, link, notes or email; what is not given stays as it is."""
    if name is None and url is None and notes is None and lead_email is None:
        raise click.UsageError("give at least one of --name, --url, --notes or --email")
    with acting_as_email(email) as (session, user):
        lead = edit_lead(session, user=user, lead_id=lead_for(session, user, lead_ref).id, name=name, url=url,
                         notes=notes, email=lead_email)
        today = local_today(user.timezone)
    emit(as_json, lead_json(lead), lambda: f"saved {_line(lead, today=today)}")


@leads_group.command("list")
@user_option
@click.option("--status", type=click.Choice([s.value for s in LeadStatus], case_sensitive=False))
@json_option
def list_command(email: str, status: str | None, as_json: bool) -> None:
    """List leads, by name."""
    with acting_as_email(email) as (session, user):
        leads = list_leads(session, user=user, status=LeadStatus(status.upper()) if status else None)
        today = local_today(user.timezone)
    emit(as_json, [lead_json(lead) for lead in leads],
         lambda: "\n".join(_line(lead, today=today) for lead in leads) or "no leads yet: add one with `nbm leads add`")


@leads_group.command("import")
@user_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--report", "report_path", type=OUTPUT_FILE, metavar="PATH",
              help="Also write every duplicate and refused row and every email left out (line, outcome, message) "
                   "to this CSV file, once the import is done; an import that fails leaves the file as it was.")
@json_option
def import_command(email: str, file: Path, report_path: Path | None, as_json: bool) -> None:
    """Import a LinkedIn connections export or a name,url,notes CSV; bad rows are reported by line, and
    today's plan is refreshed once to take in the new leads' outreach.

    The whole file is one transaction: if the import fails, nothing is added, and running it again
    is safe (a link you already have is a duplicate, never added twice). Exits 1 when rows were
    refused (the other rows are imported) or when the --report file could not be written after all
    (the import stands), 2 when the file as a whole was refused (nothing is imported).
    """
    if report_path is not None and report_path.exists() and report_path.samefile(file):
        raise click.BadParameter(f"{report_path} is the file being imported, which the report would overwrite; "
                                 "name another file, e.g. refused.csv", param_hint="--report")
    # The notes wait in a temporary file until the import is committed: a report only ever describes
    # an import that happened, and one that fails leaves the file at --report untouched.
    unwritten: NotWritten | None = None
    with SpooledTemporaryFile(max_size=_NOTES_IN_MEMORY, mode="w+", newline="", encoding="utf-8") as notes:
        # A file refused whole waits on no calendar: check_file runs before one is read.
        with file.open("rb") as opened, rewindable(opened) as source, planning_as_email(
                email, check=lambda _session, _user: check_file(source)) as (session, user, calendar):
            report, _ = import_leads_and_replan(session, user=user, data=source, channel=Channel.CLI, calendar=calendar,
                                                every_note=_note_writer(notes) if report_path is not None else None)
        if report_path is not None:
            notes.seek(0)
            try:
                write_whole({report_path: notes})
            except NotWritten as exc:  # checked writable before the import, but the disk filled or the folder went
                unwritten = exc
    emit(as_json, _report_json(report), lambda: _report_text(report, None if unwritten else report_path))
    if unwritten is not None:
        click.echo(f"nbm: the import is done ({_counts(report)}), but its report {unwritten}. Import the same file "
                   "again with another --report to list its rows: nobody is added twice.", err=True)
        sys.exit(1)
    if report.refused:
        click.echo(f"nbm: {_count(report.refused, 'row')} refused, so this import is incomplete; every other row was "
                   "imported. Correct those lines and import the file again: rows already imported are "
                   "skipped as duplicates.", err=True)
        sys.exit(1)


def _note_writer(out: IO[str]) -> NoteSink:
    """Each note as a CSV row of ``out`` (line, outcome, message), under a header."""
    writer = csv.writer(out)
    writer.writerow(("line", "outcome", "message"))

    def write(kind: Kind, note: RowNote) -> None:
        writer.writerow((note.line, kind, note.message))

    return write


def _report_json(report: ImportReport) -> dict[str, object]:
    return {
        "added": report.added, "duplicates": report.duplicates, "refused": report.refused,
        "first_duplicates": [{"line": n.line, "message": n.message} for n in report.first_duplicates],
        "first_refused": [{"line": n.line, "message": n.message} for n in report.first_refused],
        "emails_skipped": report.emails_skipped,
        "first_emails_skipped": [{"line": n.line, "message": n.message} for n in report.first_emails_skipped],
    }


def _counts(report: ImportReport) -> str:
    return (f"imported {_count(report.added, 'lead')}, {report.duplicates:,} already there, "
            f"{_count(report.refused, 'row')} refused")


def _count(n: int, word: str) -> str:
    """``1 lead``, ``1,152 leads``: :func:`core.text.plural` with the thousands grouped, as a large import's are."""
    return f"{n:,} {noun(n, word)}"


def _report_text(report: ImportReport, report_path: Path | None) -> str:
    lines = [_counts(report)]
    if report.refused:
        shown = len(report.first_refused)
        lines.append("refused:" if shown == report.refused else f"refused (the first {shown} of {report.refused:,}):")
        lines += [f"  line {n.line}: {n.message}" for n in report.first_refused]
    if report.emails_skipped:  # a lead's email is how call detection finds its meetings
        shown = len(report.first_emails_skipped)
        lines.append(f"{_count(report.emails_skipped, 'lead')} added without their email"
                     + (":" if shown == report.emails_skipped else f" (the first {shown}):"))
        lines += [f"  line {n.line}: {n.message}" for n in report.first_emails_skipped]
    if report_path is not None:
        lines.append(f"every duplicate and refused row and every email left out is listed in {report_path}")
    elif report.refused > len(report.first_refused) or report.emails_skipped > len(report.first_emails_skipped):
        lines.append("--report PATH lists every refused row and email left out (running the same file again is "
                     "safe: nobody is added twice)")
    return "\n".join(lines)


@leads_group.command("snooze", epilog=LEAD_HELP)
@user_option
@lead_argument
@click.option("--until", "until", type=DATE, required=True, help="The date it comes back (YYYY-MM-DD).")
@json_option
def snooze_command(email: str, lead_ref: str, until: date, as_json: bool) -> None:
    """Snooze a lead until a date: its open actions leave today's plan now, and nothing is planned for it
    meanwhile."""
    with acting_as_email(email) as (session, user):
        result = snooze_lead_and_replan(session, user=user, lead_id=lead_for(session, user, lead_ref).id,
                                        until=until, channel=Channel.CLI)
        today = local_today(user.timezone)
    _answer(result, as_json, today=today, said="snoozed", unchanged="already snoozed")


def _status_command(name: str, change: Callable[..., LeadStatusChange], said: str, unchanged: str,
                    help_text: str) -> None:
    """A `nbm leads NAME --user EMAIL LEAD` command that applies one status change."""

    @leads_group.command(name, help=help_text, epilog=LEAD_HELP)
    @user_option
    @lead_argument
    @json_option
    def command(email: str, lead_ref: str, as_json: bool) -> None:
        with acting_as_email(email) as (session, user):
            result = change(session, user=user, lead_id=lead_for(session, user, lead_ref).id, channel=Channel.CLI)
            today = local_today(user.timezone)
        _answer(result, as_json, today=today, said=said, unchanged=unchanged)


def _answer(result: LeadStatusChange, as_json: bool, *, today: date, said: str, unchanged: str) -> None:
    """Say what the change did, or, for a repeat, that it changed nothing (``unchanged`` may name the
    lead as ``{name}``), as ``nbm mark`` does; ``--json`` carries ``changed``."""
    lead = result.lead
    head = said if result.changed else unchanged.format(name=lead.name)
    emit(as_json, {**lead_json(lead), "changed": result.changed}, lambda: f"{head}: {_line(lead, today=today)}")


_status_command("unsnooze", unsnooze_lead_and_replan, "active again", "{name} is not snoozed; nothing changed",
                "Bring a snoozed lead back now: today's plan is refreshed, so an action due for it can join.")
_status_command("archive", archive_lead_and_replan, "archived", "already archived",
                "Archive a lead (kept, never planned again): its open actions leave today's plan now.")
