"""Everything that talks to a person: the `nbm` command, the web app, Slack and email."""
