"""Reading what a person typed after ``/nbm``: the words, not the rules (those are the core's).

* ``add <name> <link> [notes]``: the name is everything before the first word that looks like a
  link (``scheme:something``); the core then accepts or refuses the link itself, so
  ``javascript:…`` is refused with the core's own message. Slack's ``<url|label>`` form is unwrapped.
* A plan number (:func:`plan_number`) is decimal digits, with or without the ``#`` the answers
  print before it ("#2 of today's plan"): ``2`` and ``#2`` are the same. ``²`` is not one: it
  starts a name.
* ``snooze <n or name> [when]``: *when* is read with the core's ``parse_snooze`` from the longest
  tail of words it accepts; with none, the snooze is the first preset (tomorrow).
* ``call <lead> <date>``: the lead is a name or a link; the date ends the text: ``today``,
  ``tomorrow``, a weekday (the next one, today included: a call "thursday" said on a Thursday is
  today's), or YYYY-MM-DD.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from core.actions.snooze import parse_snooze
from core.errors import ValidationError
from core.workdays import WEEKDAYS

_WORD = re.compile(r"\S+")
_LINK = re.compile(r"^<?(?P<url>[a-zA-Z][a-zA-Z0-9+.-]*:[^\s|>]+)(?:\|[^>]*)?>?$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)

ADD_USAGE = "write `/nbm add <name> <link> [notes]`, e.g. `/nbm add Ann Lee https://www.linkedin.com/in/ann-lee`"
CALL_USAGE = "write `/nbm call <lead> <date>`, e.g. `/nbm call Ann Lee thursday` or `/nbm call Ann 2026-12-01`"


def split_add(text: str) -> tuple[str, str, str | None]:
    """(name, link, notes) of ``/nbm add``."""
    for word in _WORD.finditer(text):
        link = _LINK.match(word.group())
        if link is None:
            continue
        name = text[: word.start()].strip()
        if not name:
            raise ValidationError(f"put the lead's name before the link; {ADD_USAGE}")
        return name, link.group("url"), text[word.end():].strip() or None
    raise ValidationError(f"no link found (https://, http:// or mailto:); {ADD_USAGE}")


def unwrap_link(text: str) -> str:
    """``text`` without Slack's ``<url>`` or ``<url|label>`` around a link, as it came otherwise."""
    link = _LINK.match(text) if text.startswith("<") and text.endswith(">") else None
    return link.group("url") if link else text


def plan_number(word: str) -> str | None:
    """The digits of ``word`` when it is a number in today's plan (``2`` or ``#2``), else None."""
    digits = word.removeprefix("#")
    return digits if digits.isdecimal() else None


def split_snooze(text: str, *, today: date) -> tuple[str, date | None]:
    """(which action, until) of ``/nbm snooze``; ``until`` None when no date was given."""
    words = text.split()
    if not words:
        raise ValidationError("say which action: `/nbm snooze 2 tomorrow` or `/nbm snooze Ann Lee next monday`")
    number = plan_number(words[0]) is not None
    if number or _ISO.match(words[-1]):
        head, tail = (words[:1], words[1:]) if number else (words[:-1], words[-1:])
        return " ".join(head), parse_snooze(" ".join(tail), today=today) if tail else None
    for split in range(1, len(words)):
        try:
            return " ".join(words[:split]), parse_snooze(" ".join(words[split:]), today=today)
        except ValidationError:
            continue
    return " ".join(words), None


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
