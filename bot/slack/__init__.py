"""The Slack app: Bolt listeners, Block Kit builders, installation store and DM delivery."""
