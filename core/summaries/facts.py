"""The figures of a weekly summary, each defined once (in :class:`WeekFacts`) for the code that computes
them (:mod:`core.summaries.service`) and for every generator that words them, the LLM one included."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

#: The least data a figure is drawn from. "100% got a reply" from one message, "+100%" from 1 to 2,
#: or "my best day" from one action is true arithmetic and no finding: below it, the texts give the
#: counts, with no percentage and no best day.
MIN_BASE = 3


@dataclass(frozen=True)
class WeekNumbers:
    """The four counted numbers of one week (defined in :class:`WeekFacts`), as stored with the summary."""

    days_active: int
    actions_completed: int
    replies: int
    calls_booked: int


@dataclass(frozen=True)
class WeekFacts:
    """Everything a generator may say about one user's week; each figure is defined here and only here.

    The week is the user's local Monday 00:00 to the next Monday 00:00 (``week_start`` is that Monday);
    after a move, it starts where the week before ended (:func:`core.summaries.service.week_bounds`).
    Figures come from the append-only event log (``action_events``), never from the actions' current
    state, and only from the user's own events: one on channel ``system`` (an earlier SENT action
    closed when its follow-up is sent) is not something the user did.

    - ``days_active``: local days of the week on which the user did something: an event of theirs (a
      snooze moved to another date is one, as the first snooze is), or a call they logged themselves,
      ``logged_calls.source`` person (dated by when they logged it: the call's own actions are the
      system's, and a call found in their calendar is not something they did, even once the event
      that found it is gone). A count, never a share of the week's days (the user's first week starts
      on the day they joined). Hours a move west adds before the Monday count on the Monday, so it is
      never more than 7.
    - ``actions_completed``: distinct actions with a DONE or REPLIED event in the week (REPLIED then
      DONE counts once). They are of any type, a FAST_WIN as much as a follow-up, so a text calls
      them *actions*, never follow-ups.
    - ``replies``: distinct actions with a REPLIED event in the week, whenever their message went
      out: most replies of a week answer messages of earlier weeks.
    - ``calls_booked``: calls logged (by ``created_at``) in the week, by the user or found in their
      calendar.
    - ``sent``: distinct actions the user marked SENT in the week: the week's own messages.
    - ``written_to``: distinct leads those ``sent`` went to: the people written to in the week.
    - ``answered``: how many of those ``written_to`` have replied by the time the summary is built: a
      REPLIED event of the user, on any action of the lead (the lead often answers the later
      follow-up), after the week's first message to them. A lead written to twice who replied once
      is one reply to one person, never two messages answered.
    - ``reply_rate``: the reply rate of the week, ``answered / written_to``, the share of the people
      written to who replied; None when fewer than ``MIN_BASE`` (3) people were written to, and then
      no text states a reply percentage. ``replies / sent`` is never a rate: it would divide
      replies, many of them to older messages, by this week's messages.
    - ``previous``: the four numbers of the week before, as the user was told them: those of its
      stored summary when there is one (counted again after a change of timezone, they would not be
      the ones the user read), else counted the same way. None in the user's first week, the one
      holding the local date they joined (``users.created_at``; it may have started mid-week), and
      only then: a later week with nothing logged before it has a week before of zeros.
    - ``best_day``: the weekday on which the user moved the most actions forward (distinct actions
      with a SENT, REPLIED or DONE event that day), when that is at least ``MIN_BASE`` (3) and
      strictly more than on any other day; else None (a tie, or too little to call a best day).
    - ``cold_leads``: ACTIVE leads older than 21 days at the end of the week, none of whose actions
      had any event of the user in those 21 days (the NURTURE the system gives a lead gone cold is
      not a touch: until the user acts on it, the lead is still cold).
    - ``streak``: the user's streak as of the week's last day, its Sunday: :mod:`core.streaks`'s
      definition with that Sunday as today (:func:`core.streaks.streak_on`), so the same figure
      however late the summary is built, and nothing done after the week in it.
    - ``focus``: the focus the user set for this week, else the previous summary's next-week focus.
    - ``wins``: up to 3 names of leads who replied or had a call logged in the week, first come
      first (for the user's own eyes: a post never names a lead).
    """

    user_name: str
    week_start: date
    days_active: int
    actions_completed: int
    replies: int
    calls_booked: int
    sent: int = 0
    written_to: int = 0
    answered: int = 0
    previous: WeekNumbers | None = None
    best_day: str | None = None
    cold_leads: int = 0
    streak: int = 0
    focus: str | None = None
    wins: tuple[str, ...] = ()

    @property
    def reply_rate(self) -> float | None:
        """``answered / written_to``, or None below ``MIN_BASE`` people (see the class docstring)."""
        return self.answered / self.written_to if self.written_to >= MIN_BASE else None
