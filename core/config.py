"""Every setting of NextBestMove, read from the environment in this one module.

Each setting has a default that works for local development, so a newcomer can run the product with
no environment at all. Production (``NBM_ENV=production``) refuses to start while a development
secret, a development server or the development sender (``EMAIL_FROM`` on ``.localhost``) is still in
place: a forgotten ``SECRET_KEY`` must fail loudly, not sign links with a key that is published in
this file.

The encryption keys are parsed here (by :mod:`core.encryption_keys`), at start, rather than at the
first token a job decrypts: a malformed ``ENCRYPTION_KEYS`` stops every process before it serves
anyone. So is every other value that would only fail later, once per use: ``EMAIL_FROM`` (each email
would fail for good), a duration or count of 0 or less, a port out of range, an unknown ``LOG_LEVEL``.

Secrets are plain strings on a frozen dataclass whose ``repr`` hides them (and the password inside a
URL); nothing else in the project reads the environment.
"""

from __future__ import annotations

import hmac
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from email.utils import getaddresses
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from core.encryption_keys import DEV_KEYS, MIN_SECRET_BYTES, EncryptionKey, parse_encryption_keys
from core.errors import ConfigError

#: Public on purpose: it makes development work out of the box and is refused in production (so are
#: the development encryption keys, ``core.encryption_keys.DEV_KEYS``).
DEV_SECRET_KEY = "dev-secret-key-not-for-production"

ENVIRONMENTS = ("development", "test", "production")
EMAIL_BACKENDS = ("outbox", "smtp")
SMTP_SECURITY = ("starttls", "ssl", "none")
TRUE_WORDS = ("true", "1", "yes", "on")
FALSE_WORDS = ("false", "0", "no", "off")
#: The levels ``logging`` knows by name, as app.json lists them.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEV_EMAIL_FROM = "NextBestMove <plan@nextbestmove.localhost>"
#: One address a mail server elsewhere can answer: a local part, ``@``, a domain of dotted labels.
_ADDRESS = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")

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


def without_password(url: str) -> str:
    """``url`` with the password of its user part masked: Heroku's DATABASE_URL and REDIS_URL carry one."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    masked = f"{userinfo.partition(':')[0]}:********@{hostport}"
    return parts._replace(netloc=masked).geturl()


@dataclass(frozen=True, repr=False)
class Settings:
    """The whole configuration. Build it with :func:`load_settings`, never by hand in code."""

    env: str = "development"
    #: None means "start the embedded PostgreSQL in data_dir" (see core.embedded).
    database_url: str | None = None
    #: None means "start the embedded Redis in data_dir".
    redis_url: str | None = None
    #: Check a rediss:// server's certificate. Heroku Redis's is self-signed: app.json turns this off.
    redis_tls_verify: bool = True
    data_dir: Path = Path(".nbm")
    #: The port ``nbm web`` listens on when ``--port`` is not given (Heroku sets ``PORT``).
    port: int = 8000
    #: Unset, it is this machine at :attr:`port`, where ``nbm web`` (and ``nbm dev``'s web) listens.
    base_url: str = "http://localhost:8000"
    secret_key: str = field(default=DEV_SECRET_KEY, repr=False)
    encryption_keys: tuple[EncryptionKey, ...] = field(default=DEV_KEYS, repr=False)
    log_level: str = "INFO"
    web_threads: int = 8
    web_processes: int = 1  # of nbm web: WEB_CONCURRENCY, Heroku's name (bot.web.server)
    #: The most PostgreSQL connections one process opens (core.db): its share of the server's limit.
    db_pool_size: int = 16
    #: Seconds a job's claim to send a delivery keeps every other job off it (core.jobs.tasks).
    send_lease_seconds: float = 900
    # Slack: OAuth (multi-workspace) needs client id/secret; one workspace needs only a bot token.
    slack_client_id: str | None = None
    slack_client_secret: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str = "https://slack.com/api/"
    # Email: "outbox" writes messages under NBM_DATA_DIR/outbox for /dev/outbox; "smtp" sends them.
    email_backend: str = "outbox"
    email_from: str = DEV_EMAIL_FROM
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_timeout: float = 20
    # Optional OpenAI-compatible endpoint for weekly insights (the built-in generator otherwise).
    insights_llm_url: str | None = None
    insights_llm_api_key: str | None = field(default=None, repr=False)
    insights_llm_model: str = "gpt-4o-mini"
    insights_llm_timeout: float = 10
    # Calendars: a provider without its client id and secret is offered nowhere.
    google_client_id: str | None = None
    google_client_secret: str | None = field(default=None, repr=False)
    microsoft_client_id: str | None = None
    microsoft_client_secret: str | None = field(default=None, repr=False)
    microsoft_tenant: str = "common"
    #: Seconds the morning waits for all of a batch's calendars; a user whose calendars are not read
    #: by then gets ``default`` capacity that day.
    calendar_budget: float = 20
    #: Whether iCal addresses on loopback, private or link-local networks are read (core.calendars.feed).
    ical_allow_private_network: bool = False
    # Billing (Stripe): off, with full service for everyone, unless the secret key is set; then the
    # webhook secret and the price are required too (core/billing).
    stripe_secret_key: str | None = field(default=None, repr=False)
    stripe_webhook_secret: str | None = field(default=None, repr=False)
    stripe_price_id: str | None = None
    #: Stripe's API address; tests point it at a fake Stripe on 127.0.0.1.
    stripe_api_base: str = "https://api.stripe.com"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def google_enabled(self) -> bool:
        return bool(self.google_client_id and self.google_client_secret)

    @property
    def microsoft_enabled(self) -> bool:
        return bool(self.microsoft_client_id and self.microsoft_client_secret)

    @property
    def billing_enabled(self) -> bool:
        """Billing is on once Stripe's secret key is set (load_settings then insists on the rest)."""
        return self.stripe_secret_key is not None

    def __repr__(self) -> str:
        """Every setting but the secrets, URLs without their password: settings end up in logs and tracebacks."""
        shown = (f"{f.name}={self._shown(getattr(self, f.name))!r}" for f in fields(self) if f.repr)
        return f"Settings({', '.join(shown)})"

    @staticmethod
    def _shown(value: object) -> object:
        return without_password(value) if isinstance(value, str) and "://" in value else value


def _whole(env: Mapping[str, str], name: str, default: int, *, most: int | None = None) -> int:
    """A count or a port: 1 or more (none of them means anything at 0), at most ``most``."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1 or (most is not None and value > most):
        accepted = f"from 1 to {most}" if most else "of 1 or more"
        raise ConfigError(f"{name} must be a whole number {accepted}; got {raw!r}")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """A duration in seconds, fractions allowed: a limit of 0 or less would fail every call at once."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise ConfigError(f"{name} must be a number of seconds greater than 0, such as 10 or 2.5; got {raw!r}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...],
            fold: Callable[[str], str] = str.lower) -> str:
    """One of ``allowed``, in any case (``fold`` brings it to theirs)."""
    raw = env.get(name) or default
    if (value := fold(raw)) not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {raw!r}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in TRUE_WORDS or raw in FALSE_WORDS:
        return raw in TRUE_WORDS
    raise ConfigError(f"{name} must be true or false; got {raw!r}")


def _encryption_keys(env: Mapping[str, str]) -> tuple[EncryptionKey, ...]:
    """ENCRYPTION_KEYS then ENCRYPTION_SECRET's key; the development key only when neither is set."""
    spec, secret = env.get("ENCRYPTION_KEYS") or "", env.get("ENCRYPTION_SECRET") or None
    if not spec and secret is None:
        return DEV_KEYS
    return parse_encryption_keys(spec, secret)


@lru_cache(maxsize=16)
def email_from_domain(email_from: str) -> str:
    """The domain of ``EMAIL_FROM`` (``plan@example.com`` → ``example.com``), which every Message-ID and
    List-Id is on. Checked at start, by this same function: one address, named or not, ASCII (no
    SMTPUTF8 here), on a dotted domain, all on one line; anything else would fail every email for good
    at its first send, long after the process started."""
    found = getaddresses([email_from])
    address = found[0][1] if len(found) == 1 else ""
    # The address as written, not as the lenient parser mended it ("plan@exa mple.com").
    if not (email_from.isprintable() and address.isascii() and _ADDRESS.fullmatch(address) and address in email_from):
        raise ConfigError("EMAIL_FROM must be one ASCII email address on a dotted domain, with a name or without, "
                          f"such as 'NextBestMove <plan@example.com>' or plan@example.com; got {email_from!r}")
    return address.rpartition("@")[2]


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``env`` (the process environment by default) and check them."""
    env = os.environ if env is None else env
    nbm_env = env.get("NBM_ENV", "development")
    if nbm_env not in ENVIRONMENTS:
        raise ConfigError(f"NBM_ENV must be one of {', '.join(ENVIRONMENTS)}; got {nbm_env!r}")
    database_url = env.get("DATABASE_URL") or None
    port = _whole(env, "PORT", 8000, most=65535)
    settings = Settings(
        env=nbm_env,
        database_url=normalize_database_url(database_url) if database_url else None,
        redis_url=env.get("REDIS_URL") or None,
        redis_tls_verify=_bool(env, "REDIS_TLS_VERIFY", True),
        data_dir=Path(env.get("NBM_DATA_DIR") or ".nbm"),
        port=port,
        base_url=(env.get("BASE_URL") or f"http://localhost:{port}").rstrip("/"),
        secret_key=env.get("SECRET_KEY") or DEV_SECRET_KEY,
        encryption_keys=_encryption_keys(env),
        log_level=_choice(env, "LOG_LEVEL", "INFO", LOG_LEVELS, fold=str.upper),
        web_threads=_whole(env, "WEB_THREADS", 8),
        web_processes=_whole(env, "WEB_CONCURRENCY", 1),
        db_pool_size=_whole(env, "DB_POOL_SIZE", 16),
        send_lease_seconds=_seconds(env, "SEND_LEASE_SECONDS", 900),
        slack_client_id=env.get("SLACK_CLIENT_ID") or None,
        slack_client_secret=env.get("SLACK_CLIENT_SECRET") or None,
        slack_signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
        slack_bot_token=env.get("SLACK_BOT_TOKEN") or None,
        slack_app_token=env.get("SLACK_APP_TOKEN") or None,
        slack_api_url=_with_slash(env.get("SLACK_API_URL") or "https://slack.com/api/"),
        email_backend=_choice(env, "EMAIL_BACKEND", "outbox", EMAIL_BACKENDS),
        email_from=env.get("EMAIL_FROM") or DEV_EMAIL_FROM,
        smtp_host=env.get("SMTP_HOST") or "localhost",
        smtp_port=_whole(env, "SMTP_PORT", 587, most=65535),
        smtp_security=_choice(env, "SMTP_SECURITY", "starttls", SMTP_SECURITY),
        smtp_username=env.get("SMTP_USERNAME") or None,
        smtp_password=env.get("SMTP_PASSWORD") or None,
        smtp_timeout=_seconds(env, "SMTP_TIMEOUT", 20),
        insights_llm_url=env.get("INSIGHTS_LLM_URL") or None,
        insights_llm_api_key=env.get("INSIGHTS_LLM_API_KEY") or None,
        insights_llm_model=env.get("INSIGHTS_LLM_MODEL") or "gpt-4o-mini",
        insights_llm_timeout=_seconds(env, "INSIGHTS_LLM_TIMEOUT", 10),
        google_client_id=env.get("GOOGLE_CLIENT_ID") or None,
        google_client_secret=env.get("GOOGLE_CLIENT_SECRET") or None,
        microsoft_client_id=env.get("MICROSOFT_CLIENT_ID") or None,
        microsoft_client_secret=env.get("MICROSOFT_CLIENT_SECRET") or None,
        microsoft_tenant=env.get("MICROSOFT_TENANT") or "common",
        calendar_budget=_seconds(env, "CALENDAR_BUDGET", 20),
        ical_allow_private_network=_bool(env, "ICAL_ALLOW_PRIVATE_NETWORK", False),
        stripe_secret_key=env.get("STRIPE_SECRET_KEY") or None,
        stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET") or None,
        stripe_price_id=env.get("STRIPE_PRICE_ID") or None,
        stripe_api_base=(env.get("STRIPE_API_BASE") or "https://api.stripe.com").rstrip("/"),
    )
    _check_billing(settings)
    email_from_domain(settings.email_from)
    if not settings.base_url.startswith(("http://", "https://")):
        raise ConfigError(f"BASE_URL must start with http:// or https://; got {settings.base_url!r}")
    if settings.is_production:
        _refuse_what_would_hurt(settings, env)
    return settings


def _check_billing(settings: Settings) -> None:
    """Half a Stripe configuration is refused at start, naming what is missing: with the key alone,
    webhooks could not be verified (so nobody's subscription would ever be seen) or nobody could
    subscribe. With none of them, billing is simply off."""
    given = {"STRIPE_SECRET_KEY": settings.stripe_secret_key, "STRIPE_WEBHOOK_SECRET": settings.stripe_webhook_secret,
             "STRIPE_PRICE_ID": settings.stripe_price_id}
    missing = [name for name, value in given.items() if not value]
    if missing and len(missing) < len(given):
        raise ConfigError(f"billing needs all of STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET and STRIPE_PRICE_ID; "
                          f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set")
    if not settings.stripe_api_base.startswith(("http://", "https://")):
        raise ConfigError(f"STRIPE_API_BASE must start with https:// (or http:// for a local fake); "
                          f"got {settings.stripe_api_base!r}")


def _refuse_what_would_hurt(settings: Settings, env: Mapping[str, str]) -> None:
    """Production must bring its own secrets and its own servers, and be reached over https.

    Every problem is listed at once, each naming its variable, so one failed start is enough to fix
    them all.
    """
    problems = [*_secret_problems(settings), *_server_problems(settings, env)]
    if problems:
        raise ConfigError("refusing to start in production: " + "; ".join(problems))


def _secret_problems(settings: Settings) -> list[str]:
    problems = []
    if settings.secret_key == DEV_SECRET_KEY:
        problems.append("SECRET_KEY is the development key")
    elif len(settings.secret_key.encode()) < MIN_SECRET_BYTES:
        problems.append(f"SECRET_KEY is {len(settings.secret_key.encode())} bytes; production needs at least "
                        f"{MIN_SECRET_BYTES} random ones (app.json generates it)")
    # By the key's bytes, not its id: the public key under another name is just as public.
    public = [key.key_id for key in settings.encryption_keys if hmac.compare_digest(key.material, DEV_KEYS[0].material)]
    if public:
        problems.append(f"ENCRYPTION_KEYS holds the public development key (as {', '.join(map(repr, public))}): "
                        "set ENCRYPTION_SECRET (app.json generates it) or keys of your own (`nbm keys generate`)")
    return problems


#: What production accepts as EMAIL_FROM: on .localhost, no receiving server could check where mail came from.
_OWN_SENDER = "set it to an address on your own domain, such as 'NextBestMove <plan@yourdomain.com>'"


def _server_problems(settings: Settings, env: Mapping[str, str]) -> list[str]:
    problems = []
    if not env.get("BASE_URL"):
        problems.append("BASE_URL is not set: set the web app's public https:// address")
    elif not settings.base_url.startswith("https://"):
        problems.append(f"BASE_URL must start with https:// in production (links carry signed tokens, and Slack "
                        f"and OAuth providers call it); got {without_password(settings.base_url)!r}")
    if settings.database_url is None:
        problems.append("DATABASE_URL is not set")
    if settings.redis_url is None:
        problems.append("REDIS_URL is not set (the embedded Redis is for development)")
    if settings.email_backend == "outbox":  # it would keep every digest on the server's disk
        problems.append("EMAIL_BACKEND is outbox (development only): set EMAIL_BACKEND=smtp and SMTP_HOST")
    if not env.get("EMAIL_FROM"):
        problems.append(f"EMAIL_FROM is not set (the development sender on .localhost would stand in): {_OWN_SENDER}")
    elif email_from_domain(settings.email_from).lower().endswith(".localhost"):
        problems.append(f"EMAIL_FROM is on .localhost, a domain reserved for one's own machine: {_OWN_SENDER}; "
                        f"got {settings.email_from!r}")
    return problems + _plaintext_problems(settings)


def _plaintext_problems(settings: Settings) -> list[str]:
    """A secret the app sends must not cross the network in the clear: the plain-http addresses
    exist for local fakes (tests, benchmarks), the unencrypted SMTP for a relay that takes no password."""
    sent_over = (("SLACK_API_URL", settings.slack_api_url, "every workspace's bot token"),
                 ("STRIPE_API_BASE", settings.stripe_api_base, "STRIPE_SECRET_KEY"),
                 ("INSIGHTS_LLM_URL", settings.insights_llm_url if settings.insights_llm_api_key else None,
                  "INSIGHTS_LLM_API_KEY"))
    problems = [f"{name} must start with https:// in production (it carries {secret}); got {without_password(url)!r}"
                for name, url, secret in sent_over if url is not None and not url.startswith("https://")]
    if settings.smtp_security == "none" and settings.smtp_password:
        problems.append("SMTP_SECURITY is none while SMTP_PASSWORD is set: the password would cross the network in "
                        "the clear; use starttls or ssl")
    return problems


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return load_settings()



def serve_port(port: int) -> Settings:
    """The settings of a process that serves ``port`` (``nbm web --port``), and of those it forks: PORT
    is that port, so an unset BASE_URL (and every link made from it) points where the app is served,
    as ``nbm dev`` points its children's; a BASE_URL that is set stays as it is."""
    os.environ["PORT"] = str(port)
    get_settings.cache_clear()
    return get_settings()
