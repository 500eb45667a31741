"""What an action is called where it is shown: the user's own description, else a phrase for its
type, with the lead's name; and once sent, what was sent (the waiting list)."""

from __future__ import annotations

from core.models import Action, ActionType

#: Titles by type, with the lead's name and without one (an action made by hand may have no lead).
_TITLES: dict[ActionType, tuple[str, str]] = {
    ActionType.OUTREACH: ("Reach out to {name}", "Reach out to someone new"),
    ActionType.FOLLOW_UP: ("Follow up with {name}", "Follow up"),
    ActionType.NURTURE: ("Check in with {name}", "Check in with a contact"),
    ActionType.CALL_PREP: ("Prepare for your call with {name}", "Prepare for your call"),
    ActionType.POST_CALL: ("Follow up after your call with {name}", "Follow up after your call"),
    ActionType.CONTENT: ("Write and post a short piece", "Write and post a short piece"),
    ActionType.FAST_WIN: ("Quick win with {name}", "Quick win"),
}

#: What a waiting action is called: the message that was sent, not the to-do it was ("Reach out to
#: Ann" reads as still to do once it is sent).
_SENT_TITLES: dict[ActionType, str] = {
    ActionType.OUTREACH: "Your first message to {name}",
    ActionType.FOLLOW_UP: "Your follow-up to {name}",
    ActionType.NURTURE: "Your check-in with {name}",
    ActionType.POST_CALL: "Your note after the call with {name}",
}


def action_title(action_type: ActionType, *, lead_name: str | None, description: str | None) -> str:
    """What the user reads for an action: their own description wins, else a phrase for its type."""
    if description and description.strip():
        return description.strip()
    with_lead, without = _TITLES[action_type]
    return with_lead.format(name=lead_name) if lead_name else without


def title_of(action: Action) -> str:
    """:func:`action_title` of an action read on its own (its lead loaded through the relationship)."""
    return action_title(action.action_type, lead_name=action.lead.name if action.lead else None,
                        description=action.description)


#: The start of the user's day, bound at each execution (SQL accepts a parameter where the instant goes).


def own_description(description: str | None, auto_created: bool) -> str | None:
    """The description the user wrote, if any: the rules' own ("Follow up with Ann Lee") name a to-do,
    which a message once sent no longer is."""
    return None if auto_created else description


def sent_title_of(action: Action) -> str:
    """What a sent action read on its own is called, as the waiting list calls it (:func:`waiting_title`)."""
    return waiting_title(action.action_type, lead_name=action.lead.name if action.lead else None,
                         description=own_description(action.description, action.auto_created))


def waiting_title(action_type: ActionType, *, lead_name: str | None, description: str | None) -> str:
    """A sent action's name in the waiting list: the user's own description (:func:`own_description`),
    else what was sent."""
    sent = _SENT_TITLES.get(action_type)
    if (description and description.strip()) or sent is None or lead_name is None:
        return action_title(action_type, lead_name=lead_name, description=description)
    return sent.format(name=lead_name)
