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
"""

from __future__ import annotations

from core.errors import InvalidTransition
from core.models import ActionState, ActionType

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


def check_transition(current: ActionState, target: ActionState) -> None:
    """Raise InvalidTransition unless ``current`` → ``target`` is in the table (``current != target``)."""
    if target in ALLOWED[current]:
        return
    allowed = sorted(ALLOWED[current])
    options = ", ".join(_VERB[state] for state in allowed) if allowed else "nothing more can be done with it"
    raise InvalidTransition(
        f"this action is {current.value.lower()}, so you cannot {_VERB[target]}; you can: {options}"
    )
