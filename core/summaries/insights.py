"""The insight generator interface and the built-in, deterministic generator.

A generator turns a week's facts into five texts: an insight, a 2–3 sentence narrative, next
week's focus, and two short posts a consultant could put on LinkedIn. Every generator takes the
same :class:`~core.summaries.facts.WeekFacts` (whose docstring defines every figure) and returns the
same :class:`Insights`, so the LLM one can fall back to the built-in one on any error.

Rules of :class:`BuiltinInsights` (where the product spec is silent):

* Every sentence is true for any week by the definitions of ``WeekFacts``: no reply percentage
  unless ``reply_rate`` is given (3+ people written to), the week's replies never presented as replies to
  the week's messages, and completed *actions* never called follow-ups (a Fast Win is an action).
* Numbers are written with the right noun ("1 reply", "3 replies", "an 8-day streak"); a comparison
  with the week before is only made when it says something ("up from 7", never "0 replies, up from
  0"), and its change in percent only from a base of 3 or more (``MIN_BASE``).
* The summary's own texts call the summarised week "this week" and the one before "the week
  before"; next week's focus, read all through the next week, names no week at all; the posts call
  the summarised week "last week", as they are offered on the Monday after it.
* The best day is mentioned only when the user was active on at least two days (with one active
  day, "your best day" is not an insight).
* A week with calls booked is never called quiet: the narrative says the calls even when nothing was
  done or sent.
* The narrative never repeats the observation the insight ended with (the streak, the cold leads):
  read one after the other, the same sentence twice says nothing.
* What restarts the habit is asked of "your next work day", never of a named day: the summary is
  stored and read on any day, and a user's work days need not start on Monday.
* Next week's focus is the first rule that fits, most urgent first: replies → answer them within a
  day; calls → follow up each call; nothing done or sent → show up daily; 3+ cold leads → warm 3 of
  them up; a drop of a quarter or more (from 4+) → get back to that pace; active on fewer than 3
  days → show up daily; a reply rate under 10% → make messages personal; otherwise keep the streak
  or the pace.
* Both posts are always offered, and when the week has no figure worth publishing they carry none:
  the win post counts replies and calls when there were some (and only them: "2 messages sent and 2
  replies" reads as a rate), else the week's work, else nothing;
  the insight post states the reply rate only when there is one *and* a reply (a 0% rate is the
  user's to know, not to publish), else the best day, the streak, the cold leads, or a lesson with
  no figure at all.
* The posts never name leads: they are the user's private contacts, and a public post about "a
  reply from Ann Lee" is not something a consultant would publish.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from core.names import first_name
from core.summaries.facts import MIN_BASE, WeekFacts
from core.text import day_streak, noun, plural


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


def _change(now: int, before: int) -> str:
    """`` (+25%)``, the relative change, when ``before`` is a base a percentage may be stated over; else ``""``."""
    if before < MIN_BASE:
        return ""
    return f" ({round((now - before) * 100 / before):+d}%)"


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


class BuiltinInsights:
    """Deterministic texts from the numbers alone; see the module docstring for the rules."""

    def generate(self, facts: WeekFacts) -> Insights:
        observation = _observation(facts)
        return Insights(
            insight_text=f"{_trend(facts)} {observation}",
            narrative_summary=_narrative(facts, told=observation),
            next_week_focus=_focus(facts),
            win_post=_win_post(facts),
            insight_post=_insight_post(facts),
        )


# --- the insight: the trend against the week before, then the one observation that matters most ---

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
        return f"No actions were completed this week; the week before, you completed {plural(before, 'action')}."
    if before == 0:
        return f"You completed {plural(done, 'action')} after a week with none."
    if done > before:
        return f"You completed {plural(done, 'action')}, up from {before} the week before{_change(done, before)}."
    if done < before:
        return f"You completed {plural(done, 'action')}, down from {before} the week before{_change(done, before)}."
    return f"You completed {plural(done, 'action')}, the same as the week before."


def _answered_clause(facts: WeekFacts) -> str | None:
    """How the people written to in the week answered, with the reply rate; None when there is no rate to state."""
    rate = facts.reply_rate
    if rate is None:
        return None
    people = f"the {plural(facts.written_to, 'person', 'people')} you wrote to"
    if not facts.answered:
        return f"none of {people} has replied yet"
    return f"{facts.answered} of {people} {noun(facts.answered, 'has')} replied so far ({_percent(rate)}%)"


def _replies_sentence(facts: WeekFacts) -> str | None:
    """The week's replies, then how the week's messages fared: two figures, never one divided by the other."""
    clauses = [f"{plural(facts.replies, 'reply')} came in"] if facts.replies else []
    if answered := _answered_clause(facts):
        clauses.append(answered)
    return _capitalized("; ".join(clauses)) + "." if clauses else None


def _sent_sentence(facts: WeekFacts) -> str | None:
    return f"You did send {plural(facts.sent, 'message')}." if facts.sent else None


def _cold_sentence(facts: WeekFacts) -> str | None:
    if not facts.cold_leads:
        return None
    return f"{plural(facts.cold_leads, 'lead')} {noun(facts.cold_leads, 'has')} gone three weeks without a touch."


def _best_day(facts: WeekFacts) -> str | None:
    """The best day, when it is worth naming: with one active day, "your best day" is not an insight."""
    return facts.best_day if facts.days_active >= 2 else None


def _best_day_sentence(facts: WeekFacts) -> str | None:
    if day := _best_day(facts):
        return f"{day} was your strongest day: worth keeping that slot free next week."
    return None


def _observation(facts: WeekFacts) -> str:
    """The insight's second sentence, after the trend: the one observation that matters most."""
    if facts.actions_completed == 0:
        habit = "start" if facts.previous is None else "restart"
        return (
            _replies_sentence(facts)
            or _sent_sentence(facts)
            or _cold_sentence(facts)
            or f"One small action on your next work day is enough to {habit} the habit."
        )
    return (
        _replies_sentence(facts)
        or _best_day_sentence(facts)
        or _streak_sentence(facts)
        or _cold_sentence(facts)
        or f"You showed up on {plural(facts.days_active, 'day')}."
    )


# --- the narrative: what happened, what moved, what is waiting ---

def _streak_sentence(facts: WeekFacts) -> str | None:
    """The streak as a thing reached, not a state: the summary is stored and shown again later (and
    its post published whenever the user likes), when a streak it called running may have ended."""
    if facts.streak >= 2:
        return f"You reached {day_streak(facts.streak)}."
    return None


def _booked(calls: int) -> str:
    return f"{plural(calls, 'call')} booked"


def _sent(facts: WeekFacts) -> str:
    return f"{plural(facts.sent, 'message')} sent"


def _numbers_sentence(facts: WeekFacts) -> str:
    """The week in numbers; "a quiet week" only when nothing at all happened, calls booked included."""
    name, days = first_name(facts.user_name, fallback="Hi"), plural(facts.days_active, "day")
    extras = (
        ([_sent(facts)] if facts.sent else [])
        + ([plural(facts.replies, "reply")] if facts.replies else [])
        + ([_booked(facts.calls_booked)] if facts.calls_booked else [])
    )
    tail = f", with {join_words(extras)}" if extras else ""
    if facts.days_active == 0 and not extras:
        return f"{name}, this was a quiet week: no actions completed."
    if facts.days_active == 0:  # only calls found in the calendar
        return f"{name}, you completed no actions this week{tail}."
    if facts.actions_completed == 0:
        return f"{name}, you were active on {days}{tail}{',' if tail else ''} but completed no actions."
    return f"{name}, you were active on {days} and completed {plural(facts.actions_completed, 'action')}{tail}."


def _narrative(facts: WeekFacts, *, told: str) -> str:
    """What happened, what moved, what is waiting; never the sentence the insight ``told`` already."""
    sentences = [_numbers_sentence(facts)]
    if facts.wins:
        sentences.append(f"Conversations moved forward with {join_words(facts.wins)}.")
    elif facts.focus and facts.actions_completed:
        sentences.append(f"The week's focus was \u201c{facts.focus}\u201d.")
    third = next((said for said in (_streak_sentence(facts), _cold_sentence(facts)) if said and said != told), None)
    if third:
        sentences.append(third)
    if len(sentences) == 1:
        sentences.append(
            "Next week starts with a fresh plan."
            if facts.actions_completed == 0
            else "Every finished action keeps a door open."
        )
    return " ".join(sentences)


# --- next week's focus: the first rule that fits ---

def _dropped_from(facts: WeekFacts) -> int | None:
    """The week before's count when this week fell by a quarter or more (from at least 4), else None."""
    prev = facts.previous
    if prev and prev.actions_completed >= 4 and facts.actions_completed <= prev.actions_completed * 3 // 4:
        return prev.actions_completed
    return None


def _focus(facts: WeekFacts) -> str:
    if facts.replies:
        return "Reply within a day to everyone who answered"
    if facts.calls_booked:
        return "Send a follow-up within 24 hours of every call"
    if facts.actions_completed == 0 and facts.sent == 0:
        return "Show up daily: one action every work day"
    if facts.cold_leads >= 3:
        return "Warm up 3 leads that have gone quiet"
    if (before := _dropped_from(facts)) is not None:
        return f"Get back to {before} actions a week"
    if facts.days_active < 3:
        return "Show up daily: one action every work day"
    if facts.reply_rate is not None and facts.reply_rate < 0.1:
        return "Make every message personal: one line only that lead would recognise"
    if facts.streak >= 5:
        return "Protect your streak: start each day with the Fast Win"
    return "Keep the pace and add 5 new leads to your pipeline"


# --- the two posts ---

def _work(facts: WeekFacts) -> str | None:
    """The week's work in one true phrase: the messages sent, else the actions done (of any type)."""
    if facts.sent:
        return _sent(facts)
    if facts.actions_completed:
        return f"{plural(facts.actions_completed, 'action')} done"
    return None


def _win_post(facts: WeekFacts) -> str:
    replies, calls = facts.replies, facts.calls_booked
    if replies or calls:
        # The wins alone: "2 messages sent and 2 replies" would read as a rate the week may not have had.
        tally = ([plural(replies, "reply")] if replies else []) + ([_booked(calls)] if calls else [])
        opener = "A good week for conversations." if replies + calls > 1 else "One conversation moved forward."
        return (
            f"{opener}\n\n"
            f"Last week: {join_words(tally)}. No campaign, no funnel: one small step at a time.\n\n"
            "A reply often comes to the second or third message, not the first: the one sent when you said "
            "you would follow up.\n\n"
            "Who is the one person you meant to follow up with this week?"
        )
    if work := _work(facts):
        return (
            "No replies last week, and that is fine.\n\n"
            f"I still kept at it: {work}. Pipelines are built in the weeks where nothing seems to happen; "
            "the answers show up later.\n\n"
            "Consistency beats intensity. What is your follow-up rhythm?"
        )
    return (
        "Some weeks the follow-ups wait.\n\n"
        "Last week was one of those. The trick is not to let one quiet week turn into a quiet month, so "
        "I restart with a single message to someone I have not spoken to in a while.\n\n"
        "How do you get back into the rhythm after a quiet week?"
    )


def _insight_post(facts: WeekFacts) -> str:
    rate = facts.reply_rate
    if rate is not None and facts.answered:
        return (
            f"Last week I wrote to {plural(facts.written_to, 'lead')}, and {facts.answered} of them "
            f"{noun(facts.answered, 'has')} replied so far: {_percent(rate)}%.\n\n"
            "I watch that share more than the number of messages: it tells me whether what I send is worth "
            "answering.\n\n"
            "What is your reply rate, and what moved it?"
        )
    if day := _best_day(facts):
        return (
            f"My most productive day last week was {day}.\n\n"
            "Seeing it made one thing obvious: business development happens when there is a slot for it, "
            f"not when there is time left over. So {day} gets a protected half hour this week.\n\n"
            "When do you do your best business-development work?"
        )
    if facts.streak >= 2:
        return (
            f"I reached {day_streak(facts.streak)}: not one work day without a business-development action.\n\n"
            "The streak matters more than the number. One small action a day is easy enough that there is "
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
        "The follow-up is where a lot of consulting work is won, and it is the easiest thing to drop in a "
        "busy week.\n\n"
        "What helps: deciding the night before who gets a message, so the morning starts with sending "
        "instead of thinking.\n\n"
        "What is your system for follow-ups?"
    )
