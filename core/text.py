"""How the product words counts and dates, the same in Slack, email, the CLI and the insights."""

from __future__ import annotations

import re
from datetime import date, timedelta

_IRREGULAR = {"reply": "replies", "has": "have"}
#: Where a link names its host, the part a reader (Slack, a terminal, a mail program) makes a link of:
#: ``scheme://host`` (with any ``user@``), or the ``local@domain`` of a ``mailto:`` (``local`` kept).
_HOSTED = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:(?://[^/?#]*|(?P<local>[^@/?#]*@)[^?#]*)")


def noun(n: int, word: str, words: str | None = None) -> str:
    """``word`` for one, its plural (``words``, a known irregular, or ``word + "s"``) otherwise."""
    return word if n == 1 else (words or _IRREGULAR.get(word) or word + "s")


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 reply``, ``3 replies``, ``0 actions``."""
    return f"{n} {noun(n, word, words)}"


def article(n: int) -> str:
    """The indefinite article before the number ``n`` as it is read aloud: "an 8", "an 11", "a 12".

    English reads a number from its leading group of three digits, so the article depends on how
    that group begins: "eight…" (8, 80–89, 800–899, 8,000…) and "eleven"/"eighteen" (11, 18,
    11,000…) take "an"; everything else takes "a".
    """
    leading = str(abs(n))
    leading = leading[: len(leading) % 3 or 3]
    return "an" if leading.startswith("8") or leading in ("11", "18") else "a"


def day_streak(n: int) -> str:
    """``a 5-day streak``, ``an 8-day streak``, ``an 11-day streak``."""
    return f"{article(n)} {n}-day streak"


def greeting(hour: int) -> str:
    """How an email that opens with a greeting greets at ``hour`` (0–23) of the reader's clock: a
    morning plan is delivered at the time each user chose, which may be 14:00, and a morning caught
    up after an outage arrives at any hour, so "Good morning" is said only in the morning (05:00 to
    noon), "Good afternoon" until 18:00, and "Good evening" otherwise."""
    if 5 <= hour < 12:
        return "Good morning"
    return "Good afternoon" if 12 <= hour < 18 else "Good evening"


def one_line(text: str | None, limit: int = 80) -> str | None:
    """``text`` on one line, at most ``limit`` characters, cut at a word with "…" (None if empty).

    For a note shown beside an action: enough to jog the memory ("met at SaaStr"), never a wall.
    """
    folded = " ".join((text or "").split())
    if not folded:
        return None
    if len(folded) <= limit:
        return folded
    cut = folded[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"


def shortened_link(link: str, limit: int) -> str:
    """``link`` as a sentence or a menu shows it in at most ``limit`` characters: whole when it fits,
    else with "…" where its scheme and host were, and, when what is left is still too long, "…" in
    its middle too: ``…/in/ann-lee-marketing-director-emea-1234`` and ``…/people?id=7&view=xx…xxxx``
    for web links, ``ann.lee@…`` for a mail link.

    A link cut anywhere is another address, and a cut one that kept its host would be made a link
    (Slack turns ``linkedin.com/in/ann-l`` into one) to a page that is not the lead's, or copied and
    typed back to match nothing. Without its host no reader makes a link of it, the "…" says it is
    shortened, and its start and end, where two links of one site differ, both stay. Text that names
    no host (a refused ``javascript:…``) is cut at its end.
    """
    if len(link) <= limit:
        return link
    hosted = _HOSTED.match(link)
    if hosted is None:
        return link[: limit - 1] + "…"
    rest = f"{hosted.group('local') or ''}…{link[hosted.end():]}"
    if len(rest) <= limit:
        return rest
    tail = (limit - 1) // 3
    return f"{rest[: limit - 1 - tail]}…{rest[len(rest) - tail:]}"


def week_range(monday: date, *, today: date) -> str:
    """``17–23 Nov``, or ``27 Oct – 2 Nov`` across a month: a Monday–Sunday week, said with its year
    by :func:`short_date_from`'s rule, once either end of it is more than :data:`NEAR_DAYS` from
    ``today``: ``17–23 Nov 2025``, ``29 Dec 2025 – 4 Jan 2026``."""
    sunday = monday + timedelta(days=6)
    year = "" if is_near(monday, today=today) and is_near(sunday, today=today) else f" {sunday.year}"
    if monday.month == sunday.month:
        return f"{monday.day}–{sunday.day} {sunday:%b}{year}"
    first_year = f" {monday.year}" if year and monday.year != sunday.year else ""
    return f"{monday.day} {monday:%b}{first_year} – {sunday.day} {sunday:%b}{year}"


def week_title(monday: date, *, today: date) -> str:
    """``Your week of 17–23 Nov``: the weekly summary's name, the same in Slack, email and the CLI
    (with the year for a week months from the reader's ``today``: :func:`week_range`)."""
    return f"Your week of {week_range(monday, today=today)}"


#: How far from today (either way) a day is named without its year. Further off, "Fri 1 Oct" could be
#: this year's or next year's, and its weekday would read wrong for the other one.
NEAR_DAYS = 90


def is_near(day: date, *, today: date) -> bool:
    """Whether ``day`` is named without its year, seen from ``today`` (:data:`NEAR_DAYS`)."""
    return abs((day - today).days) <= NEAR_DAYS


def short_date(day: date) -> str:
    """``Tue 25 Nov``: how a person names a day (no leading zero, no year)."""
    return f"{day:%a} {day.day} {day:%b}"


def short_date_from(day: date, *, today: date) -> str:
    """:func:`short_date`, with the year once ``day`` is more than :data:`NEAR_DAYS` from ``today``:
    ``Tue 15 Dec``, but ``Fri 1 Oct 2027`` (for a date that may be months away, such as a snooze's end)."""
    return short_date(day) if is_near(day, today=today) else f"{short_date(day)} {day.year}"
