"""Configuration: documented defaults, Heroku's URL form, bad values refused (production: test_production_settings)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.config import DEV_SECRET_KEY, load_settings
from core.encryption_keys import DEV_KEYS
from core.errors import ConfigError


def test_defaults_work_for_local_development() -> None:
    settings = load_settings({})
    assert (settings.env, settings.database_url, settings.base_url) == ("development", None, "http://localhost:8000")
    assert settings.secret_key == DEV_SECRET_KEY and settings.encryption_keys == DEV_KEYS
    assert settings.redis_tls_verify


def test_an_unset_base_url_is_this_machine_at_port() -> None:
    assert (load_settings({}).port, load_settings({"PORT": "9000"}).base_url) == (8000, "http://localhost:9000")
    assert load_settings({"PORT": "9000", "BASE_URL": "https://nbm.example.com"}).base_url == "https://nbm.example.com"


@pytest.mark.parametrize("url", ["postgres://u:p@h:5432/d", "postgresql://u:p@h:5432/d", "postgresql+psycopg://u:p@h:5432/d"])
def test_database_url_accepts_herokus_and_plain_forms(url: str) -> None:
    assert load_settings({"DATABASE_URL": url}).database_url == "postgresql+psycopg://u:p@h:5432/d"


def test_an_unknown_database_scheme_is_refused() -> None:
    with pytest.raises(ConfigError, match="must start with postgres://"):
        load_settings({"DATABASE_URL": "mysql://u@h/d"})


@pytest.mark.parametrize(("env", "message"), [
    ({"NBM_ENV": "staging"}, "NBM_ENV must be one of"),
    ({"BASE_URL": "example.com"}, "BASE_URL must start with http"),
    ({"WEB_THREADS": "many"}, "WEB_THREADS must be a whole number"),
    ({"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY must be a whole number of 1 or more; got '0'"),
    ({"REDIS_TLS_VERIFY": "maybe"}, "REDIS_TLS_VERIFY must be true or false; got 'maybe'"),
    *(({"INSIGHTS_LLM_TIMEOUT": raw}, f"INSIGHTS_LLM_TIMEOUT must be a number of seconds greater than 0, "
                                      f"such as 10 or 2.5; got '{raw}'") for raw in ("0", "-1", "soon", "nan", "inf")),
])
def test_bad_settings_are_refused_with_what_is_accepted(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env)


def test_every_environment_variable_read_is_documented_in_the_readme_and_app_json() -> None:
    root = Path(__file__).resolve().parent.parent
    source = "\n".join(p.read_text() for p in (root / "core").rglob("*.py"))
    read = set(re.findall(r'env(?:\.get)?\(\s*"([A-Z_]+)"', source))
    read |= set(re.findall(r'_[a-z]+\(env, "([A-Z_]+)"', source))
    readme = (root / "README.md").read_text()
    app_json = (root / "app.json").read_text()
    assert read, "no environment variable found: the pattern is stale"
    assert sorted(v for v in read if f"`{v}`" not in readme) == []
    # Heroku sets PORT on each dyno itself; an app may not configure it.
    assert sorted(v for v in read if f'"{v}"' not in app_json and v not in {"NBM_DATA_DIR", "PORT"}) == []
