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
is already in is not a change: the caller answers with the current state (a double click, a Slack
retry, an email link opened twice).

Sent and Replied are about a message to a lead, so only an action that is one can be marked so
(:data:`MESSAGE_TYPES`, with a lead); every other action is Done or Snoozed. Every channel offers
the buttons :func:`marks_offered` lists, and :func:`check_change` refuses the rest, so a stale
button or a typed command cannot put a call prep under "Waiting for a reply".
"""

from __future__ import annotations

from core.errors import InvalidTransition
from core.models import Action, ActionState, ActionType

ALLOWED: dict[ActionState, frozenset[ActionState]] = {
    ActionState.NEW: frozenset({ActionState.SENT, ActionState.REPLIED, ActionState.DONE, ActionState.SNOOZED}),
    ActionState.SENT: frozenset({ActionState.REPLIED, ActionState.DONE, ActionState.SNOOZED}),
    ActionState.REPLIED: frozenset({ActionState.DONE}),
    ActionState.SNOOZED: frozenset({ActionState.NEW}),
    ActionState.DONE: frozenset({ActionState.ARCHIVED}),
    ActionState.ARCHIVED: frozenset(),
}

#: What a person may ask for, by the word they use (CLI, `/nbm done 2`, an email link) → the target state.
MARKS: dict[str, ActionState] = {
    "done": ActionState.DONE,
    "sent": ActionState.SENT,
    "replied": ActionState.REPLIED,
    "snooze": ActionState.SNOOZED,
}

#: Types of action that are a message to a lead. POST_CALL is the note after a call (thanks, next
#: steps): it is sent, and the lead may answer it. CALL_PREP, CONTENT and FAST_WIN are work the user
#: does alone.
MESSAGE_TYPES = frozenset({ActionType.OUTREACH, ActionType.FOLLOW_UP, ActionType.NURTURE, ActionType.POST_CALL})

#: The changes a person may ask of an open action, in the order every channel shows them.
_MESSAGE_MARKS = (ActionState.DONE, ActionState.SENT, ActionState.REPLIED, ActionState.SNOOZED)
_TASK_MARKS = (ActionState.DONE, ActionState.SNOOZED)


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

_VERB = {
    ActionState.SENT: "mark it sent",
    ActionState.REPLIED: "mark it replied",
    ActionState.DONE: "mark it done",
    ActionState.SNOOZED: "snooze it",
    ActionState.NEW: "unsnooze it",
    ActionState.ARCHIVED: "archive it",
}


def check_change(action: Action, target: ActionState) -> None:
    """Raise InvalidTransition unless ``action`` may move to ``target`` (not the state it is in).

    The one check every channel runs before acting or before asking to confirm: the state machine,
    and Sent / Replied only for a message to a lead.
    """
    if target in (ActionState.SENT, ActionState.REPLIED) and not is_message(
        action.action_type, has_lead=action.person_id is not None
    ):
        raise InvalidTransition(
            f"this is not a message to a lead, so it cannot be {_PAST[target]}; you can: mark it done, snooze it"
        )
    check_transition(action.state, target)


_PAST = {ActionState.SENT: "marked sent", ActionState.REPLIED: "marked replied"}


def check_transition(current: ActionState, target: ActionState) -> None:
    """Raise InvalidTransition unless ``current`` → ``target`` is in the table (``current != target``)."""
    if target in ALLOWED[current]:
        return
    allowed = sorted(ALLOWED[current])
    options = ", ".join(_VERB[state] for state in allowed) if allowed else "nothing more can be done with it"
    raise InvalidTransition(
        f"this action is {current.value.lower()}, so you cannot {_VERB[target]}; you can: {options}"
    )
