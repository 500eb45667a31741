"""Production refuses at start what would hurt it, and the Heroku button deploys with nothing made locally."""

from __future__ import annotations

import json
import secrets
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from bot.cli import main
from bot.cli.slack import slack_group
from core import config, encryption_keys
from core.config import load_settings
from core.crypto import generate_key
from core.errors import ConfigError
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
#: The public development key's 32 bytes, under a name that does not say "dev".
PUBLIC_KEY_RENAMED = "prod:" + encryption_keys.DEV_ENCRYPTION_KEYS.partition(":")[2]
PROD = {
    "NBM_ENV": "production",
    "BASE_URL": "https://nbm.example.com",
    "SECRET_KEY": secrets.token_hex(32),
    "ENCRYPTION_SECRET": secrets.token_hex(32),
    "DATABASE_URL": "postgres://nbm:db-pass-1@db.example.com:5432/nbm",
    "REDIS_URL": "rediss://:redis-pass-2@redis.example.com:6380",
    "EMAIL_BACKEND": "smtp",
    "EMAIL_FROM": "NextBestMove <plan@example.com>",
    "SMTP_HOST": "smtp.example.com",
}


def test_production_starts_with_its_own_secrets_and_servers() -> None:
    assert load_settings(PROD).is_production


@pytest.mark.parametrize(("change", "message"), [
    ({"ENCRYPTION_KEYS": PUBLIC_KEY_RENAMED}, "ENCRYPTION_KEYS holds the public development key (as 'prod')"),
    ({"ENCRYPTION_KEYS": f"k2:{generate_key()},{PUBLIC_KEY_RENAMED}"}, "ENCRYPTION_KEYS holds the public development"),
    ({"ENCRYPTION_SECRET": "", "ENCRYPTION_KEYS": ""}, "ENCRYPTION_KEYS holds the public development key (as 'dev')"),
    ({"ENCRYPTION_KEYS": "k1:not-base64!"}, "ENCRYPTION_KEYS: key 'k1' is not valid base64"),
    ({"ENCRYPTION_KEYS": "k1:c2hvcnQ="}, "ENCRYPTION_KEYS: key 'k1' is 5 bytes; AES-256 needs 32"),
    ({"ENCRYPTION_SECRET": "too-short"}, "ENCRYPTION_SECRET is 9 bytes; it needs at least 32"),
    ({"SECRET_KEY": "s3cret"}, "SECRET_KEY is 6 bytes; production needs at least 32"),
    ({"SECRET_KEY": ""}, "SECRET_KEY is the development key"),
    ({"BASE_URL": ""}, "BASE_URL is not set"),
    ({"BASE_URL": "http://nbm.example.com"}, "BASE_URL must start with https:// in production"),
    ({"REDIS_URL": ""}, "REDIS_URL is not set"),
    ({"DATABASE_URL": ""}, "DATABASE_URL is not set"),
    ({"EMAIL_BACKEND": ""}, "EMAIL_BACKEND is outbox"),
    ({"EMAIL_FROM": ""}, "EMAIL_FROM is not set (the development sender on .localhost would stand in): set it to an "
                         "address on your own domain, such as 'NextBestMove <plan@yourdomain.com>'"),
    ({"EMAIL_FROM": "NextBestMove <plan@nextbestmove.localhost>"},
     "EMAIL_FROM is on .localhost, a domain reserved for one's own machine: set it to an address on your own domain, "
     "such as 'NextBestMove <plan@yourdomain.com>'; got 'NextBestMove <plan@nextbestmove.localhost>'"),
    ({"SLACK_API_URL": "http://slack.example.com/api/"},
     "SLACK_API_URL must start with https:// in production (it carries every workspace's bot token); "
     "got 'http://slack.example.com/api/'"),
    ({"STRIPE_API_BASE": "http://stripe.example.com", "STRIPE_SECRET_KEY": "sk_live_x", "STRIPE_PRICE_ID": "price_1",
      "STRIPE_WEBHOOK_SECRET": "whsec_x"},
     "STRIPE_API_BASE must start with https:// in production (it carries STRIPE_SECRET_KEY)"),
    ({"INSIGHTS_LLM_URL": "http://llm.example.com/v1/chat/completions", "INSIGHTS_LLM_API_KEY": "key"},
     "INSIGHTS_LLM_URL must start with https:// in production (it carries INSIGHTS_LLM_API_KEY)"),
    ({"SMTP_SECURITY": "none", "SMTP_USERNAME": "nbm", "SMTP_PASSWORD": "smtp-pass"},
     "SMTP_SECURITY is none while SMTP_PASSWORD is set"),
], ids=["public-key-renamed", "public-key-second", "no-key-at-all", "key-not-base64", "key-too-short",
        "secret-too-short", "secret-key-short", "secret-key-dev", "no-base-url", "http-base-url", "no-redis",
        "no-database", "outbox", "no-email-from", "email-from-localhost",
        "http-slack", "http-stripe", "http-insights-with-key", "smtp-password-in-clear"])
def test_production_refuses_at_start_naming_the_variable(change: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({**PROD, **change})
    assert message in str(refused.value)


@pytest.mark.parametrize("change", [
    {"INSIGHTS_LLM_URL": "http://127.0.0.1:11434/v1/chat/completions"},  # a model of one's own, no key
    {"SMTP_SECURITY": "none", "SMTP_HOST": "localhost", "SMTP_PORT": "25"},  # a relay that takes no password
], ids=["local-model-without-key", "relay-without-password"])
def test_production_accepts_plain_connections_that_carry_no_secret(change: dict[str, str]) -> None:
    assert load_settings({**PROD, **change}).is_production


def test_every_problem_is_named_in_one_refusal() -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({**PROD, "SECRET_KEY": "short", "BASE_URL": "", "REDIS_URL": ""})
    assert all(name in str(refused.value) for name in ("SECRET_KEY is 5 bytes", "BASE_URL is not", "REDIS_URL is not"))


def test_a_real_key_whose_id_ends_in_dev_is_accepted() -> None:
    settings = load_settings({**PROD, "ENCRYPTION_KEYS": f"prodev:{generate_key()}"})
    assert settings.encryption_keys[0].key_id == "prodev"


def test_the_settings_repr_shows_no_password_or_secret() -> None:
    values = {**PROD, "SMTP_PASSWORD": "smtp-pass-3", "SLACK_CLIENT_SECRET": "client-secret-4",
              "SLACK_SIGNING_SECRET": "signing-secret-5", "SLACK_BOT_TOKEN": "xoxb-bot-token-6",
              "SLACK_APP_TOKEN": "xapp-app-token-7", "INSIGHTS_LLM_API_KEY": "llm-key-8",
              "ENCRYPTION_KEYS": f"k2:{generate_key()}"}
    settings = load_settings(values)
    shown = repr(settings) + str(settings) + repr(settings.encryption_keys)
    hidden = ["db-pass-1", "redis-pass-2", "smtp-pass-3", "client-secret-4", "signing-secret-5", "xoxb-bot-token-6",
              "xapp-app-token-7", "llm-key-8", PROD["SECRET_KEY"], PROD["ENCRYPTION_SECRET"],
              values["ENCRYPTION_KEYS"].partition(":")[2]]
    assert [value for value in hidden if value in shown] == []
    assert "postgresql+psycopg://nbm:********@db.example.com:5432/nbm" in shown  # still says where it goes
    assert "rediss://:********@redis.example.com:6380" in shown


def _as_the_heroku_button_would(typed: dict[str, str]) -> dict[str, str]:
    """app.json's variables as the Heroku button sets them: values, generated secrets, what a person types,
    and the add-ons' URLs. A variable required but neither generated nor typed is a local step."""
    env = {"DATABASE_URL": "postgres://u:p@ec2.example.com:5432/d", "REDIS_URL": "rediss://:p@ec2.example.com:7070"}
    for name, spec in json.loads((ROOT / "app.json").read_text())["env"].items():
        if "value" in spec:
            env[name] = spec["value"]
        elif spec.get("generator") == "secret":
            env[name] = secrets.token_hex(32)  # a random hex string, which is all the generator makes
        elif name in typed:
            env[name] = typed[name]
        else:
            assert spec.get("required") is False, f"app.json asks for {name}, which the form cannot make"
    return env


def test_the_heroku_button_deploys_with_nothing_made_on_a_laptop() -> None:
    env = _as_the_heroku_button_would({"BASE_URL": "https://nbm-1a2b3c.herokuapp.com", "SMTP_HOST": "smtp.example.com",
                                       "EMAIL_FROM": "NextBestMove <plan@example.com>"})
    settings = load_settings(env)
    assert settings.is_production and not settings.redis_tls_verify  # Heroku Redis's certificate is self-signed
    assert settings.encryption_keys[0].key_id.startswith("s")  # the key derived from the generated secret


def test_the_buildpack_is_told_the_python_version_ci_checks() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert (ROOT / ".python-version").read_text().strip() == pyproject["tool"]["mypy"]["python_version"]


@pytest.fixture()
def base_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    def use(url: str) -> None:
        monkeypatch.setenv("BASE_URL", url)
        config.get_settings.cache_clear()

    yield use
    monkeypatch.undo()
    config.get_settings.cache_clear()


def test_slack_manifest_warns_on_stderr_when_base_url_is_not_https(base_url: Callable[[str], None]) -> None:
    base_url("http://nbm.example.com")
    result = CliRunner().invoke(slack_group, ["manifest"])
    assert result.exit_code == 0
    assert "BASE_URL is http://nbm.example.com, not https://" in result.stderr
    assert "http://nbm.example.com/slack/events" in result.stdout and "warning" not in result.stdout


def test_slack_manifest_is_quiet_with_an_https_base_url(base_url: Callable[[str], None]) -> None:
    base_url("https://nbm.example.com")
    result = CliRunner().invoke(slack_group, ["manifest"])
    assert result.exit_code == 0 and result.stderr == ""


@pytest.fixture()
def production(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process runs with production's settings (its database is the one the test gives it), Redis
    on a port nothing listens on."""
    for name, value in {**PROD, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}.items():
        monkeypatch.setenv(name, value)
    config.get_settings.cache_clear()
    yield
    monkeypatch.undo()
    config.get_settings.cache_clear()


SUPERUSER_REFUSED = ("Error: refusing to start in production: DATABASE_URL connects as a role that escapes row-level "
                     "security (the role 'postgres' is a superuser), so every user's data is open to every query: "
                     "connect as a role that is neither a superuser nor has BYPASSRLS")


@pytest.mark.parametrize("command", [["worker", "--burst"], ["cron"], ["web", "--port", str(free_port())]],
                         ids=["worker", "cron", "web"])
def test_production_refuses_to_start_a_process_whose_database_role_escapes_row_level_security(
    as_superuser: None, production: None, command: list[str]
) -> None:
    result = CliRunner().invoke(main, command)
    assert (result.exit_code, result.stderr.splitlines()[-1]) == (2, SUPERUSER_REFUSED)


def test_db_check_fails_in_production_when_the_role_escapes_row_level_security(
    as_superuser: None, production: None
) -> None:
    result = CliRunner().invoke(main, ["db", "check"])
    assert result.exit_code == 1
    assert ("DATABASE_URL connects as a role that escapes row-level security (the role 'postgres' is a superuser), "
            "so every user's data is open to every query: connect as a role that is neither a superuser nor has "
            "BYPASSRLS\n") in result.stdout


def test_db_check_passes_in_production_with_a_role_row_level_security_holds(engine: Engine, production: None) -> None:
    result = CliRunner().invoke(main, ["db", "check"])
    assert result.exit_code == 0, result.output
