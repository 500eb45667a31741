"""Heroku Redis: a ``rediss://`` server with a self-signed certificate, as Heroku's add-ons hand out.

A real redis-server is started here speaking TLS only (its plain port is off), on a free port, with a
certificate of its own (tests.servers.RedisServer); jobs go through it as an operator runs them
(``nbm worker``). A worker started while it is down waits for it as on ``redis://``
(tests/jobs/test_worker_outages.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from click.testing import CliRunner
from rq import SimpleWorker
from rq.job import JobStatus
from sqlalchemy import Engine

from bot.cli import jobs as jobs_cli
from bot.cli import main
from core import config, queue
from tests.servers import RedisServer


def add_numbers(a: int, b: int) -> int:
    """The job: RQ imports it by its dotted name, as it does the product's jobs."""
    return a + b


@pytest.fixture(scope="module")
def tls_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``rediss://`` URL of a redis-server that speaks only TLS, with a self-signed certificate."""
    server = RedisServer(tmp_path_factory.mktemp("tls-redis"), tls=True)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture()
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set variables as an operator would; each process reads its settings and connects afresh."""

    def use(**values: str) -> None:
        monkeypatch.delenv("REDIS_TLS_VERIFY", raising=False)
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        config.get_settings.cache_clear()
        queue.get_redis.cache_clear()

    yield use
    monkeypatch.undo()
    config.get_settings.cache_clear()
    queue.get_redis.cache_clear()


def test_with_herokus_setting_a_job_is_enqueued_and_run_over_tls(
    tls_redis_url: str, environment: Callable[..., None], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment(REDIS_URL=tls_redis_url, REDIS_TLS_VERIFY="false")
    job = queue.get_queue().enqueue(add_numbers, 2, 3)
    monkeypatch.setattr(jobs_cli, "Worker", SimpleWorker)  # RQ's own worker, with its scheduler, in this process
    result = CliRunner().invoke(main, ["worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert f"Redis at {tls_redis_url} (REDIS_URL)" in result.output
    job.refresh()
    assert (job.get_status(), job.return_value()) == (JobStatus.FINISHED, 5)


@pytest.mark.parametrize("verify", [{}, {"REDIS_TLS_VERIFY": "true"}], ids=["default", "true"])
def test_with_verification_on_the_self_signed_certificate_is_refused_naming_the_setting(
    tls_redis_url: str, environment: Callable[..., None], engine: Engine, verify: dict[str, str]
) -> None:
    environment(REDIS_URL=tls_redis_url, **verify)
    result = CliRunner().invoke(main, ["worker", "--burst"])
    assert result.exit_code == 2, result.output
    assert "cannot be verified (self-signed certificate)" in result.output
    assert "set REDIS_TLS_VERIFY=false" in result.output
