"""Finding a lead by what a person typed: a name or a link (PRODUCT.md, "Leads"), in every channel.

Rules chosen where the specification is silent:

* **Finding by name ignores archived leads**, so an old archived namesake never makes ``/nbm done Ann``
  ambiguous, **and ignores how spaces were typed**: a name is stored with its spaces folded
  (core.names), and a lookup folds both the name asked for and the stored names, so "Ann  Lee", "Ann
  Lee" with a non-breaking space, and "Ann Lee" are one name in every channel.
* **A lead's link names it uniquely**, so two leads of the same name can always be told apart: every
  place that takes a lead's name takes its link too (:func:`find_lead`). A reference is a link when it is
  one word starting ``https:``, ``http:`` or ``mailto:``; it is normalised as an added link is and matched
  whole, archived leads included (no namesake can make a link ambiguous). When several leads share the
  name asked for, the refusal lists each with its link and says to use the link; a list to pick a lead
  from (Slack's log-call form) shows the link beside each name several leads share (:func:`told_apart`).
  A link too long to show whole is shortened (:func:`core.text.shortened_link`), never shown cut as if it
  were the link, and the refusal says where it is whole.
* **Slack turns a typed word that looks like an address into a link**, so a link no lead has means
  the lead whose whole name it is without the scheme Slack adds (:func:`leads_named`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import Text, func, select
from sqlalchemy.orm import Session

from core.errors import NotFound, ValidationError
from core.leads import SCHEMES, quoted_link, validate_url
from core.models import Lead, LeadStatus, User
from core.names import SPACE_RUN, fold_spaces
from core.text import shortened_link

#: How many matches an ambiguous reference lists, and how much of each link is shown beside its name.
_MATCHES_SHOWN = 5
_LINK_SHOWN = 60


def find_leads_by_name(session: Session, *, user: User, name: str, partial: bool = True) -> list[Lead]:
    """Leads called ``name`` (any case, spaces folded on both sides); when none is, those whose name
    contains it.

    An exact match wins so "Ann" finds Ann even when Annabel exists; several results mean the caller
    must ask which one, so they come in an order that does not change between asks: by name, leads of
    one name by link. Archived leads are left out (see the module docstring). Stored names are folded
    in the query, not trusted to be folded already: a name stored before names were folded at entry
    ("Ann  Lee") is still found by ``Ann Lee``.
    """
    wanted = fold_spaces(name)
    if not wanted:
        raise ValidationError("give a lead's name (or part of it), or its link, to find the lead")
    stored = func.btrim(func.regexp_replace(Lead.name, SPACE_RUN, " ", "g", type_=Text))
    mine = (
        select(Lead)
        .where(Lead.user_id == user.id, Lead.status != LeadStatus.ARCHIVED)
        .order_by(func.lower(Lead.name), Lead.name, Lead.url)
    )
    exact = list(session.scalars(mine.where(func.lower(stored) == func.lower(wanted))))
    if exact or not partial:
        return exact
    return list(session.scalars(mine.where(stored.icontains(wanted, autoescape=True))))


def is_link(ref: str) -> bool:
    """Whether ``ref`` names a lead by its link (see the module docstring), not by its name: what
    ``/nbm add`` takes as the new lead's link too."""
    scheme, colon, _ = ref.strip().partition(":")
    return bool(colon) and scheme.lower() in SCHEMES and len(ref.split()) == 1


#: The schemes Slack puts before a word it turns into a link (``Acme.io``, ``bea@acme.io``).
_SCHEME_ADDED_BY_SLACK = re.compile(r"^(?:http://|mailto:)", re.IGNORECASE)


def _as_typed(link: str) -> str | None:
    """What the person typed, when ``link`` may be a word Slack turned into a link (:func:`leads_named`): the
    link without the scheme Slack adds; None for a link Slack cannot have made."""
    bare = _SCHEME_ADDED_BY_SLACK.sub("", link.strip(), count=1)
    return bare if bare != link.strip() else None


def leads_named(session: Session, *, user: User, ref: str) -> list[Lead]:
    """The leads ``ref`` may mean: the one whose link it is, if it is a link, else those
    :func:`find_leads_by_name` finds. A link that is not a valid one, or an empty name, is refused.

    Slack turns a typed word that looks like an address into a link, so `/nbm done Acme.io` arrives
    as ``http://Acme.io``: a link that is no lead's means the lead whose whole name it is once that
    scheme is taken off (a name, not a part of one: the person typed an address)."""
    if is_link(ref):
        lead = session.scalar(select(Lead).where(Lead.user_id == user.id, Lead.url == validate_url(ref)))
        if lead is not None:
            return [lead]
        as_typed = _as_typed(ref)
        return find_leads_by_name(session, user=user, name=as_typed, partial=False) if as_typed else []
    return find_leads_by_name(session, user=user, name=ref)


def find_lead(session: Session, *, user: User, ref: str, listed_by: str, also: str | None = None) -> Lead:
    """The one lead ``ref`` names: by its link, else by its name as :func:`find_leads_by_name` finds it.

    Every channel finds a lead through here, so each says the same thing. None, or several, is refused
    saying what to do instead: ``listed_by`` is how the channel lists the user's leads (``/nbm leads``),
    ``also`` another reference the caller accepts there (``a number from 1 to 5 from today's plan``), if any.
    """
    leads = leads_named(session, user=user, ref=ref)
    if not leads and is_link(ref):
        as_typed = _as_typed(ref)
        called = f" or is called {fold_spaces(as_typed)[:80]!r}" if as_typed else ""
        raise NotFound(f"no lead has the link {quoted_link(validate_url(ref))}{called}; {listed_by} lists yours")
    if not leads:
        raise NotFound(f"no lead is called {fold_spaces(ref)[:80]!r}; use a lead's name or link ({listed_by} lists "
                       "yours)" + (f", or {also}" if also else ""))
    if len(leads) > 1:
        raise ValidationError(_ambiguous(fold_spaces(ref), leads, listed_by=listed_by, also=also))
    return leads[0]


def named_with_link(lead: Lead, *, limit: int | None = None) -> str:
    """``Ann Lee (https://www.linkedin.com/in/ann-lee)``: the lead named so that no namesake reads alike,
    its link shortened to 60 characters (:func:`core.text.shortened_link`, never a cut address posing
    as the link). Within ``limit`` characters (a menu's option), the name is what is cut, not the link
    as shown: the link is what tells namesakes apart."""
    link = shortened_link(lead.url, _LINK_SHOWN)
    name = lead.name
    room = max(limit - len(link) - len(" ()"), 1) if limit is not None else len(name)
    return f"{name if len(name) <= room else name[:room - 1] + '…'} ({link})"


def told_apart(leads: Sequence[Lead], *, limit: int | None = None) -> list[str]:
    """The leads as a list names them side by side (a menu to pick one from): a name another of ``leads``
    shares, in any case, with its link (:func:`named_with_link`, within ``limit``), since only the link
    tells namesakes apart; any other name alone."""
    shared = Counter(map(_name_key, leads))
    return [named_with_link(lead, limit=limit) if shared[_name_key(lead)] > 1 else lead.name for lead in leads]


def _name_key(lead: Lead) -> str:
    """What makes two leads namesakes: their names alike in any case and however their spaces were typed."""
    return fold_spaces(lead.name).casefold()


def _ambiguous(ref: str, leads: list[Lead], *, listed_by: str, also: str | None) -> str:
    """Why ``ref`` is refused, naming the leads it matches. Writing more of a name cannot tell two leads
    of the same name apart, so when some share one, each is listed with its link to use instead; a
    link too long to list whole is shortened, and the refusal says where it is whole (``listed_by``)."""
    namesakes = len({_name_key(lead) for lead in leads}) < len(leads)
    listed = leads[:_MATCHES_SHOWN]
    shown = [named_with_link(lead) if namesakes else lead.name for lead in listed]
    names = ", ".join(shown) + (" …" if len(leads) > _MATCHES_SHOWN else "")
    if namesakes:
        shortened = any(shortened_link(lead.url, _LINK_SHOWN) != lead.url for lead in listed)
        whole = f" (a link shortened with … is whole in {listed_by})" if shortened else ""
        return f"{ref[:80]!r} matches {names}; use the URL to pick one{whole}" + (f", or {also}" if also else "")
    return f"{ref[:80]!r} matches {names}; write more of the name" + (f", or use {also}" if also else "")
