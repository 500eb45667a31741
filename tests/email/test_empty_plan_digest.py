"""The digest of a plan with nothing due asks for a lead only from a user with no active lead
(core.planner.nothing_due), as `nbm plan` and Slack do: `nbm digest preview`, the digest as sent."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine

from tests.cli import nbm_ok
from tests.email.conftest import NOON

pytestmark = pytest.mark.usefixtures("email_settings", "connection")
ZOE = "zoe@example.com"
THURSDAY = NOON + timedelta(days=1)


def digest_text(tmp_path: Path) -> str:
    with time_machine.travel(THURSDAY, tick=False):
        nbm_ok("digest", "preview", "--user", ZOE, "--out", str(tmp_path / "digest.html"))
    return (tmp_path / "digest.txt").read_text()


def test_an_empty_digest_asks_for_a_lead_only_without_an_active_one(tmp_path: Path) -> None:
    with time_machine.travel(NOON, tick=False):  # Wed 25 Nov: a lead, messaged at once
        nbm_ok("users", "add", ZOE, "--name", "Zoe", "--tz", "Europe/London")
        lead = json.loads(nbm_ok("leads", "add", "--user", ZOE, "Priya Raman", "https://x.io/priya", "--json").output)
        (outreach,) = json.loads(nbm_ok("actions", "list", "--user", ZOE, "--json").output)
        nbm_ok("mark", "--user", ZOE, outreach["id"], "sent")  # its follow-up is due on Mon 30 Nov
    with_lead = digest_text(tmp_path)
    assert "Nothing is due for Thu 26 Nov. Enjoy a clear day." in with_lead and "add a lead" not in with_lead
    with time_machine.travel(THURSDAY, tick=False):
        nbm_ok("leads", "archive", "--user", ZOE, lead["id"])
    assert ("Nothing is due for Thu 26 Nov. Enjoy a clear day, or add a lead to start your next day with a move."
            in digest_text(tmp_path))
