"""The settings every process of the run shares, given the way production gives them: the environment.

The run's processes must reach the run's servers and nothing else, whatever the shell that
started ``nbm chaos`` had set: every variable ``core/config.py`` reads is dropped from the inherited
environment before the run's own are set (a stray ``STRIPE_SECRET_KEY`` would turn billing on, a
stray ``SLACK_API_URL`` would send DMs to the real Slack).

This process uses the same settings for its ticks and its reads: :func:`use_here` switches it over
and checks that the database it now reaches is the run's own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from bot.channels import register_all
from core import config
from core import queue as core_queue
from core.db import get_engine

#: Names ``core/config.py`` reads, and the prefixes of the others.
SETTING_NAMES = frozenset({"DATABASE_URL", "BASE_URL", "SECRET_KEY", "LOG_LEVEL", "WEB_THREADS", "CALENDAR_BUDGET",
                           "PORT", "SEND_LEASE_SECONDS"})
SETTING_PREFIXES = ("NBM_", "REDIS_", "SLACK_", "STRIPE_", "SMTP_", "EMAIL_", "GOOGLE_", "MICROSOFT_", "INSIGHTS_",
                    "ENCRYPTION_")
BOT_TOKEN = "xoxb-chaos-bot-token"


def product_env(*, database_url: str, redis_url: str, smtp_port: int, slack_api_url: str, web_base: str,
                signing_secret: str, data_dir: Path) -> dict[str, str]:
    """The environment of every process of the run."""
    inherited = {key: value for key, value in os.environ.items()
                 if key not in SETTING_NAMES and not key.startswith(SETTING_PREFIXES)}
    return inherited | {
        "NBM_ENV": "development",
        "NBM_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "BASE_URL": web_base,
        "LOG_LEVEL": "WARNING",
        "EMAIL_BACKEND": "smtp",
        "EMAIL_FROM": "NextBestMove <plan@chaos.nextbestmove.invalid>",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_SECURITY": "none",
        "SMTP_TIMEOUT": "10",
        "SLACK_SIGNING_SECRET": signing_secret,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack_api_url,
        # A send here takes well under a second: a worker killed mid-send has its delivery tried again
        # within simulated hours, not the simulated days that production's quarter of an hour is here.
        "SEND_LEASE_SECONDS": "20",
    }


def use_here(env: Mapping[str, str], *, database: str) -> None:
    """Make this process one of the run's: its settings, its Redis, its senders (Slack included,
    so that the ticks here find Slack deliveries due). Refuses if the engine already points elsewhere."""
    for key in [k for k in os.environ if k in SETTING_NAMES or k.startswith(SETTING_PREFIXES)]:
        del os.environ[key]
    os.environ.update({k: v for k, v in env.items() if k in SETTING_NAMES or k.startswith(SETTING_PREFIXES)})
    config.get_settings.cache_clear()
    core_queue.get_redis.cache_clear()
    reached = get_engine().url.database
    if reached != database:
        raise RuntimeError(f"this process already reaches database {reached!r}, not the run's {database!r}")
    register_all()
