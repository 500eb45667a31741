"""One try of each of several deliveries: claimed and composed together, then each sent under its hold.

The ledger (``deliveries``) is written around every send, so that a delivery is sent once whatever
crashes: *before* it, the claim (pending, attempts + 1, and a **lease**); *after* it, the record
(sent, with the external id).

**Claimed and composed in one unit of work.** A chunk's deliveries are claimed in one statement
(:func:`_claim_all`), and each one to send is composed in the same unit of work, in its user's own
row-level security context (the context narrows from the service to each user in turn, as a Slack
request narrows to whoever presses): the plan or summary is built if missing, the message written.
That unit commits before anything is sent, so a lease is stored before its send and a plan is never
mailed unless it was stored. One unit of work for the chunk replaces a claim, and a composition, per
delivery (``nbm bench morning``). Should that unit fail (a plan built by two jobs at once), each
delivery is claimed and composed alone, so one user's trouble is never the chunk's.

**The lease.** The claim's upsert creates the row pending, or counts the attempt and takes the lease
(``sending_since``), unless the delivery was sent or another job holds a lease that has not lapsed
(``SEND_LEASE_SECONDS``). The lease is committed before the send and cleared when the send or its
failure is recorded, so no second job sends the delivery meanwhile, even when the first one's
database connection is cut mid-send (a row lock would go with it). A job that dies mid-send leaves
its lease: the delivery is tried again once it lapses ("late rather than never").

**The hold.** Each send happens in a unit of work of its own, holding the delivery's row lock
(:func:`_hold`), and is recorded in it: the lock orders a job whose lease lapsed while it was still
sending (a very slow mail server) before the next one, which then finds the delivery sent.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from rq.timeouts import BaseTimeoutException
from sqlalchemy import bindparam, select, text, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.config import get_settings
from core.db import rows_affected, set_context, unit_of_work
from core.errors import NbmError
from core.jobs.channels import PermanentDeliveryError, Send, TemporaryDeliveryError, sender_for
from core.models import Channel, Delivery, DeliveryKind, DeliveryStatus

log = logging.getLogger(__name__)

#: One delivery as jobs carry it: (channel, user id, period), strings (RQ pickles job arguments).
Target = tuple[str, str, str]


@dataclass
class Attempt:
    """One delivery's try, claimed and composed: :meth:`run` sends it, or says why there is nothing to send.

    Exactly one of ``settled`` (nothing to do: already sent, or another job is sending it), ``error``
    (composing failed; ``delivery_id`` is None when even the claim did not hold) and ``send`` is set.
    """

    target: Target
    delivery_id: uuid.UUID | None
    settled: str | None = None
    error: Exception | None = None
    send: Send | None = None

    def run(self, *, last_try: bool) -> str:
        """Send under the delivery's hold and record it; what happened, for RQ's result. A failure is
        recorded (for good when it is permanent, or if ``last_try``: the lease is cleared) and raised."""
        if self.settled is not None:
            return self.settled
        if self.error is not None:
            if self.delivery_id is not None:
                _record_failure(self.delivery_id, self.error, last_try=last_try)
            raise self.error
        assert self.send is not None and self.delivery_id is not None
        external_id: str | None = None
        try:
            with unit_of_work(service=True) as session:
                sent_as = _hold(session, self.delivery_id)
                if sent_as is not None:
                    return f"already sent ({sent_as})"
                external_id = self.send()
                _record_sent(session, self.delivery_id, external_id)
        except Exception as exc:
            if external_id is not None:  # sent, but the record went with the connection: record it afresh
                with unit_of_work(service=True) as session:  # (if the database is still away, the lease stays)
                    _record_sent(session, self.delivery_id, external_id)
                return f"sent ({external_id})"
            _record_failure(self.delivery_id, exc, last_try=last_try)
            raise
        return f"sent ({external_id})"

    def release(self) -> None:
        """Give the claim back untried (the chunk leaves the delivery to its own job): the attempt is
        not counted and the lease is cleared, so that job may claim it at once. An attempt settled
        without a claim of its own (sent, or another job's) has nothing to give back."""
        if self.settled is not None or self.delivery_id is None:
            return
        with unit_of_work(service=True) as session:
            rows_affected(session, _RELEASE, {"delivery_id": self.delivery_id})


def claim_and_compose(kind: DeliveryKind, targets: Sequence[Target]) -> list[Attempt]:
    """Claim ``targets`` (distinct) and compose each one to send, in one unit of work; their attempts,
    in the order of ``targets``. Never raises for a delivery: one whose unit of work failed (even alone)
    carries the error, which its :meth:`Attempt.run` raises."""
    if not targets:
        return []
    try:
        with unit_of_work(service=True) as session:
            return [_composed(session, kind, target, claim) for target, claim in _claim_all(session, kind, targets)]
    except BaseTimeoutException:
        raise
    except Exception as exc:
        if len(targets) == 1:  # nothing was claimed: the next try claims afresh
            return [Attempt(targets[0], None, error=exc)]
        log.warning("claiming and composing %d deliveries together failed; each is tried alone", len(targets),
                    exc_info=True)
        return [attempt for target in targets for attempt in claim_and_compose(kind, [target])]


@dataclass(frozen=True)
class _Claim:
    delivery_id: uuid.UUID
    sent_as: str | None = None
    busy_since: str | None = None  # when another job claimed it, if one holds its lease now


def _composed(session: Session, kind: DeliveryKind, target: Target, claim: _Claim) -> Attempt:
    """The attempt of one claimed delivery, composed in its user's context when it is to be sent."""
    if claim.sent_as is not None:
        return Attempt(target, claim.delivery_id, settled=f"already sent ({claim.sent_as})")
    if claim.busy_since is not None:
        return Attempt(target, claim.delivery_id, settled=f"being sent by another job (claimed {claim.busy_since})")
    channel, user_id, period = target
    session.flush()  # what the previous user's composition wrote is written in their context
    set_context(session, user_id=uuid.UUID(user_id))
    try:
        send = sender_for(kind, Channel(channel))(session, user_id=uuid.UUID(user_id),
                                                   period=date.fromisoformat(period), delivery_id=claim.delivery_id)
    except (PermanentDeliveryError, TemporaryDeliveryError) as exc:
        return Attempt(target, claim.delivery_id, error=exc)
    except NbmError as refused:
        # The core refused to compose it (service ended since the tick, a week before the user joined,
        # a message that cannot be built): about the data, which a retry in minutes will not change.
        # Failed for good, this delivery alone: the others of its chunk go on.
        error = PermanentDeliveryError(str(refused))
        error.__cause__ = refused  # what the core said, for a caller that answers it its own way (the CLI)
        return Attempt(target, claim.delivery_id, error=error)
    return Attempt(target, claim.delivery_id, send=send)


#: The claim of several deliveries (see the module's docstring), in a fixed order (user, channel,
#: period) so that two jobs claiming some of the same deliveries lock their rows in the same order.
_CLAIM_ALL = text("""
    INSERT INTO deliveries (user_id, kind, channel, period, status, attempts, sending_since)
    SELECT t.user_id, CAST(:kind AS delivery_kind), t.channel, t.period, 'pending', 1, :now
    FROM unnest(CAST(:users AS uuid[]), CAST(:channels AS event_channel[]), CAST(:periods AS date[]))
      AS t (user_id, channel, period)
    ORDER BY t.user_id, t.channel, t.period
    ON CONFLICT (user_id, kind, channel, period) DO UPDATE
      SET attempts = deliveries.attempts + 1, status = 'pending', sending_since = :now
      WHERE deliveries.status <> 'sent'
        AND (deliveries.sending_since IS NULL OR deliveries.sending_since < :lapsed_before)
    RETURNING id, user_id, channel::text, period
""")
#: The ledger rows of deliveries the claim did not take: sent, or leased to another job.
_NOT_CLAIMED = text("""
    SELECT d.id, d.user_id, d.channel::text, d.period, d.status = 'sent', d.external_id, d.sending_since
    FROM deliveries d
    WHERE d.kind = CAST(:kind AS delivery_kind) AND (d.user_id, d.channel, d.period) IN (
      SELECT * FROM unnest(CAST(:users AS uuid[]), CAST(:channels AS event_channel[]), CAST(:periods AS date[])))
""")


def _claim_all(session: Session, kind: DeliveryKind, targets: Sequence[Target]) -> list[tuple[Target, _Claim]]:
    """Claim every target before sending (module docstring): one statement, and one more to read the
    rows of those it could not claim."""
    if len(set(targets)) != len(targets):
        raise ValueError("a delivery appears twice among the targets")
    now = utcnow()
    columns = {"kind": kind.value, "channels": [t[0] for t in targets], "users": [t[1] for t in targets],
               "periods": [date.fromisoformat(t[2]) for t in targets]}
    claims: dict[Target, _Claim] = {
        (channel, str(user_id), period.isoformat()): _Claim(delivery_id)
        for delivery_id, user_id, channel, period in session.execute(_CLAIM_ALL, {
            **columns, "now": now, "lapsed_before": now - timedelta(seconds=get_settings().send_lease_seconds)})
    }
    if len(claims) < len(targets):
        for delivery_id, user_id, channel, period, sent, external_id, since in session.execute(_NOT_CLAIMED, columns):
            claims.setdefault((channel, str(user_id), period.isoformat()), _Claim(
                delivery_id, sent_as=(external_id or "") if sent else None,
                busy_since=None if sent else f"{since:%Y-%m-%d %H:%M:%S} UTC"))
    return [(target, claims[target]) for target in targets]


def _hold(session: Session, delivery_id: uuid.UUID) -> str | None:
    """Lock the delivery's row for the send, which happens while it is held: None when it is still to
    be sent, else the external id it was sent as."""
    row = session.execute(select(Delivery.status, Delivery.external_id).where(Delivery.id == delivery_id)
                          .with_for_update()).one()
    return (row.external_id or "") if row.status == DeliveryStatus.SENT else None


#: The ledger's writes around every send, built once (building them cost more than running them).
_RECORD_SENT = update(Delivery).where(Delivery.id == bindparam("delivery_id")).values(
    status=DeliveryStatus.SENT, external_id=bindparam("external_id"), sent_at=bindparam("sent_at"), last_error=None,
    sending_since=None)
_RELEASE = update(Delivery).where(Delivery.id == bindparam("delivery_id"), Delivery.status != DeliveryStatus.SENT
                                  ).values(attempts=Delivery.attempts - 1, sending_since=None)


def _record_sent(session: Session, delivery_id: uuid.UUID, external_id: str) -> None:
    recorded = rows_affected(session, _RECORD_SENT, {"delivery_id": delivery_id, "external_id": external_id,
                                                     "sent_at": utcnow()})
    assert recorded == 1, f"delivery {delivery_id} vanished while it was being sent"


def _record_failure(delivery_id: uuid.UUID, error: Exception, *, last_try: bool) -> None:
    """The try is over: its error is noted and the lease cleared (the next try need not wait for it);
    the delivery failed for good when the error is permanent or this was the last try."""
    final = isinstance(error, PermanentDeliveryError) or last_try
    reason = f"{type(error).__name__}: {error}"
    with unit_of_work(service=True) as session:
        delivery = session.get(Delivery, delivery_id, with_for_update=True)
        if delivery is not None and delivery.status != DeliveryStatus.SENT:
            delivery.last_error = reason[:2000]
            delivery.sending_since = None
            if final:
                delivery.status = DeliveryStatus.FAILED
    log.warning("delivery %s failed%s: %s", delivery_id, " for good" if final else ", will retry", reason)
