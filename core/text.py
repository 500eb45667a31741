"""How the product words counts and dates, the same in Slack, email, the CLI and the insights."""

from __future__ import annotations

from datetime import date

_IRREGULAR = {"reply": "replies", "has": "have"}


def noun(n: int, word: str, words: str | None = None) -> str:
    """``word`` for one, its plural (``words``, a known irregular, or ``word + "s"``) otherwise."""
    return word if n == 1 else (words or _IRREGULAR.get(word) or word + "s")


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 reply``, ``3 replies``, ``0 actions``."""
    return f"{n} {noun(n, word, words)}"


def short_date(day: date) -> str:
    """``Tue 25 Nov``: how a person names a day (no leading zero, no year)."""
    return f"{day:%a} {day.day} {day:%b}"
