"""How the product words counts and dates: the article a number takes when read aloud, counted nouns,
a day named with its year once it is months away, and a long link shortened."""

from __future__ import annotations

from datetime import date

import pytest

from core.text import day_streak, plural, short_date_from, shortened_link


@pytest.mark.parametrize(("days", "phrase"), [
    (1, "a 1-day streak"), (5, "a 5-day streak"), (8, "an 8-day streak"), (11, "an 11-day streak"),
    (12, "a 12-day streak"), (18, "an 18-day streak"), (80, "an 80-day streak"), (81, "an 81-day streak"),
    (100, "a 100-day streak"), (180, "a 180-day streak"), (800, "an 800-day streak"),
    (1100, "a 1100-day streak"), (11000, "an 11000-day streak"), (18000, "an 18000-day streak"),
])
def test_a_streak_takes_the_article_its_number_is_read_with(days: int, phrase: str) -> None:
    assert day_streak(days) == phrase


def test_counts_agree_with_their_noun() -> None:
    assert [plural(n, "action") for n in (0, 1, 2)] == ["0 actions", "1 action", "2 actions"]
    assert [plural(n, "reply") for n in (1, 3)] == ["1 reply", "3 replies"]


@pytest.mark.parametrize(("day", "shown"), [
    (date(2026, 11, 26), "Thu 26 Nov"), (date(2027, 2, 23), "Tue 23 Feb"), (date(2027, 2, 24), "Wed 24 Feb 2027"),
    (date(2027, 10, 1), "Fri 1 Oct 2027"), (date(2026, 8, 27), "Thu 27 Aug"), (date(2026, 8, 26), "Wed 26 Aug 2026"),
])
def test_a_day_more_than_ninety_days_from_today_is_named_with_its_year(day: date, shown: str) -> None:
    assert short_date_from(day, today=date(2026, 11, 25)) == shown


@pytest.mark.parametrize(("link", "shown"), [
    ("https://www.linkedin.com/in/ann-lee", "https://www.linkedin.com/in/ann-lee"),
    ("https://www.linkedin.com/in/ann-lee-marketing-director-emea-1234", "…/in/ann-lee-marketing-director-emea-1234"),
    ("https://www.linkedin.com/in/ann-lee-1234?utm_source=share&utm_campaign=share_via&utm_medium=ios_app",
     "…/in/ann-lee-1234?utm_source=share&utm_c…&utm_medium=ios_app"),
    ("mailto:ann.lee.marketing.director.emea.region@acme-international.example.com",
     "ann.lee.marketing.director.emea.region@…"),
    ("javascript:" + "a" * 60, "javascript:" + "a" * 48 + "…"),
], ids=["fits", "without its host", "and its middle", "a mail link", "no host"])
def test_a_long_link_is_shortened_without_its_host_within_the_limit(link: str, shown: str) -> None:
    assert shortened_link(link, 60) == shown
    assert len(shown) <= 60
