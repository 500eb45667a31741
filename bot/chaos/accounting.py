"""What the users were owed, what they received, and what went wrong: the run's verdict.

**Owed** (:mod:`bot.chaos.rule`): every (kind, user, channel, period) owed at some simulated instant
of the window, on the channels the user has on. **Received**: the messages in the sinks, each tied
to its delivery by the id the product puts in it (the email's ``Message-ID <nbm-<delivery id>@…>``,
the Slack message's metadata) and checked to have reached that delivery's user.

Each owed item ends as exactly one of:

* **sent**: at least one message in the sinks. More than one is a **duplicate** (counted per extra
  message, whatever their Message-IDs: the person saw two).
* **failed for good**: none, and the ledger says ``failed`` (a 5xx from the SMTP sink, or temporary
  failures that outlasted every retry): allowed, as README says, and listed with the reasons.
* **superseded in an outage**: none, not failed, and the next morning (or the week's end) came due
  before it was sent, which the catch-up rule allows, *provided* a fault hit a job that carried it
  (a worker killed while running it, a restart of Redis that wiped it, a PostgreSQL cut while it
  ran), or a job for it was still in RQ when the run ended (a retry waiting, a dead worker's job not
  yet noticed: late, not dropped). Superseded without any of these, it was simply dropped:
  **missed**.
* **missed**: none, not failed, and either still owed when the run ended (after the drain), or
  superseded without an outage.

Messages the rule did not owe (**unexpected**), messages whose delivery is not in the ledger and
messages that reached someone else (**misaddressed**) are faults too. A press is applied once when
its action went to the pressed state exactly once in ``action_events``.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import text

from bot.chaos.fake_slack import Posted
from bot.chaos.faults import KILLS, Fault, FaultKind, Key
from bot.chaos.presses import Press, events_to
from bot.chaos.rule import Owed, Profile, owed_items
from bot.chaos.smtp_sink import MailEvent
from core.db import unit_of_work
from core.text import plural

#: The delivery's id in an email's Message-ID (bot.email.messages.message_id_for).
MESSAGE_ID = re.compile(r"<nbm-([0-9a-f-]{36})@")
ItemKey = tuple[str, uuid.UUID, str, date]

_PROFILES = """
SELECT u.id, u.email, u.timezone, u.created_at, s.delivery_time, s.work_days,
       s.email_enabled AND s.email_unsubscribed_at IS NULL AS email_on, s.slack_enabled,
       (SELECT min(k.slack_user_id) FROM slack_user_links k WHERE k.user_id = u.id) AS slack_user_id
FROM users u JOIN user_settings s ON s.user_id = u.id
"""
_LEDGER = "SELECT id, user_id, kind::text, channel::text, period, status::text, attempts, last_error FROM deliveries"


@dataclass(frozen=True)
class LedgerRow:
    key: ItemKey
    status: str
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class Recipient:
    email: str
    slack_channel: str | None


@dataclass
class Outcomes:
    owed: int = 0
    owed_at_end: int = 0
    sent: int = 0
    messages: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    superseded: Counter[str] = field(default_factory=Counter)
    duplicates: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    strays: list[str] = field(default_factory=list)  # not in the ledger, or to someone else


@dataclass
class PressOutcomes:
    pressed: int = 0
    once: int = 0
    twice: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    requests: int = 0
    repeated: int = 0
    tries_again: int = 0
    answered: int = 0
    silent: int = 0
    http_failures: int = 0


def load_world() -> tuple[list[Profile], dict[uuid.UUID, Recipient], dict[uuid.UUID, LedgerRow]]:
    """The users as stored (what the rule needs, and where their messages should land) and the ledger."""
    profiles, recipients, ledger = [], {}, {}
    with unit_of_work(service=True) as session:
        for row in session.execute(text(_PROFILES)):
            channels = {"email"} if row.email_on else set()
            if row.slack_enabled and row.slack_user_id:
                channels.add("slack")
            profiles.append(Profile(row.id, row.timezone, row.created_at, row.delivery_time,
                                    frozenset(row.work_days), frozenset(channels)))
            recipients[row.id] = Recipient(row.email.lower(),
                                           f"D{row.slack_user_id}" if row.slack_user_id else None)
        for row in session.execute(text(_LEDGER)):
            ledger[row.id] = LedgerRow((row.kind, row.user_id, row.channel, row.period), row.status, row.attempts,
                                       row.last_error)
    return profiles, recipients, ledger


def received(mail: list[MailEvent], slack: list[Posted], ledger: dict[uuid.UUID, LedgerRow],
             recipients: dict[uuid.UUID, Recipient], outcomes: Outcomes, *, t0: float = 0.0
             ) -> dict[ItemKey, list[str]]:
    """The messages in the sinks by the delivery they belong to (strays noted in ``outcomes``), each
    described with when it arrived (seconds since ``t0``, ``time.monotonic()``)."""
    found: dict[ItemKey, list[str]] = defaultdict(list)

    def place(delivery_id: str, where: str, *, email: str | None = None, channel: str | None = None) -> None:
        row = ledger.get(uuid.UUID(delivery_id))
        if row is None:
            outcomes.strays.append(f"{where}: delivery {delivery_id} is not in the ledger")
            return
        recipient = recipients[row.key[1]]
        if (email is not None and email != recipient.email) or (channel is not None
                                                                 and channel != recipient.slack_channel):
            outcomes.strays.append(f"{where}: delivery {delivery_id} reached {email or channel}")
        found[row.key].append(where)

    for event in mail:
        match = MESSAGE_ID.search(event.message_id)
        if event.code == 250 and match:
            for address in event.recipients:
                place(match.group(1), f"email {event.message_id} at {event.at - t0:.1f} s", email=address)
    for message in slack:
        if message.delivery_id:
            place(message.delivery_id, f"slack {message.channel}:{message.ts} at {message.at - t0:.1f} s",
                  channel=message.channel)
    return found


def _describe(item: Owed | ItemKey) -> str:
    kind, user_id, channel, period = item.key if isinstance(item, Owed) else item
    return f"{kind} {period} on {channel} for user {user_id}"


def _job_key(item: Owed) -> Key:
    return (item.kind, str(item.user_id), item.channel, item.period.isoformat())


def _met_an_outage(item: Owed, *, faults: list[Fault], pending: frozenset[Key]) -> str | None:
    """Why a superseded item may legitimately have been dropped, or None if nothing explains it."""
    key = _job_key(item)
    if key in pending:
        return "a job for it was still in RQ at the end (late, not dropped)"
    hit = [f.kind for f in faults if key in f.keys]
    if any(kind in KILLS for kind in hit):
        return "a killed worker was running a job carrying it"
    if FaultKind.RESTART_REDIS in hit:
        return "a restart of Redis wiped a job carrying it"
    if FaultKind.CUT_POSTGRES in hit:
        return "a job carrying it was running when PostgreSQL was cut"
    return None


def account_deliveries(*, start: datetime, end: datetime, mail: list[MailEvent], slack: list[Posted],
                       faults: list[Fault], pending: frozenset[Key], t0: float) -> Outcomes:
    profiles, recipients, ledger = load_world()
    outcomes = Outcomes()
    found = received(mail, slack, ledger, recipients, outcomes, t0=t0)
    rows = {row.key: row for row in ledger.values()}
    owed = [item for profile in profiles for item in owed_items(profile, start=start, end=end)]
    outcomes.owed = len(owed)
    outcomes.messages = sum(len(v) for v in found.values())
    for item in owed:
        messages = found.get(item.key, [])
        row = rows.get(item.key)
        outcomes.owed_at_end += item.owed_at(end)
        if messages:
            outcomes.sent += 1
            if len(messages) > 1:
                tries = f"ledger: {row.attempts} attempts" if row else "no ledger row"
                faulted = _met_an_outage(item, faults=faults, pending=frozenset())
                cause = "after a fault hit a job carrying it" if faulted else "no fault hit its jobs"
                outcomes.duplicates.append(f"{_describe(item)}: {len(messages)} messages ({tries}; {cause}; "
                                           f"{', '.join(messages)})")
        elif row is not None and row.status == "failed":
            outcomes.failed["refused for good (5xx)" if "554" in (row.last_error or "")
                            else f"failed for good: {(row.last_error or '?')[:90]}"] += 1
        elif item.owed_at(end):
            state = f"ledger {row.status}, {plural(row.attempts, 'attempt')}" if row else "no ledger row"
            outcomes.missed.append(f"{_describe(item)}: still owed at the end ({state})")
        else:
            reason = _met_an_outage(item, faults=faults, pending=pending)
            if reason:
                outcomes.superseded[reason] += 1
            else:
                state = f"ledger {row.status}, {plural(row.attempts, 'attempt')}" if row else "no ledger row"
                outcomes.missed.append(f"{_describe(item)}: superseded with no outage ({state}; owed "
                                       f"{item.opens:%m-%d %H:%M}–{item.closes:%m-%d %H:%M} UTC)")
    owed_keys = {item.key for item in owed}
    outcomes.unexpected = [f"{_describe(key)}: {', '.join(where)}" for key, where in found.items()
                           if key not in owed_keys]
    return outcomes


def account_presses(presses: list[Press]) -> PressOutcomes:
    outcomes = PressOutcomes(pressed=len(presses))
    for press in presses:
        applied = events_to(press.action_id, press.state)
        what = f"press {press.number}: {press.state.value} on action {press.action_id}"
        if applied == 1:
            outcomes.once += 1
        elif applied > 1:
            outcomes.twice.append(f"{what} applied {applied} times")
        else:
            outcomes.lost.append(f"{what} never applied after {press.tries} tries "
                                 f"(answers: {'; '.join(press.replies[-2:]) or 'none'})")
        outcomes.requests += press.requests
        outcomes.repeated += press.repeats > 0
        outcomes.tries_again += press.tries > 1
        outcomes.answered += press.answered
        outcomes.silent += press.silent
        outcomes.http_failures += press.http_failures
    return outcomes


def fault_summary(faults: list[Fault]) -> str:
    counts = Counter(f.kind for f in faults)
    carried = sum(1 for f in faults if f.kind in KILLS and f.keys)
    parts = [f"{counts[kind]}x {kind.value}" for kind in FaultKind if counts[kind]]
    return ", ".join(parts) + (f" ({carried} kills hit a job carrying deliveries)" if carried else "")
