"""Snooze dates: the presets every channel offers, and the words a person may type instead.

Every date here is relative to the user's own local ``today`` (the caller passes it), so "tomorrow"
at 23:00 in Los Angeles is the Los Angeles tomorrow, not the server's.

Rules where the product spec is silent:
* "Next Monday" (and any weekday name, with or without "next") is the first such day *after*
  today: on a Monday, "monday" means a week from today, never today.
* A snooze must end after today and at most a year ahead (:data:`MAX_SNOOZE_DAYS`): a typo such as
  "2062-01-01" or "9999d" is refused rather than burying an action for good.
* Numbers count calendar days and weeks, not work days: "3 days" from a Friday is Monday.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from core.errors import ValidationError

MAX_SNOOZE_DAYS = 365

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RELATIVE = re.compile(r"^(?:in\s+)?(\d{1,4})\s*(d|days?|w|weeks?)$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

ACCEPTED_FORMS = (
    "'tomorrow', '3d' or '3 days', '2w' or '2 weeks', 'monday' or 'next monday' (any weekday), "
    "or a date as YYYY-MM-DD"
)


def next_weekday(today: date, weekday: int) -> date:
    """The first date strictly after ``today`` that falls on ``weekday`` (0 = Monday)."""
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def snooze_presets(today: date) -> list[tuple[str, date]]:
    """The four presets shown next to "pick a date", as (label, date), soonest first."""
    return [
        ("Tomorrow", today + timedelta(days=1)),
        ("In 3 days", today + timedelta(days=3)),
        ("Next Monday", next_weekday(today, 0)),
        ("In 2 weeks", today + timedelta(days=14)),
    ]


def parse_snooze(text: str, *, today: date) -> date:
    """The date ``text`` names, relative to ``today``; refused unless it is after today (and within a year).

    Accepts the presets' own labels too ("In 3 days", "Next Monday"), so a menu value typed back
    in works.
    """
    words = " ".join(text.strip().lower().split())
    until = _parse(words, today)
    if until is None:
        raise ValidationError(f"{text.strip()[:40]!r} is not a snooze date; use {ACCEPTED_FORMS}")
    return check_snooze_until(until, today=today)


def check_snooze_until(until: date, *, today: date) -> date:
    """``until`` if a snooze may end then: after ``today`` and at most a year ahead."""
    if until <= today:
        raise ValidationError(
            f"a snooze must end after today ({today.isoformat()}); {until.isoformat()} is not"
        )
    if until > today + timedelta(days=MAX_SNOOZE_DAYS):
        raise ValidationError(f"a snooze can last at most {MAX_SNOOZE_DAYS} days; pick an earlier date")
    return until


def _parse(words: str, today: date) -> date | None:
    if words == "tomorrow":
        return today + timedelta(days=1)
    day_name = words.removeprefix("next ")
    if day_name in _WEEKDAYS:
        return next_weekday(today, _WEEKDAYS.index(day_name))
    relative = _RELATIVE.match(words)
    if relative:
        count, unit = int(relative.group(1)), relative.group(2)
        return today + timedelta(days=count * (7 if unit.startswith("w") else 1))
    if _ISO_DATE.match(words):
        try:
            return date.fromisoformat(words)
        except ValueError:
            raise ValidationError(f"{words!r} is not a real date; use YYYY-MM-DD, e.g. 2026-12-01") from None
    return None
