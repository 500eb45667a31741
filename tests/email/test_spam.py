"""A spam filter's verdict on a real digest and a real weekly summary: nothing the product controls fires.

Debian's SpamAssassin scores the exact bytes the outbox wrote after the real send path built them.
``-L`` keeps it to local tests (no DNS blocklists, no SPF or DKIM lookups): the verdict does not
depend on the network, and what is left is what the message itself says. Every rule it reports must
be in :data:`NOT_OURS`, each with the reason the product cannot avoid it; anything else (hidden text
in the background colour, words run together by markup, a malformed header) is ours to fix.

Like the browser tests: under CI (``CI`` set) a missing ``spamassassin`` is a failure, elsewhere a skip.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import date
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from bot.email.backends import get_backend
from core.actions.service import change_state
from core.models import ActionState, Channel
from tests.email.pages import make_world
from tests.email.sending import mail_digest, mail_summary
from tests.factories import JOINED

pytestmark = pytest.mark.usefixtures("email_settings", "clock", "connection")

SPAMASSASSIN = "/usr/bin/spamassassin"
LAST_MONDAY = date(2026, 11, 16)

#: Rules that fire on these messages whatever the product does, and why.
NOT_OURS = {
    "NO_RECEIVED": "the test reads the message from the outbox file; on its way to a mailbox each relay adds a "
                   "Received header",
    "NO_RELAYS": "the same: the message never crossed an SMTP relay, so SpamAssassin has no relay to judge",
    "HTML_MESSAGE": "informational (0 points) on every email with an HTML part, and the digest's buttons need one",
}


@pytest.fixture()
def spamassassin() -> str:
    if not shutil.which(SPAMASSASSIN):
        missing = "needs Debian's spamassassin (apt-get install spamassassin)"
        if os.environ.get("CI"):  # .ci/run installs it: missing there is a failure, not a skip
            pytest.fail(missing)
        pytest.skip(missing)
    return SPAMASSASSIN


def rules_hit(raw: bytes, *, home: Path) -> tuple[set[str], str]:
    """The rules ``spamassassin -L -t`` reports for ``raw``, and its report (to show when the test fails).

    ``HOME`` is the test's own: SpamAssassin writes a user_prefs file (and could write a Bayes database)
    there.
    """
    checked = subprocess.run([SPAMASSASSIN, "-L", "-t"], input=raw, capture_output=True, check=True, timeout=100,
                             env={**os.environ, "HOME": str(home)})
    status = " ".join(str(BytesParser(policy=policy.default).parsebytes(checked.stdout)["X-Spam-Status"]).split())
    names = re.search(r"\btests=(\S+)", re.sub(r",\s+", ",", status))
    assert names, f"no tests= in X-Spam-Status: {status!r}"
    report = checked.stdout.decode(errors="replace").partition("Content analysis details:")[2]
    return set(names.group(1).split(",")) - {"none"}, report


def test_a_real_digest_and_weekly_summary_trip_no_spam_rule_the_product_controls(
    service: Session, spamassassin: str, tmp_path: Path
) -> None:
    world = make_world(service, names=("Ann Lee", "Bo Chen", "Cy Dee", "Di Eve", "Ed Fox"), email="zoe@example.com",
                       name="Zoe Quinn", streak_count=3, last_action_date=date(2026, 11, 24), created_at=JOINED)
    # One action sent earlier today: the digest shows a settled item and someone waiting for a reply.
    change_state(service, user=world.user, action_id=world.actions[0].id, to=ActionState.SENT, channel=Channel.CLI)
    mail_digest(world.user.id)
    mail_summary(world.user.id, LAST_MONDAY)
    files = sorted(get_backend().directory.glob("*.eml"))
    assert len(files) == 2

    problems = []
    for file in files:
        raw = file.read_bytes()
        hit, report = rules_hit(raw, home=tmp_path)
        if hit - NOT_OURS.keys():
            subject = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)["Subject"]
            problems.append(f"{subject!r} hits {sorted(hit - NOT_OURS.keys())}:{report}")
    assert not problems, "\n".join(problems)
