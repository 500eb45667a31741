"""The domain of NextBestMove, over Postgres. Knows nothing of Slack, Flask, email or RQ's worker."""
