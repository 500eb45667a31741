"""`nbm leads import` keeps a LinkedIn export's "Email Address" as the lead's email (call detection
finds a lead's meetings by it), checked as `--email` is, and says which leads were added without it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sqlalchemy.orm import Session

from core.models import User
from tests.cli import nbm
from tests.factories import make_lead
from tests.test_leads_import_cli import LINKEDIN_HEADER, clock, import_file, user  # noqa: F401  (fixtures)


def test_emails_are_kept_and_each_one_left_out_is_said_by_line(
    service: Session, user: User, tmp_path: Path  # noqa: F811
) -> None:
    make_lead(service, user, name="Bea Stone", url="https://www.linkedin.com/in/bea", email="bea@acme.io")
    path = tmp_path / "Connections.csv"
    path.write_text(
        f"{LINKEDIN_HEADER}\n"
        "Ann,Lee,https://www.linkedin.com/in/ann,Ann@Acme.io,Acme,CTO,12 Nov 2026\n"  # line 2: kept, lower case
        "Bob,Ray,https://www.linkedin.com/in/bob,bea@acme.io,,,12 Nov 2026\n"  # Bea has it
        "Cy,Doe,https://www.linkedin.com/in/cy,ann@acme.io,,,12 Nov 2026\n"  # line 2 has it
        "Dee,Fox,https://www.linkedin.com/in/dee,not-an-email,,,12 Nov 2026\n"
        "Eve,Li,,eve@li.io,,,12 Nov 2026\n"  # no profile URL: a mailto: lead, with its email
        "Fay,Wu,,fay,,,12 Nov 2026\n")  # no profile URL and no email address: no link
    result = import_file(user, path)

    assert result.exit_code == 1
    assert result.stdout == (
        "imported 5 leads, 0 already there, 1 row refused\n"
        "refused:\n"
        "  line 7: 'mailto:fay' has no valid email address after mailto:; a mail link is one address, like "
        "mailto:ann@example.com (a ?subject=… after it is kept)\n"
        "3 leads added without their email:\n"
        "  line 3: Bob Ray: added without the email bea@acme.io: you already have Bea Stone with it\n"
        "  line 4: Cy Doe: added without the email ann@acme.io: line 2 of this file has it\n"
        "  line 5: Dee Fox: added without its email: 'not-an-email' is not an email address; one looks like "
        "ann@example.com\n")
    leads = json.loads(nbm("leads", "list", "--user", user.email, "--json").output)
    assert sorted((lead["name"], lead["url"], lead["email"]) for lead in leads) == [
        ("Ann Lee", "https://www.linkedin.com/in/ann", "ann@acme.io"),
        ("Bea Stone", "https://www.linkedin.com/in/bea", "bea@acme.io"),
        ("Bob Ray", "https://www.linkedin.com/in/bob", None),
        ("Cy Doe", "https://www.linkedin.com/in/cy", None),
        ("Dee Fox", "https://www.linkedin.com/in/dee", None),
        ("Eve Li", "mailto:eve@li.io", "eve@li.io"),
    ]


def test_the_report_file_lists_every_email_left_out(service: Session, user: User, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "Connections.csv"
    path.write_text(f"{LINKEDIN_HEADER}\n"
                    "Ann,Lee,https://www.linkedin.com/in/ann,ann@acme.io,,,12 Nov 2026\n"
                    "Cy,Doe,https://www.linkedin.com/in/cy,ANN@acme.io,,,12 Nov 2026\n")
    report = tmp_path / "report.csv"
    result = import_file(user, path, "--report", str(report), "--json")

    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert (answer["added"], answer["emails_skipped"]) == (2, 1)
    with report.open(newline="", encoding="utf-8") as written:
        assert list(csv.reader(written)) == [
            ["line", "outcome", "message"],
            ["3", "email skipped", "Cy Doe: added without the email ann@acme.io: line 2 of this file has it"]]
