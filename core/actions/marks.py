"""What a person may ask an action to become: the one table every channel's controls and words come from.

A mark is a word a person uses (``/nbm done 2``, ``nbm mark ID done``, and the word an email link
carries), the state it asks for, and how a person is told about it. Slack's button ids, the email's
link transitions, its buttons and its pages all derive from :data:`MARKS`; adding a mark here is the
only place a new one is listed. A snoozed action has its own marks (:data:`SNOOZED_MARKS`: unsnooze),
which only the typed channels, Slack's ``/nbm`` and the CLI, read (:data:`TYPED`, :data:`TYPED_CHANNELS`):
no button or email link offers them, as every button is on an open action.

The words travel on the wire (links already sent carry them, Slack button ids are made of them), so
a word is never changed once released.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.models import ActionState, Channel


@dataclass(frozen=True)
class Mark:
    """One thing a person may ask of an action: an open one (:data:`MARKS`), or a snoozed one."""

    #: Typed in Slack and the CLI, carried by email links: a wire format.
    word: str
    target: ActionState
    #: Its button, in every channel.
    label: str
    #: What the refusal of another change offers instead: "you can: mark it done, snooze it".
    verb: str
    #: What it leaves the action: "Already done: …" (:attr:`past` says it with what did it).
    participle: str
    #: Only a message to a lead is sent, and can be replied to (``core.actions.rules.is_message``).
    message_only: bool = False

    @property
    def is_snooze(self) -> bool:
        """A snooze also needs the date it ends."""
        return self.target is ActionState.SNOOZED

    @property
    def past(self) -> str:
        """What it did: "Marked done: …", and "it cannot be marked sent"; a snooze "snoozed"."""
        return self.participle if self.is_snooze else f"marked {self.participle}"


DONE = Mark("done", ActionState.DONE, "Done", "mark it done", "done")
SENT = Mark("sent", ActionState.SENT, "Sent", "mark it sent", "sent", message_only=True)
REPLIED = Mark("replied", ActionState.REPLIED, "Replied", "mark it replied", "replied", message_only=True)
SNOOZE = Mark("snooze", ActionState.SNOOZED, "Snooze", "snooze it", "snoozed")

#: Every mark, in the order every channel shows them.
MARKS: tuple[Mark, ...] = (DONE, SENT, REPLIED, SNOOZE)
#: Each mark by its word.
BY_WORD: dict[str, Mark] = {mark.word: mark for mark in MARKS}
#: Each mark by the state it asks for.
BY_TARGET: dict[ActionState, Mark] = {mark.target: mark for mark in MARKS}

UNSNOOZE = Mark("unsnooze", ActionState.NEW, "Unsnooze", "unsnooze it", "unsnoozed")
#: The marks of a snoozed action: typed only, never a button on an open action (module docstring).
SNOOZED_MARKS: tuple[Mark, ...] = (UNSNOOZE,)
#: Each word a person may type in Slack's ``/nbm`` and the CLI: every mark, a snoozed action's too.
TYPED: dict[str, Mark] = {mark.word: mark for mark in (*MARKS, *SNOOZED_MARKS)}
#: The channels a person types marks in (:data:`TYPED`): the only ones that can ask for :data:`SNOOZED_MARKS`.
TYPED_CHANNELS = frozenset({Channel.SLACK, Channel.CLI})

