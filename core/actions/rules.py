"""The action state machine and effort estimates, as data (PRODUCT.md, "Actions").

| from               | to                 |
|--------------------|--------------------|
| NEW                | SENT               |
| NEW, SENT          | REPLIED            |
| NEW, SENT, REPLIED | DONE               |
| NEW, SENT          | SNOOZED (a date)   |
| SNOOZED            | NEW                |
| DONE               | ARCHIVED (system)  |

Any other change is refused with a message naming what is allowed. Asking for the state the action
is already in is not a change but a repeat: the caller answers with the current state (a double
click, a Slack retry, an email link opened twice).

Sent and Replied are about a message to a lead, so only an action that is one can be marked so
(:data:`MESSAGE_TYPES`, with a lead); every other action is Done or Snoozed. Every channel offers
the marks :func:`marks_offered` lists, and :func:`check_change` refuses the rest, so a stale
button or a typed command cannot put a call prep under "Waiting for a reply".

:func:`check_change` is the one check of a change: ``core.actions.service.change_state`` acts on
its answer, and a channel that asks before acting (the email's confirmation page) shows it, so no
channel repeats the state machine.

A lead has one message waiting for a reply: sending or answering another closes the earlier one as
the system (SENT → DONE, channel ``system``), while its row in an older plan still offers Replied.
Replied asked of such a message is asked of the lead's message waiting now (a :class:`MovedReply`);
with none waiting, it is a repeat once the lead's reply was recorded since the close, else refused
saying why (``core.actions.closed`` reads each from the data). A
person's own Done stays done: Replied on it is refused as the table says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from core.actions.marks import BY_TARGET, MARKS, SNOOZED_MARKS, TYPED_CHANNELS, UNSNOOZE
from core.clock import utcnow
from core.errors import InvalidTransition
from core.models import Action, ActionState, ActionType, Channel
from core.text import short_date_from

ALLOWED: dict[ActionState, frozenset[ActionState]] = {
    ActionState.NEW: frozenset({ActionState.SENT, ActionState.REPLIED, ActionState.DONE, ActionState.SNOOZED}),
    ActionState.SENT: frozenset({ActionState.REPLIED, ActionState.DONE, ActionState.SNOOZED}),
    ActionState.REPLIED: frozenset({ActionState.DONE}),
    ActionState.SNOOZED: frozenset({ActionState.NEW}),
    ActionState.DONE: frozenset({ActionState.ARCHIVED}),
    ActionState.ARCHIVED: frozenset(),
}

#: Types of action that are a message to a lead. POST_CALL is the note after a call (thanks, next
#: steps): it is sent, and the lead may answer it. CALL_PREP, CONTENT and FAST_WIN are work the user
#: does alone.
MESSAGE_TYPES = frozenset({ActionType.OUTREACH, ActionType.FOLLOW_UP, ActionType.NURTURE, ActionType.POST_CALL})

#: The changes a person may ask of an open action, in the order every channel shows them.
_MESSAGE_MARKS = tuple(mark.target for mark in MARKS)
_TASK_MARKS = tuple(mark.target for mark in MARKS if not mark.message_only)


def is_message(action_type: ActionType, *, has_lead: bool) -> bool:
    """True when the action is a message to a lead: there is someone to send it to and to hear from."""
    return has_lead and action_type in MESSAGE_TYPES


def marks_offered(action_type: ActionType, *, has_lead: bool) -> tuple[ActionState, ...]:
    """What an open action's buttons offer: Done, Sent, Replied, Snooze for a message; else Done, Snooze."""
    return _MESSAGE_MARKS if is_message(action_type, has_lead=has_lead) else _TASK_MARKS


#: States that count as a completion for streaks (``completed_at`` is set on both).
COMPLETION_STATES = frozenset({ActionState.DONE, ActionState.REPLIED})

#: Minutes each type of action is expected to take (the plan's total and the Fast Win choice).
EFFORT_MINUTES: dict[ActionType, int] = {
    ActionType.FAST_WIN: 2,
    ActionType.FOLLOW_UP: 5,
    ActionType.NURTURE: 5,
    ActionType.OUTREACH: 10,
    ActionType.POST_CALL: 10,
    ActionType.CALL_PREP: 15,
    ActionType.CONTENT: 20,
}

#: How a refusal names each change; a person's marks say it themselves (``core.actions.marks``).
VERBS = {
    **{mark.target: mark.verb for mark in (*MARKS, *SNOOZED_MARKS)},
    ActionState.ARCHIVED: "archive it",
}
#: The changes an action that is not a message may have, as a refusal offers them.
_TASK_VERBS = ", ".join(mark.verb for mark in MARKS if not mark.message_only)


class Verdict(StrEnum):
    """What asking for a change would be."""

    ALLOWED = "allowed"
    REPEAT = "repeat"  # the action already is in that state: not a change, and not an error
    REFUSED = "refused"


@dataclass(frozen=True)
class MovedReply:
    """Replied asked of ``asked``, a message the system closed, is recorded on the lead's message
    waiting now, sent on ``sent_on`` (the user's local date; ``today`` theirs too). Every channel
    says it in these words, so a person always learns which message took the reply."""

    asked: Action
    lead_name: str
    sent_on: date
    today: date

    @property
    def headline(self) -> str:
        return f"{self.lead_name} replied"

    @property
    def where(self) -> str:
        """Where the reply went, once recorded."""
        return f"marked on your message sent {self._sent}, the one that was waiting for their reply"

    @property
    def preview(self) -> str:
        """Where the reply will go, said before it is recorded (the email's confirmation page)."""
        return (f"This message is closed: your message to {self.lead_name} sent {self._sent} is the one waiting "
                "for their reply now, so the reply will be marked on it.")

    @property
    def _sent(self) -> str:
        return short_date_from(self.sent_on, today=self.today)

    def __str__(self) -> str:
        return f"{self.headline}: {self.where}"


@dataclass(frozen=True)
class Check:
    """The answer of :func:`check_change` for ``channel`` asking ``action`` to become ``target``;
    ``reason`` (when refused) is fit for a person. ``core.actions.service.do_change`` acts on it.
    ``moved``: the person asked Replied of another action, a message the system closed, and this
    is the check of the lead's message waiting now (module docstring)."""

    action: Action
    target: ActionState
    channel: Channel
    verdict: Verdict
    reason: str = ""
    moved: MovedReply | None = None

    def refusal(self) -> InvalidTransition:
        """The error a channel that acts raises for a refused change."""
        return InvalidTransition(self.reason)


def check_change(action: Action, target: ActionState, *, channel: Channel) -> Check:
    """Whether ``action`` may move to ``target`` when ``channel`` asks: a repeat, refused (and why),
    or allowed. The state machine, Sent / Replied only for a message to a lead, and archiving only
    by the system (90 days after completion)."""
    if action.state == target:
        return Check(action, target, channel, Verdict.REPEAT)
    reason = _refusal(action, target, channel)
    return Check(action, target, channel, Verdict.ALLOWED if reason is None else Verdict.REFUSED, reason or "")


def _refusal(action: Action, target: ActionState, channel: Channel) -> str | None:
    """Why the change is refused, and what is allowed instead; None when it is allowed."""
    mark = BY_TARGET.get(target)
    if mark is not None and mark.message_only and not is_message(
        action.action_type, has_lead=action.person_id is not None
    ):
        return f"this is not a message to a lead, so it cannot be {mark.past}; you can: {_TASK_VERBS}"
    if target not in ALLOWED[action.state]:
        return _transition_refusal(action, target, channel)
    if target == ActionState.ARCHIVED and channel != Channel.SYSTEM:
        return "done actions are archived automatically 90 days after they were completed"
    return None


def _transition_refusal(action: Action, target: ActionState, channel: Channel) -> str:
    """Why the table refuses the action's state → ``target``, and what a person can do instead: the
    marks every channel offers (:func:`marks_offered`) that the table allows from that state.

    A snoozed action offers its date, when the system unsnoozes it; and where ``channel`` is one a
    person types marks in (Slack's ``/nbm``, the CLI: ``core.actions.marks.TYPED_CHANNELS``),
    unsnoozing it now, which is typed there (no button offers it, so the words name no control).
    Email has no way to unsnooze, so its pages say only the date. Only the system archives, so a
    done one offers nothing at all."""
    current = action.state
    refused = f"this action is {current.value.lower()}, so you cannot {VERBS[target]}"
    offered = marks_offered(action.action_type, has_lead=action.person_id is not None)
    options = [VERBS[state] for state in offered if state in ALLOWED[current]]
    if options:
        return f"{refused}; you can: {', '.join(options)}"
    if current == ActionState.SNOOZED:
        # Its year too when months away (a snooze may last a year); UTC's today decides that well enough.
        back = (f"on {short_date_from(action.snooze_until, today=utcnow().date())}" if action.snooze_until
                else "when its snooze ends")
        now = f", or {UNSNOOZE.verb} now" if channel in TYPED_CHANNELS else ""
        return f"{refused} yet; it comes back in your plan {back}{now}"
    return f"{refused}; nothing more can be done with it"
