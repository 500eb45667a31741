"""Block Kit builders: pure functions from domain data to Slack's JSON, easy to test and to look at."""
