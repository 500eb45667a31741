"""core.calendars.freetime: the working window as UTC instants (DST days included) and free minutes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.calendars.freetime import free_minutes, merge_busy, working_window
from core.calendars.providers import Interval
from core.errors import ValidationError

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def minutes(window: Interval) -> int:
    return int((window.end - window.start) / timedelta(minutes=1))


# --- the working window -------------------------------------------------------------------------

def test_default_window_is_nine_to_five_local_in_utc() -> None:
    # London on BST the day before the clocks go back, then on GMT: same wall hours, an hour apart in UTC.
    assert working_window(date(2026, 10, 24), "Europe/London") == Interval(utc(2026, 10, 24, 8), utc(2026, 10, 24, 16))
    assert working_window(date(2026, 10, 25), "Europe/London") == Interval(utc(2026, 10, 25, 9), utc(2026, 10, 25, 17))
    # New York on the day the clocks go forward (02:00 EST → 03:00 EDT): 09:00 is already EDT.
    assert working_window(date(2026, 3, 8), "America/New_York") == Interval(utc(2026, 3, 8, 13), utc(2026, 3, 8, 21))
    assert working_window(date(2026, 3, 7), "America/New_York") == Interval(utc(2026, 3, 7, 14), utc(2026, 3, 7, 22))


def test_window_across_the_autumn_change_lasts_an_hour_longer() -> None:
    # Europe/London 2026-10-25: 02:00 BST becomes 01:00 GMT, so 00:00–04:00 is five hours of real time.
    window = working_window(date(2026, 10, 25), "Europe/London", time(0), time(4))
    assert window == Interval(utc(2026, 10, 24, 23), utc(2026, 10, 25, 4))
    assert minutes(window) == 300
    assert free_minutes([], window) == 300


def test_window_across_the_spring_change_lasts_an_hour_shorter() -> None:
    # America/New_York 2026-03-08: 02:00 EST becomes 03:00 EDT, so 00:00–06:00 is five hours.
    window = working_window(date(2026, 3, 8), "America/New_York", time(0), time(6))
    assert window == Interval(utc(2026, 3, 8, 5), utc(2026, 3, 8, 10))
    assert free_minutes([], window) == 300


def test_a_skipped_wall_time_moves_forward_by_the_gap() -> None:
    # 02:30 does not exist in New York on 2026-03-08: it is read as 03:30 EDT (07:30 UTC).
    window = working_window(date(2026, 3, 8), "America/New_York", time(2, 30), time(5))
    assert window == Interval(utc(2026, 3, 8, 7, 30), utc(2026, 3, 8, 9))
    assert free_minutes([], window) == 90


def test_a_repeated_wall_time_is_its_first_occurrence() -> None:
    # 01:30 happens twice in London on 2026-10-25: the first one, 01:30 BST (00:30 UTC).
    window = working_window(date(2026, 10, 25), "Europe/London", time(1, 30), time(3))
    assert window == Interval(utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 3))
    assert free_minutes([], window) == 150


def test_ordinary_hours_on_a_change_day_are_unaffected() -> None:
    assert free_minutes([], working_window(date(2026, 10, 25), "Europe/London", time(9), time(17))) == 480
    assert free_minutes([], working_window(date(2026, 3, 8), "America/New_York", time(8, 30), time(12))) == 210


@pytest.mark.parametrize(("start", "end"), [(time(22), time(6)), (time(9), time(9)), (time(17), time(9))])
def test_a_window_that_does_not_end_after_it_starts_is_refused(start: time, end: time) -> None:
    with pytest.raises(ValidationError, match="start before they end, on the same day"):
        working_window(date(2026, 10, 14), "Europe/London", start, end)


def test_an_unknown_zone_or_aware_hours_are_refused() -> None:
    with pytest.raises(ValidationError, match="not an IANA timezone"):
        working_window(date(2026, 10, 14), "Mars/Olympus_Mons")
    with pytest.raises(ValidationError, match="wall-clock times"):
        working_window(date(2026, 10, 14), "Europe/London", time(9, tzinfo=UTC), time(17))


# --- free minutes -------------------------------------------------------------------------------

WINDOW = working_window(date(2026, 10, 14), "Europe/London")  # 08:00–16:00 UTC (BST)


def test_no_busy_time_leaves_the_whole_window() -> None:
    assert free_minutes([], WINDOW) == 480
    assert merge_busy([], WINDOW) == []


def test_overlaps_from_different_calendars_count_once() -> None:
    google = [Interval(utc(2026, 10, 14, 9), utc(2026, 10, 14, 10))]
    outlook = [Interval(utc(2026, 10, 14, 9, 30), utc(2026, 10, 14, 11)),
               Interval(utc(2026, 10, 14, 9, 45), utc(2026, 10, 14, 10, 15))]  # inside the other two
    assert merge_busy(google + outlook, WINDOW) == [Interval(utc(2026, 10, 14, 9), utc(2026, 10, 14, 11))]
    assert free_minutes(google + outlook, WINDOW) == 480 - 120


def test_touching_intervals_join_and_order_does_not_matter() -> None:
    busy = [Interval(utc(2026, 10, 14, 13), utc(2026, 10, 14, 14)),
            Interval(utc(2026, 10, 14, 12), utc(2026, 10, 14, 13))]
    assert merge_busy(busy, WINDOW) == [Interval(utc(2026, 10, 14, 12), utc(2026, 10, 14, 14))]
    assert free_minutes(busy, WINDOW) == 360


def test_busy_time_is_clipped_to_the_window() -> None:
    busy = [
        Interval(utc(2026, 10, 14, 7), utc(2026, 10, 14, 8, 30)),  # starts before: 30 min inside
        Interval(utc(2026, 10, 14, 15, 45), utc(2026, 10, 14, 18)),  # ends after: 15 min inside
        Interval(utc(2026, 10, 14, 6), utc(2026, 10, 14, 8)),  # ends as the window starts: nothing
        Interval(utc(2026, 10, 14, 16), utc(2026, 10, 14, 17)),  # starts as it ends: nothing
        Interval(utc(2026, 10, 15, 9), utc(2026, 10, 15, 10)),  # another day
    ]
    assert merge_busy(busy, WINDOW) == [Interval(utc(2026, 10, 14, 8), utc(2026, 10, 14, 8, 30)),
                                        Interval(utc(2026, 10, 14, 15, 45), utc(2026, 10, 14, 16))]
    assert free_minutes(busy, WINDOW) == 480 - 45


def test_a_day_covered_end_to_end_has_no_free_minutes() -> None:
    away = [Interval(utc(2026, 10, 13, 23), utc(2026, 10, 14, 23))]
    assert free_minutes(away, WINDOW) == 0


def test_empty_and_reversed_intervals_count_for_nothing() -> None:
    busy = [Interval(utc(2026, 10, 14, 10), utc(2026, 10, 14, 10)),
            Interval(utc(2026, 10, 14, 12), utc(2026, 10, 14, 11))]
    assert free_minutes(busy, WINDOW) == 480


def test_intervals_in_any_zone_count_by_their_instant() -> None:
    # 11:00–12:00 New York (EDT) is 15:00–16:00 UTC; 10:00–11:00 London (BST) is 09:00–10:00 UTC.
    busy = [Interval(datetime(2026, 10, 14, 11, tzinfo=NEW_YORK), datetime(2026, 10, 14, 12, tzinfo=NEW_YORK)),
            Interval(datetime(2026, 10, 14, 10, tzinfo=LONDON), datetime(2026, 10, 14, 11, tzinfo=LONDON))]
    assert merge_busy(busy, WINDOW) == [Interval(utc(2026, 10, 14, 9), utc(2026, 10, 14, 10)),
                                        Interval(utc(2026, 10, 14, 15), utc(2026, 10, 14, 16))]
    assert free_minutes(busy, WINDOW) == 360


def test_a_window_given_in_local_time_is_measured_in_real_time() -> None:
    # Same instants as the London 00:00–04:00 window of 2026-10-25, written in London time: still 300.
    local = Interval(datetime(2026, 10, 25, 0, tzinfo=LONDON), datetime(2026, 10, 25, 4, tzinfo=LONDON))
    assert free_minutes([], local) == 300


def test_busy_time_across_the_clock_change_is_real_time() -> None:
    window = working_window(date(2026, 10, 25), "Europe/London", time(0), time(4))
    # 00:30 BST to 03:00 GMT is three and a half hours.
    night = [Interval(datetime(2026, 10, 25, 0, 30, tzinfo=LONDON), datetime(2026, 10, 25, 3, tzinfo=LONDON))]
    assert free_minutes(night, window) == 300 - 210


def test_part_minutes_of_free_time_are_rounded_down() -> None:
    busy = [Interval(utc(2026, 10, 14, 8), utc(2026, 10, 14, 15, 59, 30))]  # 30 s left
    assert free_minutes(busy, WINDOW) == 0
    busy = [Interval(utc(2026, 10, 14, 8, 0, 30), utc(2026, 10, 14, 9))]  # 7 h 30 s left
    assert free_minutes(busy, WINDOW) == 420


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        free_minutes([Interval(datetime(2026, 10, 14, 9), datetime(2026, 10, 14, 10))], WINDOW)
