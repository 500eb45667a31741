"""Reading what a person typed after ``/nbm``: the words, not the rules (those are the core's).

* **What was typed** (:func:`typed`): Slack sends ``&``, ``<`` and ``>`` as ``&amp;``, ``&lt;`` and
  ``&gt;`` (every text it carries is escaped so), and a link it recognised as ``<https://x.com>`` or
  ``<https://x.com|x.com>``, so a ``<`` that arrives is always Slack's own markup. Each link is
  unwrapped to its address, then the three escapes are undone in one pass: ``/nbm add Smith &amp; Co
  <https://x.com>`` is Smith & Co with https://x.com. Other markup (``<!channel>``, ``<@U123>``) is
  left as it came: no command takes it, and the answer shows it back as it was.
* ``add <name> <link> [notes]``: the link is the first word that is one (https://, http:// or
  mailto:, as the core's ``is_link`` reads a lead's link), so a colon in a name ("Re:Search") is
  not taken for a link; the name is everything before it. With no such word, the first word shaped
  like ``scheme:something`` is taken, for the core to refuse it saying which links are accepted
  (``javascript:…``); with none of either, the answer says a link is missing. The name comes first,
  so a first word that Slack made a link of (:func:`split_add`: ``Acme.io`` arrives as
  ``<http://Acme.io|Acme.io>``) is the name's text, as typed, when a link follows it; a first word
  the person wrote as a link (with its scheme), or the only link there is, stays the link, and the
  answer asks for the name before it.
* A plan number (:func:`plan_number`) is decimal digits, with or without the ``#`` the answers
  print before it ("#2 of today's plan"): ``2`` and ``#2`` are the same. ``²`` is not one: it
  starts a name.
* ``snooze <n or name> [when]``: *when* is read with the core's ``parse_snooze``. After a number
  it is the rest of the words. After a name, the rule (:func:`split_snooze`) is: a last word shaped
  YYYY-MM-DD is the date (a refused one says why); otherwise the name is the whole text when the
  whole text names a lead, and a trailing date is split off only when the words before it name a
  lead. When both readings are possible (``Ruby Tuesday``, with leads Ruby and Ruby Tuesday) nothing
  is guessed: the answer asks for the date after the name. Without a date, the snooze is the first
  preset (tomorrow).
* ``call <lead> <date>``: the lead is a name or a link; the date ends the text: ``today``,
  ``tomorrow``, a weekday (the next one, today included: a call "thursday" said on a Thursday is
  today's), or YYYY-MM-DD.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from datetime import date, timedelta

from core.actions.snooze import ACCEPTED_FORMS, parse_snooze
from core.errors import ValidationError
from core.lead_lookup import is_link
from core.workdays import WEEKDAYS

_SLACK_LINK = re.compile(r"<(?P<url>[a-zA-Z][a-zA-Z0-9+.-]*:[^|>]*)(?:\|(?P<label>[^>]*))?>")
#: A word of the text as Slack sent it: Slack's markup (``<…>``, a label may hold spaces) is part of its word.
_SENT_WORD = re.compile(r"(?:<[^>]*>|[^\s<])+")
#: What Slack puts before a word it makes a link of: ``x.com`` is ``http://x.com``, ``ann@x.com`` ``mailto:ann@x.com``.
_ADDED_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:(?://)?")
_ESCAPED = re.compile(r"&(amp|lt|gt);")
_UNESCAPED = {"amp": "&", "lt": "<", "gt": ">"}
_SCHEME_SHAPED = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
#: The most words a snooze date takes ("in 3 work days"): longer tails are never tried as a date.
_DATE_WORDS = 4

ADD_USAGE = "write `/nbm add <name> <link> [notes]`, e.g. `/nbm add Ann Lee https://www.linkedin.com/in/ann-lee`"
CALL_USAGE = "write `/nbm call <lead> <date>`, e.g. `/nbm call Ann Lee thursday` or `/nbm call Ann 2026-12-01`"
SNOOZE_USAGE = "`/nbm snooze 2 tomorrow` or `/nbm snooze Ann Lee next monday`"


def typed(text: str) -> str:
    """What the person typed, from the text Slack sent (see the module docstring)."""
    unwrapped = _SLACK_LINK.sub(lambda link: link.group("url"), text)
    return _ESCAPED.sub(lambda escape: _UNESCAPED[escape.group(1)], unwrapped)


def plan_number(word: str) -> str | None:
    """The digits of ``word`` when it is a number in today's plan (``2`` or ``#2``), else None."""
    digits = word.removeprefix("#")
    return digits if digits.isdecimal() else None


def split_add(sent: str) -> tuple[str, str, str | None]:
    """(name, link, notes) of ``/nbm add``, from the words after ``add`` as Slack sent them (escaped,
    links wrapped), by the rule in the module docstring: which words Slack made links of is known only
    before :func:`typed` unwraps them."""
    words = [(word, typed(word.group())) for word in _SENT_WORD.finditer(sent)]
    first_typed = _made_a_link_by_slack(words[0][0].group()) if words else None
    first_is_text = first_typed is not None and any(is_link(text) for _, text in words[1:])
    after_name = words[1:] if first_is_text else words
    link = (next((word for word, text in after_name if is_link(text)), None)
            or next((word for word, text in after_name if _SCHEME_SHAPED.match(text)), None))
    if link is None:
        raise ValidationError(f"no link found (https://, http:// or mailto:); {ADD_USAGE}")
    name = typed(sent[:link.start()])
    if first_typed is not None and first_is_text:
        name = first_typed + typed(sent[words[0][0].end():link.start()])
    if not name.strip():
        raise ValidationError(f"put the lead's name before the link; {ADD_USAGE}")
    return name.strip(), typed(link.group()), typed(sent[link.end():]).strip() or None


def _made_a_link_by_slack(word: str) -> str | None:
    """What the person typed, when ``word`` is a link Slack made of it: a label that is the address
    without the scheme Slack put before it (``<http://Acme.io|Acme.io>`` is ``Acme.io``), unlike a
    link typed whole (``<https://x.com>``). None for any other word."""
    link = _SLACK_LINK.fullmatch(word)
    if link is None or link.group("label") != _ADDED_SCHEME.sub("", link.group("url"), count=1):
        return None
    return typed(link.group("label"))


def split_snooze(text: str, *, today: date, work_days: Collection[int],
                 names_lead: Callable[[str], bool]) -> tuple[str, date | None]:
    """(which action, until) of ``/nbm snooze``, by the rule in the module docstring; ``until`` None
    when no date was given. ``names_lead`` says whether some words name at least one lead; it is
    asked about the whole text and about the words before each tail of at most :data:`_DATE_WORDS`
    words, never more often."""
    words = text.split()
    if not words:
        raise ValidationError(f"say which action: {SNOOZE_USAGE}")

    def when(tail: list[str]) -> date:
        return parse_snooze(" ".join(tail), today=today, work_days=work_days)

    if plan_number(words[0]) is not None:
        return words[0], when(words[1:]) if len(words) > 1 else None
    if _ISO.match(words[-1]):
        return " ".join(words[:-1]), when(words[-1:])
    dated: list[tuple[str, date]] = []  # (name, until) for each tail that is a date, longest tail first
    refused: list[tuple[str, ValidationError]] = []  # (name, why its tail is not a date), likewise
    for split in range(max(1, len(words) - _DATE_WORDS), len(words)):
        name = " ".join(words[:split])
        try:
            dated.append((name, when(words[split:])))
        except ValidationError as error:
            refused.append((name, error))
    lead_dated = next(((name, until) for name, until in dated if names_lead(name)), None)
    if names_lead(text):
        if lead_dated is None:
            return text, None
        whole, date_words = " ".join(words), " ".join(words[len(lead_dated[0].split()):])
        raise ValidationError(
            f"{whole!r} names a lead, so {date_words!r} is read as part of its name, not as the date, and "
            f"nothing was snoozed; say until when after the name, e.g. `/nbm snooze {whole} tomorrow` "
            f"({ACCEPTED_FORMS}), or snooze by the number from `/nbm today`")
    if lead_dated or dated:  # a name that names no lead is refused without the date's words
        return lead_dated or dated[0]
    # No date anywhere: after the longest words that name a lead, say why the rest is not a date.
    why = next((error for name, error in reversed(refused) if names_lead(name)), None)
    if why is not None:
        raise why
    return text, None


def split_call(text: str, *, today: date) -> tuple[str, date]:
    """(lead, call date) of ``/nbm call``."""
    words = text.split()
    if len(words) < 2:
        raise ValidationError(f"give the lead and the call's date; {CALL_USAGE}")
    return " ".join(words[:-1]), call_day(words[-1], today=today)


def call_day(word: str, *, today: date) -> date:
    """The call's date. Unlike a snooze, a call may be today: a weekday means the next one, today
    included, and a call in the past is left to the core to accept (recent) or refuse (a year off)."""
    word = word.lower()
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    for index, name in enumerate(WEEKDAYS):
        if len(word) >= 3 and name.lower().startswith(word):
            return today + timedelta(days=(index - today.weekday()) % 7)
    if _ISO.match(word):
        try:
            return date.fromisoformat(word)
        except ValueError:
            raise ValidationError(f"{word!r} is not a real date; use YYYY-MM-DD, e.g. 2026-12-01") from None
    raise ValidationError(f"{word[:30]!r} is not a date; end with today, tomorrow, a weekday or YYYY-MM-DD")
