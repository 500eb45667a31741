"""Every setting of NextBestMove, read from the environment in this one module.

Each setting has a default that works for local development, so a newcomer can run the product with
no environment at all. Production (``NBM_ENV=production``) refuses to start while a development
secret is still in place: a forgotten ``SECRET_KEY`` must fail loudly, not sign links with a key
that is published in this file.

Secrets are plain strings on a frozen dataclass whose ``repr`` hides them; nothing else in the
project reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from core.errors import ConfigError

#: Public on purpose: these make development work out of the box and are refused in production.
DEV_SECRET_KEY = "dev-secret-key-not-for-production"
DEV_ENCRYPTION_KEYS = "dev:ZGV2LWtleS1ub3QtZm9yLXByb2R1Y3Rpb24tMDAwMDA="

ENVIRONMENTS = ("development", "test", "production")
EMAIL_BACKENDS = ("outbox", "smtp")
SMTP_SECURITY = ("starttls", "ssl", "none")


def normalize_database_url(url: str) -> str:
    """Return ``url`` in the form SQLAlchemy needs for psycopg 3.

    Heroku hands out ``postgres://…``, which SQLAlchemy refuses; plain ``postgresql://`` would pick
    psycopg2, which we do not install. Both become ``postgresql+psycopg://``.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    if url.startswith("postgresql+psycopg://"):
        return url
    raise ConfigError(
        f"DATABASE_URL must start with postgres://, postgresql:// or postgresql+psycopg://; "
        f"got {url.split('://')[0]!r}://…"
    )


@dataclass(frozen=True)
class Settings:
    """The whole configuration. Build it with :func:`load_settings`, never by hand in code."""

    env: str = "development"
    #: None means "start the embedded PostgreSQL in data_dir" (see core.embedded).
    database_url: str | None = None
    #: None means "start the embedded Redis in data_dir".
    redis_url: str | None = None
    data_dir: Path = Path(".nbm")
    base_url: str = "http://localhost:8000"
    secret_key: str = field(default=DEV_SECRET_KEY, repr=False)
    encryption_keys: str = field(default=DEV_ENCRYPTION_KEYS, repr=False)
    log_level: str = "INFO"
    web_threads: int = 8
    # Slack: OAuth (multi-workspace) needs client id/secret; one workspace needs only a bot token.
    slack_client_id: str | None = None
    slack_client_secret: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str = "https://slack.com/api/"
    # Email: "outbox" writes messages under NBM_DATA_DIR/outbox for /dev/outbox; "smtp" sends them.
    email_backend: str = "outbox"
    email_from: str = "NextBestMove <plan@nextbestmove.localhost>"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_timeout: int = 20
    # Optional OpenAI-compatible endpoint for weekly insights (the built-in generator otherwise).
    insights_llm_url: str | None = None
    insights_llm_api_key: str | None = field(default=None, repr=False)
    insights_llm_model: str = "gpt-4o-mini"
    insights_llm_timeout: int = 10

    @property
    def is_production(self) -> bool:
        return self.env == "production"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number; got {raw!r}") from None


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = (env.get(name) or default).lower()
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``env`` (the process environment by default) and check them."""
    env = os.environ if env is None else env
    nbm_env = env.get("NBM_ENV", "development")
    if nbm_env not in ENVIRONMENTS:
        raise ConfigError(f"NBM_ENV must be one of {', '.join(ENVIRONMENTS)}; got {nbm_env!r}")
    database_url = env.get("DATABASE_URL") or None
    settings = Settings(
        env=nbm_env,
        database_url=normalize_database_url(database_url) if database_url else None,
        redis_url=env.get("REDIS_URL") or None,
        data_dir=Path(env.get("NBM_DATA_DIR") or ".nbm"),
        base_url=(env.get("BASE_URL") or "http://localhost:8000").rstrip("/"),
        secret_key=env.get("SECRET_KEY") or DEV_SECRET_KEY,
        encryption_keys=env.get("ENCRYPTION_KEYS") or DEV_ENCRYPTION_KEYS,
        log_level=(env.get("LOG_LEVEL") or "INFO").upper(),
        web_threads=_int(env, "WEB_THREADS", 8),
        slack_client_id=env.get("SLACK_CLIENT_ID") or None,
        slack_client_secret=env.get("SLACK_CLIENT_SECRET") or None,
        slack_signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
        slack_bot_token=env.get("SLACK_BOT_TOKEN") or None,
        slack_app_token=env.get("SLACK_APP_TOKEN") or None,
        slack_api_url=_with_slash(env.get("SLACK_API_URL") or "https://slack.com/api/"),
        email_backend=_choice(env, "EMAIL_BACKEND", "outbox", EMAIL_BACKENDS),
        email_from=env.get("EMAIL_FROM") or "NextBestMove <plan@nextbestmove.localhost>",
        smtp_host=env.get("SMTP_HOST") or "localhost",
        smtp_port=_int(env, "SMTP_PORT", 587),
        smtp_security=_choice(env, "SMTP_SECURITY", "starttls", SMTP_SECURITY),
        smtp_username=env.get("SMTP_USERNAME") or None,
        smtp_password=env.get("SMTP_PASSWORD") or None,
        smtp_timeout=_int(env, "SMTP_TIMEOUT", 20),
        insights_llm_url=env.get("INSIGHTS_LLM_URL") or None,
        insights_llm_api_key=env.get("INSIGHTS_LLM_API_KEY") or None,
        insights_llm_model=env.get("INSIGHTS_LLM_MODEL") or "gpt-4o-mini",
        insights_llm_timeout=_int(env, "INSIGHTS_LLM_TIMEOUT", 10),
    )
    if not settings.base_url.startswith(("http://", "https://")):
        raise ConfigError(f"BASE_URL must start with http:// or https://; got {settings.base_url!r}")
    if settings.is_production:
        _refuse_development_secrets(settings)
    return settings


def _refuse_development_secrets(settings: Settings) -> None:
    """Production must bring its own secrets and its own servers."""
    problems = []
    if settings.secret_key == DEV_SECRET_KEY:
        problems.append("SECRET_KEY is the development key")
    if settings.encryption_keys == DEV_ENCRYPTION_KEYS or "dev:" in settings.encryption_keys:
        problems.append("ENCRYPTION_KEYS contains the development key")
    if settings.database_url is None:
        problems.append("DATABASE_URL is not set")
    if settings.email_backend == "outbox":  # it would keep every digest on the server's disk
        problems.append("EMAIL_BACKEND is outbox (development only): set EMAIL_BACKEND=smtp and SMTP_HOST")
    if problems:
        raise ConfigError("refusing to start in production: " + "; ".join(problems))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return load_settings()

