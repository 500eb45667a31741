"""The insight generator interface and the built-in, deterministic generator.

A generator turns a week's facts into five texts: an insight, a 2–3 sentence narrative, next
week's focus, and two short posts a consultant could put on LinkedIn. Every generator takes the
same :class:`WeekFacts` and returns the same :class:`Insights`, so the LLM one can fall back to the
built-in one on any error.

Rules of :class:`BuiltinInsights` (where the product spec is silent):

* Numbers are written with the right noun ("1 reply", "3 replies"); a comparison with last week is
  only made when it says something ("up from 7", never "0 replies, up from 0").
* The best day is mentioned only when the user was active on at least two days (with one active
  day, "your best day" is not an insight).
* Next week's focus is the first rule that fits, most urgent first: nothing done → show up daily;
  replies → answer them within a day; calls → follow up each call; 3+ cold leads → warm 3 of them up;
  a drop of a quarter or more (from 4+) → get back to last week's pace; active on fewer than 3 days
  → show up daily; a reply rate under 10% → make messages personal; otherwise keep the streak or the pace.
* The posts never name leads: they are the user's private contacts, and a public post about "a
  reply from Ann Lee" is not something a consultant would publish. The win post speaks of the
  week's wins by number; the insight post turns the week's main insight into a lesson.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from core.text import plural


@dataclass(frozen=True)
class WeekNumbers:
    """The four counted numbers of one week."""

    days_active: int
    actions_completed: int
    replies: int
    calls_booked: int


@dataclass(frozen=True)
class WeekFacts:
    """Everything a generator may use about one Monday–Sunday week of one user.

    ``previous`` is None when the user had no activity before this week (their first week).
    ``reply_rate`` is replies / actions sent this week (at most 1), None when nothing was sent.
    ``wins`` holds up to 3 names of leads who replied or booked a call this week.
    """

    user_name: str
    week_start: date
    days_active: int
    actions_completed: int
    replies: int
    calls_booked: int
    previous: WeekNumbers | None = None
    best_day: str | None = None
    reply_rate: float | None = None
    cold_leads: int = 0
    streak: int = 0
    focus: str | None = None
    wins: tuple[str, ...] = ()


@dataclass(frozen=True)
class Insights:
    insight_text: str
    narrative_summary: str
    next_week_focus: str
    win_post: str
    insight_post: str


class InsightGenerator(Protocol):
    def generate(self, facts: WeekFacts) -> Insights: ...


def join_words(words: list[str] | tuple[str, ...]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _percent(rate: float) -> int:
    return round(rate * 100)


def _first_name(name: str) -> str:
    return name.split()[0] if name.strip() else "Hi"


def _change(now: int, before: int) -> int:
    """Relative change in percent (``before`` > 0)."""
    return round((now - before) * 100 / before)


class BuiltinInsights:
    """Deterministic texts from the numbers alone; see the module docstring for the rules."""

    def generate(self, facts: WeekFacts) -> Insights:
        return Insights(
            insight_text=_insight(facts),
            narrative_summary=_narrative(facts),
            next_week_focus=_focus(facts),
            win_post=_win_post(facts),
            insight_post=_insight_post(facts),
        )


# --- the insight: the trend against last week, then the one observation that matters most ---

def _trend(facts: WeekFacts) -> str:
    done, prev = facts.actions_completed, facts.previous
    if prev is None:
        if done == 0:
            return "This was your first week, and nothing is marked done yet."
        return f"Your first week: {plural(done, 'action')} completed."
    before = prev.actions_completed
    if done == 0:
        if before == 0:
            return "No actions were completed this week, nor the week before."
        return f"No actions were completed this week, after {before} the week before."
    if before == 0:
        return f"You completed {plural(done, 'action')} after a week with none."
    if done > before:
        return f"You completed {plural(done, 'action')}, up from {before} last week (+{_change(done, before)}%)."
    if done < before:
        return f"You completed {plural(done, 'action')}, down from {before} last week ({_change(done, before)}%)."
    return f"You completed {plural(done, 'action')}, the same as last week."


def _replies_sentence(facts: WeekFacts) -> str | None:
    replies = facts.replies
    if facts.reply_rate is not None and replies:
        return f"{plural(replies, 'reply')} came in: a {_percent(facts.reply_rate)}% reply rate on what you sent."
    if facts.reply_rate is not None:
        return "None of the messages you sent got a reply yet; the follow-ups are where replies come from."
    if replies:
        return f"{plural(replies, 'reply')} came in."
    return None


def _cold_sentence(facts: WeekFacts) -> str | None:
    if not facts.cold_leads:
        return None
    verb = "has" if facts.cold_leads == 1 else "have"
    return f"{plural(facts.cold_leads, 'lead')} {verb} gone three weeks without a touch."


def _best_day_sentence(facts: WeekFacts) -> str | None:
    if facts.best_day and facts.days_active >= 2:
        return f"{facts.best_day} was your strongest day: worth keeping that slot free next week."
    return None


def _insight(facts: WeekFacts) -> str:
    if facts.actions_completed == 0:
        habit = "start" if facts.previous is None else "restart"
        second = _cold_sentence(facts) or f"One small action on Monday is enough to {habit} the habit."
    else:
        second = (
            (_replies_sentence(facts) if facts.replies or facts.reply_rate is not None else None)
            or _best_day_sentence(facts)
            or _streak_sentence(facts)
            or _cold_sentence(facts)
            or f"You showed up on {plural(facts.days_active, 'day')}."
        )
    return f"{_trend(facts)} {second}"


# --- the narrative: what happened, what moved, what is waiting ---

def _streak_sentence(facts: WeekFacts) -> str | None:
    if facts.streak >= 2:
        return f"You are on a {facts.streak}-day streak."
    return None


def _booked(calls: int) -> str:
    return f"{plural(calls, 'call')} booked"


def _numbers_sentence(facts: WeekFacts) -> str:
    name = _first_name(facts.user_name)
    if facts.actions_completed == 0 and facts.days_active == 0:
        return f"{name}, this was a quiet week: no actions completed."
    if facts.actions_completed == 0:
        return f"{name}, you were active on {plural(facts.days_active, 'day')} but completed no actions."
    extras = ([plural(facts.replies, "reply")] if facts.replies else []) + (
        [_booked(facts.calls_booked)] if facts.calls_booked else []
    )
    tail = f", with {join_words(extras)}" if extras else ""
    return (
        f"{name}, you were active on {plural(facts.days_active, 'day')} and completed "
        f"{plural(facts.actions_completed, 'action')}{tail}."
    )


def _narrative(facts: WeekFacts) -> str:
    sentences = [_numbers_sentence(facts)]
    if facts.wins:
        sentences.append(f"Conversations moved forward with {join_words(facts.wins)}.")
    elif facts.focus and facts.actions_completed:
        sentences.append(f"You worked with the focus \u201c{facts.focus}\u201d.")
    third = _streak_sentence(facts) or _cold_sentence(facts)
    if third:
        sentences.append(third)
    if len(sentences) == 1:
        sentences.append(
            "Next week starts with a fresh plan, sized to your calendar."
            if facts.actions_completed == 0
            else "Every finished follow-up keeps a door open."
        )
    return " ".join(sentences)


# --- next week's focus: the first rule that fits ---

def _dropped_from(facts: WeekFacts) -> int | None:
    """Last week's count when this week fell by a quarter or more (from at least 4), else None."""
    prev = facts.previous
    if prev and prev.actions_completed >= 4 and facts.actions_completed <= prev.actions_completed * 3 // 4:
        return prev.actions_completed
    return None


def _focus(facts: WeekFacts) -> str:
    if facts.actions_completed == 0:
        return "Show up daily: one action every work day"
    if facts.replies:
        return "Reply within a day to everyone who answered"
    if facts.calls_booked:
        return "Send a follow-up within 24 hours of every call"
    if facts.cold_leads >= 3:
        return "Warm up 3 leads that have gone quiet"
    if (before := _dropped_from(facts)) is not None:
        return f"Get back to last week's pace: {before} actions"
    if facts.days_active < 3:
        return "Show up daily: one action every work day"
    if facts.reply_rate is not None and facts.reply_rate < 0.1:
        return "Make every message personal: one line only that lead would recognise"
    if facts.streak >= 5:
        return f"Protect your {facts.streak}-day streak: start each day with the Fast Win"
    return "Keep the pace and add 5 new leads to your pipeline"


# --- the two posts ---

def _win_post(facts: WeekFacts) -> str:
    done, replies, calls = facts.actions_completed, facts.replies, facts.calls_booked
    if replies or calls:
        wins = ([f"{plural(done, 'follow-up')} done"] if done else []) + (
            [plural(replies, "reply")] if replies else []) + ([_booked(calls)] if calls else [])
        opener = "A good week for conversations." if replies + calls > 1 else "One conversation moved this week."
        days = f"on {plural(facts.days_active, 'day')}" if facts.days_active else "a day"
        return (
            f"{opener}\n\n"
            f"{join_words(wins)}. No campaign, no funnel: a few minutes {days}, sending the message "
            "I would otherwise have put off.\n\n"
            "Most replies do not come from the first message. They come from the second or third, "
            "sent when you said you would.\n\n"
            "Who is the one person you meant to follow up with this week?"
        )
    if done:
        return (
            f"No replies this week, and that is fine.\n\n"
            f"I still did {plural(done, 'follow-up')} across {plural(facts.days_active, 'day')}. "
            "Pipelines are built in the weeks where nothing seems to happen; the answers show up later.\n\n"
            "Consistency beats intensity. What is your follow-up rhythm?"
        )
    return (
        "Some weeks the client work wins and the follow-ups wait.\n\n"
        "This was one of those weeks. The trick is not to let one quiet week turn into a quiet month: "
        "on Monday I restart with a single message to someone I have not spoken to in a while.\n\n"
        "How do you get back into the rhythm after a busy week?"
    )


def _insight_post(facts: WeekFacts) -> str:
    rate = facts.reply_rate
    if rate is not None and facts.replies:
        return (
            f"{_percent(rate)}% of the follow-ups I sent this week got a reply.\n\n"
            "What made the difference was not clever wording. It was timing: following up when I said "
            "I would, and keeping each message short enough to answer from a phone.\n\n"
            "What is your reply rate, and what moved it?"
        )
    if facts.best_day and facts.days_active >= 2 and facts.actions_completed:
        return (
            f"My best day for outreach this week was {facts.best_day}.\n\n"
            "Tracking it made one thing obvious: follow-ups happen when there is a slot for them, "
            f"not when there is time left over. So next week {facts.best_day} gets a protected half hour.\n\n"
            "When do you do your best business-development work?"
        )
    if facts.streak >= 2:
        return (
            f"{facts.streak} days in a row with at least one follow-up done.\n\n"
            "The streak matters more than the number. One message a day is small enough that there is "
            "never a reason to skip it, and it adds up to a pipeline.\n\n"
            "What is the smallest habit that keeps your business moving?"
        )
    if facts.cold_leads:
        return (
            f"I counted {plural(facts.cold_leads, 'contact')} I had not been in touch with for three weeks.\n\n"
            "Nobody goes cold on purpose. They go cold because there is always something more urgent. "
            "A short, no-ask note (an article, a congratulation) is usually enough to warm things up.\n\n"
            "How do you keep in touch without being pushy?"
        )
    return (
        "The follow-up is where most consulting work is won, and it is the first thing I drop when I am busy.\n\n"
        "What helps me: deciding the night before who gets a message, so the morning starts with "
        "sending instead of thinking.\n\n"
        "What is your system for follow-ups?"
    )
