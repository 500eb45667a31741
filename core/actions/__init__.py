"""Actions: the state machine, the event log, and the follow-up rules that create new actions."""
