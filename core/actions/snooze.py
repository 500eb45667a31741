"""Snooze dates: the presets every channel offers, and the words a person may type instead.

Every date here is relative to the user's own local ``today`` (the caller passes it), so "tomorrow"
at 23:00 in Los Angeles is the Los Angeles tomorrow, not the server's.

Rules where the product spec is silent:
* "Next Monday" (and any weekday name, with or without "next") is the first such day *after*
  today: on a Monday, "monday" means a week from today, never today.
* A snooze, an action's or a lead's, must end after today and at most a year ahead
  (:data:`MAX_SNOOZE_DAYS`): a typo such as "2062-01-01" or "9999d" is refused rather than burying
  an action or a lead for good.
* Numbers count calendar days and weeks, not work days: "3 days" from a Friday is Monday. What a
  person types is taken at its word: "work days" count work days ("3 work days", "next work day"),
  and "next week" is the first work day of next week, as the presets of those names are.
* **A preset's label typed back** (any case: "In 3 work days", "Next work day", "next week") means
  the date that preset offers today, so typing what the menu shows gives what the menu gives: on a
  Saturday, "in 2 weeks" is the Monday the menu offers, not the Saturday two weeks on.
* **The presets land on work days** (``user_settings.work_days``) and are listed in date order,
  each once; a label never promises a day it does not give: on a Saturday, "Tomorrow" would be
  Sunday, so the first preset is "Next work day" (Monday, for a Monday–Friday user). "Snooze a
  week" (the email's button) moves to the next work day when a week from today is not one.

Why the presets differ from PRODUCT.md's list ("tomorrow, in 3 days, next Monday, in 2 weeks, pick a
date"): the spec's list was the first version; commit 3584197 ("What a user reads is true") moved every
preset onto the user's work days and dropped a preset whose date another already offers, so a label
never promises a day it does not give, and recorded the rule here and in the README. "In 3 days" became
"In 3 work days" (three calendar days from a Wednesday is a Saturday), and on a Friday "Next Monday" is
the same Monday as "Next work day", listed once under the first label. Each preset's date is shown
beside its label.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date, timedelta

from core.errors import ValidationError
from core.text import short_date
from core.workdays import WEEKDAYS, add_work_days, is_work_day, next_work_day

MAX_SNOOZE_DAYS = 365

_WEEKDAYS = tuple(name.lower() for name in WEEKDAYS)
_RELATIVE = re.compile(r"^(?:in\s+)?(\d{1,4})\s*(d|days?|w|weeks?|work ?days?)$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

ACCEPTED_FORMS = (
    "'tomorrow', '3d' or '3 days', '2w' or '2 weeks', 'monday' or 'next monday' (any weekday), "
    "'next work day', '3 work days', 'next week', or a date as YYYY-MM-DD"
)


def next_weekday(today: date, weekday: int) -> date:
    """The first date strictly after ``today`` that falls on ``weekday`` (0 = Monday)."""
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def snooze_presets(today: date, work_days: Collection[int]) -> list[tuple[str, date]]:
    """The presets shown next to "pick a date", as (label, date): on work days, soonest first, each
    date once (the first label listed here wins a tie). The date is always shown beside the label,
    so "In 2 weeks" moved from a Sunday to the Monday after it still says which day."""
    tomorrow = today + timedelta(days=1)
    first = _next_work_day_after(today, work_days)
    monday = next_weekday(today, 0)
    presets = [
        ("Tomorrow" if first == tomorrow else "Next work day", first),
        ("Next Monday", monday) if is_work_day(monday, work_days) else ("Next week", _next_week(today, work_days)),
        ("In 3 work days", add_work_days(today, 3, work_days)),
        ("In 2 weeks", next_work_day(today + timedelta(days=14), work_days)),
    ]
    shown: dict[date, str] = {}
    for label, day in sorted(presets, key=lambda preset: preset[1]):
        shown.setdefault(day, label)
    return [(label, day) for day, label in shown.items()]


def _next_work_day_after(today: date, work_days: Collection[int]) -> date:
    """"Next work day": the first work day after ``today``."""
    return next_work_day(today + timedelta(days=1), work_days)


def _next_week(today: date, work_days: Collection[int]) -> date:
    """"Next week": the first work day from next Monday on."""
    return next_work_day(next_weekday(today, 0), work_days)


def snooze_a_week(today: date, work_days: Collection[int]) -> date:
    """Where "Snooze a week" lands: a week from ``today``, or the first work day after that."""
    return next_work_day(today + timedelta(days=7), work_days)


def parse_snooze(text: str, *, today: date, work_days: Collection[int]) -> date:
    """The date ``text`` names, relative to ``today``; refused unless it is after today (and within a year).

    Accepts the presets' own labels too, in any case ("In 3 work days", "Next work day"), with the
    date the preset offers today (``work_days`` are the user's), so a menu label typed back in works.
    """
    words = " ".join(text.strip().lower().split())
    presets = {label.lower(): day for label, day in snooze_presets(today, work_days)}
    until = presets.get(words) or _parse(words, today, work_days)
    if until is None:
        raise ValidationError(f"{text.strip()[:40]!r} is not a snooze date; use {ACCEPTED_FORMS}")
    return check_snooze_until(until, today=today)


def check_snooze_until(until: date, *, today: date) -> date:
    """``until`` if a snooze may end then: after ``today`` and at most a year ahead. A refusal names
    the days as every message does; a day that has come since it was offered (a menu in an older
    message) is said to be today or past, which is what changed, not what the person did."""
    if until <= today:
        when = "is today" if until == today else "has passed"
        raise ValidationError(f"a snooze must end after today ({short_date(today)}); {short_date(until)} {when}, "
                              "so pick a later day")
    if until > today + timedelta(days=MAX_SNOOZE_DAYS):
        raise ValidationError(f"a snooze can last at most {MAX_SNOOZE_DAYS} days; pick an earlier date")
    return until


def _parse(words: str, today: date, work_days: Collection[int]) -> date | None:
    if words == "tomorrow":
        return today + timedelta(days=1)
    if words == "next work day":
        return _next_work_day_after(today, work_days)
    if words == "next week":
        return _next_week(today, work_days)
    day_name = words.removeprefix("next ")
    if day_name in _WEEKDAYS:
        return next_weekday(today, _WEEKDAYS.index(day_name))
    relative = _RELATIVE.match(words)
    if relative:
        count, unit = int(relative.group(1)), relative.group(2)
        if unit.startswith("work"):
            return add_work_days(today, count, work_days)
        return today + timedelta(days=count * (7 if unit.startswith("w") else 1))
    if _ISO_DATE.match(words):
        try:
            return date.fromisoformat(words)
        except ValueError:
            raise ValidationError(f"{words!r} is not a real date; use YYYY-MM-DD, e.g. 2026-12-01") from None
    return None
