"""Leads: the people a user follows up with, their link, and whether they are planned (PRODUCT.md, "Leads").

Rules chosen where the specification is silent:

* **One lead per link.** Links are normalised lightly (scheme and host in lower case, no trailing
  slash on a web path, no surrounding spaces) so ``HTTPS://LinkedIn.com/in/ann/`` and
  ``https://linkedin.com/in/ann`` are the same lead; adding it twice names the lead that already has it.
* **Status changes are idempotent.** Snoozing to the same date, unsnoozing an active lead or archiving an
  archived one changes nothing and answers with the lead as it is, ``changed`` False (a double click is
  not an error, and each channel says "already …" rather than claiming a change, as a repeated mark
  does). Snoozing a snoozed lead to another date moves the date. An archived lead cannot be snoozed or
  unsnoozed.
* **Archiving leaves the lead's actions alone**: the planner only plans actions of ACTIVE leads, and
  the channels change a lead's status through :mod:`core.planner.replan`, which takes the lead's open
  actions out of today's plan at once (or lets an unsnoozed lead's due action back in).
* **A lead's name follows the rule of every name** (core.names): one line, no control characters;
  a name breaking it is refused, saying what is accepted.
* **A lead's email** (optional) is how call detection recognises the lead among a meeting's guests
  (a ``mailto:`` lead is recognised by its link already). It is stored in lower case, and two of a
  user's leads cannot share one: the second is refused naming the first.
* **Finding a lead by what a person typed** (a name or a link) is :mod:`core.lead_lookup`'s.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.actions.records import check_text, create_action
from core.actions.snooze import check_snooze_until
from core.clock import local_today
from core.errors import InvalidTransition, NotFound, ValidationError
from core.models import ActionOrigin, ActionType, Channel, Lead, LeadStatus, User
from core.names import validate_name
from core.text import shortened_link

MAX_URL = 2_000
ACCEPTED = "only https://, http:// and mailto: links are accepted"
#: The schemes a lead's link may have; a reference starting with one is a link (core.lead_lookup).
SCHEMES = ("https", "http", "mailto")
_URL_UNIQUE = "leads_user_id_url_key"
_EMAIL_UNIQUE = "leads_user_id_email_key"
MAX_EMAIL = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")


@dataclass(frozen=True)
class LeadStatusChange:
    """The lead after a status change was asked; ``changed`` False when it already had that status."""

    lead: Lead
    changed: bool


class DuplicateLead(ValidationError):
    """The user already has a lead with this link (or email); ``existing`` is that lead."""

    def __init__(self, existing: Lead, *, by_email: bool = False) -> None:
        what = f"the email {existing.email}" if by_email else f"the link {existing.url}"
        super().__init__(f"you already have {existing.name} with {what}")
        self.existing = existing
        self.by_email = by_email


def validate_email(email: str) -> str | None:
    """``email`` in lower case, None for an empty one (no email), or refused saying what is accepted."""
    email = email.strip()
    if not email:
        return None
    if email.lower().startswith("mailto:"):
        email = email[len("mailto:"):]
    if len(email) > MAX_EMAIL or not _EMAIL.match(email) or not email.isprintable():
        raise ValidationError(f"{email[:80]!r} is not an email address; one looks like ann@example.com")
    return email.lower()


def validate_url(url: str) -> str:
    """Return ``url`` normalised, or refuse it saying which links are accepted.

    Only web and mailto links can be opened in one click from Slack or an email, and anything else
    (``javascript:`` above all) would be a trap in a rendered message. Spaces and invisible characters
    are refused rather than silently removed: they mean the link was pasted wrongly.
    """
    url = url.strip()
    shown = quoted_link(url)
    if not url:
        raise ValidationError(f"a lead needs a link; {ACCEPTED}")
    if len(url) > MAX_URL:
        raise ValidationError(f"that link is {len(url):,} characters long; the limit is {MAX_URL:,}")
    if " " in url or not url.isprintable():  # one pass in C: an import checks 100,000 links
        raise ValidationError(f"{shown} contains spaces or invisible characters; paste the link on its own")
    scheme, colon, rest = url.partition(":")
    scheme = scheme.lower()
    if not colon or scheme not in SCHEMES:
        raise ValidationError(f"{ACCEPTED}; {shown} is not one")
    if scheme == "mailto":
        return _normalise_mailto(rest, shown)
    no_host = ValidationError(f"{shown} has no valid host; a web link looks like https://example.com/page")
    try:
        parts = urlsplit(url)
        valid = rest.startswith("//") and bool(parts.hostname) and (parts.port is None or parts.port > 0)
    except ValueError:  # an unclosed IPv6 bracket ('http://[abc'), a host NFKC would change, a bad port
        raise no_host from None
    if not valid:
        raise no_host
    userinfo, at, hostport = parts.netloc.rpartition("@")
    return urlunsplit((scheme, userinfo + at + hostport.lower(), parts.path.rstrip("/"), parts.query, parts.fragment))


def quoted_link(link: str) -> str:
    """``link`` quoted for a message, shortened to 80 characters (:func:`core.text.shortened_link`): a
    pasted page must not flood the answer."""
    return repr(shortened_link(link, 80))


def _normalise_mailto(rest: str, shown: str) -> str:
    """``mailto:`` plus one email address with its domain in lower case (the local part is the owner's),
    then its ``?subject=…`` if any, kept: the link opens the user's mail app, which reads it.

    The address must pass :func:`validate_email`, the check of a lead's ``--email``: call detection
    matches a ``mailto:`` lead by it, and a link to no address opens a message to nobody."""
    address, question, query = rest.partition("?")
    try:
        valid = not address.lower().startswith("mailto:") and validate_email(address) is not None
    except ValidationError:
        valid = False
    if not valid:
        raise ValidationError(f"{shown} has no valid email address after mailto:; a mail link is one address, "
                              "like mailto:ann@example.com (a ?subject=… after it is kept)")
    local, at, domain = address.rpartition("@")
    return f"mailto:{local}{at}{domain.lower()}{question}{query}"


def _store(session: Session, lead: Lead, **fields: object) -> Lead:
    """Set ``fields`` on ``lead`` and flush it inside a savepoint; a clash on the link is DuplicateLead.

    The unique index, not a prior SELECT, is the guarantee (two clicks may race). The change happens
    inside the savepoint, so a refused one is undone and the caller's transaction stays usable, which
    lets an import report the row and go on.
    """
    try:
        with session.begin_nested():
            for key, value in fields.items():
                setattr(lead, key, value)
            session.add(lead)
            session.flush()
    except IntegrityError as error:
        constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
        if constraint == _URL_UNIQUE:
            clash = Lead.url == fields["url"]
        elif constraint == _EMAIL_UNIQUE:
            clash = Lead.email == fields["email"]
        else:
            raise
        existing = session.scalars(select(Lead).where(Lead.user_id == lead.user_id, clash)).one()
        raise DuplicateLead(existing, by_email=constraint == _EMAIL_UNIQUE) from None
    return lead


@dataclass(frozen=True)
class NewLead:
    """A lead :func:`check_new_lead` accepted, its fields as they are stored."""

    name: str
    url: str
    notes: str | None
    email: str | None


def check_new_lead(
    session: Session, *, user: User, name: str, url: str, notes: str | None = None, email: str | None = None,
) -> NewLead:
    """The lead :func:`add_lead` would add, or its refusal: a field breaking its rule (ValidationError)
    or a link or email the user already has (DuplicateLead, the link's first). It writes nothing, so
    a channel can refuse a lead before anything slow (reading a calendar) and add it later; the
    unique index stays the guarantee against a lead added in between (:func:`_store`)."""
    fields = NewLead(validate_name(name), validate_url(url), check_text(notes, field="the note"),
                     validate_email(email or ""))
    with_link = session.scalar(select(Lead).where(Lead.user_id == user.id, Lead.url == fields.url))
    if with_link is not None:
        raise DuplicateLead(with_link)
    if fields.email is not None:
        with_email = session.scalar(select(Lead).where(Lead.user_id == user.id, Lead.email == fields.email))
        if with_email is not None:
            raise DuplicateLead(with_email, by_email=True)
    return fields


def add_lead(
    session: Session, *, user: User, name: str, url: str, notes: str | None = None, email: str | None = None,
    channel: Channel,
) -> Lead:
    """Create an ACTIVE lead and its OUTREACH action due the user's local today.

    Everything is checked (:func:`check_new_lead`) before anything is written, so a refused lead
    leaves no trace.
    """
    new = check_new_lead(session, user=user, name=name, url=url, notes=notes, email=email)
    lead = _store(session, Lead(user_id=user.id, status=LeadStatus.ACTIVE), name=new.name, url=new.url,
                  notes=new.notes, email=new.email)
    create_action(
        session, user=user, action_type=ActionType.OUTREACH, due_date=local_today(user.timezone),
        channel=channel, lead=lead, origin=ActionOrigin.LEAD_ADDED, auto_created=True,
    )
    return lead


def get_lead(session: Session, *, user: User, lead_id: uuid.UUID) -> Lead:
    """The user's lead ``lead_id``; someone else's lead is as unknown as one that never existed."""
    lead = session.scalar(select(Lead).where(Lead.id == lead_id, Lead.user_id == user.id))
    if lead is None:
        raise NotFound("that lead does not exist; list your leads to find it")
    return lead


def list_leads(session: Session, *, user: User, status: LeadStatus | None = None) -> list[Lead]:
    """The user's leads (optionally of one status) in alphabetical order, ignoring case."""
    query = select(Lead).where(Lead.user_id == user.id)
    if status is not None:
        query = query.where(Lead.status == status)
    return list(session.scalars(query.order_by(func.lower(Lead.name), Lead.name, Lead.id)))


def edit_lead(
    session: Session,
    *,
    user: User,
    lead_id: uuid.UUID,
    name: str | None = None,
    url: str | None = None,
    notes: str | None = None,
    email: str | None = None,
) -> Lead:
    """Change the given fields (None leaves a field as it is; empty notes or email clear them).

    Every field is validated before any is changed, and a link another of the user's leads already has
    is refused naming that lead, so a refused edit changes nothing.
    """
    lead = get_lead(session, user=user, lead_id=lead_id)
    return _store(
        session, lead,
        name=validate_name(name) if name is not None else lead.name,
        url=validate_url(url) if url is not None else lead.url,
        notes=check_text(notes, field="the note") if notes is not None else lead.notes,
        email=validate_email(email) if email is not None else lead.email,
    )


def snooze_lead(session: Session, *, user: User, lead_id: uuid.UUID, until: date) -> LeadStatusChange:
    """Stop planning the lead until the local date ``until``, when it becomes ACTIVE again.

    ``until`` is bounded as an action's snooze is (:func:`core.actions.snooze.check_snooze_until`):
    after the user's own today (snoozing "until today" would hide nothing) and at most a year ahead (a
    typo such as 9999-12-31 would bury the lead for good).
    """
    lead = get_lead(session, user=user, lead_id=lead_id)
    if lead.status == LeadStatus.ARCHIVED:
        raise InvalidTransition(f"{lead.name} is archived, so it cannot be snoozed; archived leads are never planned")
    check_snooze_until(until, today=local_today(user.timezone))
    if lead.status == LeadStatus.SNOOZED and lead.snooze_until == until:
        return LeadStatusChange(lead, changed=False)
    lead.status, lead.snooze_until = LeadStatus.SNOOZED, until
    session.flush()
    return LeadStatusChange(lead, changed=True)


def unsnooze_lead(session: Session, *, user: User, lead_id: uuid.UUID) -> LeadStatusChange:
    """Make a snoozed lead ACTIVE now; an active lead stays as it is (``changed`` False)."""
    lead = get_lead(session, user=user, lead_id=lead_id)
    if lead.status == LeadStatus.ARCHIVED:
        raise InvalidTransition(f"{lead.name} is archived, not snoozed; archived leads are never planned")
    if lead.status != LeadStatus.SNOOZED:
        return LeadStatusChange(lead, changed=False)
    lead.status, lead.snooze_until = LeadStatus.ACTIVE, None
    session.flush()
    return LeadStatusChange(lead, changed=True)


def archive_lead(session: Session, *, user: User, lead_id: uuid.UUID) -> LeadStatusChange:
    """Archive the lead (from ACTIVE or SNOOZED) so nothing is planned for it again."""
    lead = get_lead(session, user=user, lead_id=lead_id)
    if lead.status == LeadStatus.ARCHIVED:
        return LeadStatusChange(lead, changed=False)
    lead.status, lead.snooze_until = LeadStatus.ARCHIVED, None
    session.flush()
    return LeadStatusChange(lead, changed=True)
