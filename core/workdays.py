"""A user's work days (``user_settings.work_days``, ISO weekdays, 1 = Monday) and dates that land on them.

Follow-ups, call preps and snoozes all land on a day the user works: an action due on a Saturday
for a Monday–Friday user would only sit there, and a snooze offered "until Sunday" is no use.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

#: The names of the days of the week, Monday first: ``WEEKDAYS[day.weekday()]``, or
#: ``WEEKDAYS[iso_weekday - 1]`` for a work day.
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

#: Monday to Friday: a new user's work days.
DEFAULT_WORK_DAYS = (1, 2, 3, 4, 5)


def is_work_day(day: date, work_days: Collection[int]) -> bool:
    return day.isoweekday() in work_days


def next_work_day(day: date, work_days: Collection[int]) -> date:
    """``day`` itself if it is a work day, else the first work day after it."""
    while not is_work_day(day, work_days):
        day += timedelta(days=1)
    return day


def add_work_days(day: date, count: int, work_days: Collection[int]) -> date:
    """The ``count``-th work day after ``day`` (``day`` itself never counts)."""
    for _ in range(count):
        day = next_work_day(day + timedelta(days=1), work_days)
    return day


def work_day_before(day: date, work_days: Collection[int]) -> date:
    """The last work day strictly before ``day``."""
    day -= timedelta(days=1)
    while not is_work_day(day, work_days):
        day -= timedelta(days=1)
    return day
